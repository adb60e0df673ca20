"""What one command carries from step to step: its options, and the phases steps hand over.

A phase (the volume's name, the host scan, the volume state, the plan, ...) is given by one step
and needed by later ones. The workflow loader checks the order before anything runs, from each
step's declared ``needs`` and ``gives``; reading a phase no step gave is a WorkflowError naming
it, never an AttributeError or an ``assert``.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from containai import project as projects
from containai.errors import ConfigError
from containai.project import ProjectLayer
from containai.settings import Settings
from containai.ui import UI

if TYPE_CHECKING:
    from containai.archive.comparison import ArchiveIndex
    from containai.container.sync_script import SyncReport
    from containai.engine import ContainerInfo, Engine, Helper
    from containai.host.candidates import HostScan
    from containai.host.manifest import Manifest
    from containai.transfer.plan import Plan
    from containai.transfer.status import PathStatus
    from containai.transfer.stream import Outcome
    from containai.transfer.volume_state import VolumeState


# -- options: the command line's intent, one class per command family ------------------------


@dataclass(frozen=True)
class Options:
    """What every command may be told: which volume or container, and whether to change it."""

    dry_run: bool = False
    data_volume: str | None = None
    container: str | None = None
    hot_reload: bool = False  # import: a workspace or container was named explicitly
    reset: bool = False  # a new, empty volume for the workspace


@dataclass(frozen=True)
class ImportOptions(Options):
    source: Path | None = None  # --from: a directory, or the archive to restore
    secrets: bool = True
    excludes: bool = True
    replace: bool = False  # restore: remove what the archive does not hold
    force: bool = False  # every path made to match the host, whatever the volume holds


@dataclass(frozen=True)
class DiffOptions(ImportOptions):
    paths: tuple[str, ...] = ()  # cai diff -- PATH ...: only these (and what is below them)


@dataclass(frozen=True)
class ExportOptions(Options):
    output: str | None = None
    force: bool = False  # replace an existing --output file (atomically)
    verify: Path | None = None  # the archive `cai export --verify` checks
    secrets: bool = True
    excludes: bool = True


@dataclass(frozen=True)
class RunOptions(Options):
    image: str | None = None
    fresh: bool = False
    detach: bool = False
    no_ssh_agent: bool = False


@dataclass(frozen=True)
class ShellOptions(Options):
    command: tuple[str, ...] = ()  # cai shell -- CMD ...


Opts = TypeVar("Opts", bound=Options, covariant=True)
T = TypeVar("T")


class WorkflowError(ConfigError):
    """A workflow whose steps need what no earlier step gave."""


class Phase(Generic[T]):
    """A value that one step gives and later steps need."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, run: Run[Any], owner: type | None = None) -> T:
        try:
            value: T = run.phases[self.name]
        except KeyError:
            raise WorkflowError(
                f"workflow {run.command}: a step needs the {self.name.replace('_', ' ')}, "
                "which no earlier step gave"
            ) from None
        return value

    def __set__(self, run: Run[Any], value: T) -> None:
        run.phases[self.name] = value


@dataclass(frozen=True)
class Agent:
    """The user the agent runs as in its container, from the settings."""

    uid: int
    gid: int
    home: str
    workspace_mount: str
    data_mount: str

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"


class Run(Generic[Opts]):
    """The run state of one command; steps read and give its phases."""

    volume: Phase[str] = Phase()  # the data volume's name
    scan: Phase[HostScan] = Phase()  # what the host offers
    archive: Phase[ArchiveIndex] = Phase()  # the checked archive of a restore
    helper: Phase[Helper | None] = Phase()  # the volume's helper; None: it does not exist
    state: Phase[VolumeState] = Phase()  # what the volume holds
    plan: Phase[Plan] = Phase()
    outcome: Phase[Outcome | None] = Phase()  # what a real run did (None after a dry run)
    statuses: Phase[list[PathStatus]] = Phase()  # where host and volume stand (status, diff)

    def __init__(
        self,
        command: str,
        settings: Settings,
        options: Opts,
        ui: UI,
        *,
        home: Path,
        user_dir: Path,  # ~/.config/containai
        project: ProjectLayer | None = None,
        engine: Engine | None = None,  # connected already (it helped find the workspace)
        unreachable: Exception | None = None,  # why connecting failed already, if it did
    ) -> None:
        self.command = command
        self.settings = settings
        self.options = options
        self.ui = ui
        self.home = home
        self.user_dir = user_dir
        self.project = project or projects.untrusted(settings.workspace)  # honoured if trusted
        self.stack = contextlib.ExitStack()  # closed when the command ends, however it ends
        self.phases: dict[str, Any] = {}
        self.exit_code = 0
        self.container: ContainerInfo | None = None  # the hot-reload or sync target, if any
        self.sync_report: SyncReport | None = None  # what the sync did after an import
        self.volume_labels: dict[str, str] = {}
        self._engine: Engine | None = None
        self._unreachable = unreachable
        if engine is not None:
            self._adopt(engine)

    def has(self, phase: str) -> bool:
        return phase in self.phases

    @property
    def workspace(self) -> Path:
        return self.settings.workspace

    @cached_property
    def agent(self) -> Agent:
        get = self.settings
        return Agent(
            get.get_int("agent.uid"),
            get.get_int("agent.gid"),
            get.get_str("agent.home"),
            get.get_str("agent.workspace_mount"),
            get.get_str("agent.data_mount"),
        )

    @cached_property
    def manifest(self) -> Manifest:
        """The packaged, user and project manifests, loaded once (warnings said once)."""
        from containai.host import manifest

        loaded = manifest.load(self.project, user_config_dir=self.user_dir)
        for warning in loaded.warnings:
            self.ui.warn(warning)
        return loaded

    @property
    def engine(self) -> Engine:
        """Connected on first use, so that commands needing no engine never wait for one."""
        if self._engine is None:
            from containai.engine import Engine

            if self._unreachable is not None:
                raise self._unreachable

            return self._adopt(Engine.from_settings(self.settings))
        return self._engine

    def _adopt(self, engine: Engine) -> Engine:
        self._engine = engine
        self.stack.callback(engine.close)

        def after(error: type[BaseException] | None, *_: object) -> None:
            if error is not None:  # interrupted or failed: nothing of ours may stay behind
                engine.remove_run_leftovers()

        self.stack.push(after)
        return engine
