"""The state one command carries from step to step."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from containai.archive.reader import ArchiveIndex
from containai.container.sync_script import SyncReport
from containai.engine.client import ContainerInfo, Engine, Helper
from containai.host.scan import HostScan
from containai.settings.layers import Settings
from containai.transfer.plan import Plan
from containai.transfer.stream import Outcome
from containai.transfer.volume_state import VolumeState
from containai.ui import UI


@dataclass(frozen=True)
class Options:
    """The command-line intent, after parsing; settings hold everything configurable."""

    dry_run: bool = False
    secrets: bool = True
    excludes: bool = True
    source: Path | None = None  # --from
    data_volume: str | None = None
    container: str | None = None
    hot_reload: bool = False  # a workspace or container was named explicitly
    output: str | None = None
    replace: bool = False
    image: str | None = None  # cai run
    fresh: bool = False
    detach: bool = False
    reset: bool = False
    command: tuple[str, ...] = ()  # cai shell -- CMD ...


@dataclass
class Run:
    command: str
    settings: Settings
    options: Options
    ui: UI
    home: Path
    user_dir: Path  # ~/.config/containai
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    volume: str = ""
    volume_labels: dict[str, str] = field(default_factory=dict)
    scan: HostScan | None = None
    index: ArchiveIndex | None = None  # restore: the checked archive
    state: VolumeState | None = None
    plan: Plan | None = None
    outcome: Outcome | None = None
    helper: Helper | None = None
    container: ContainerInfo | None = None  # hot reload / sync target
    sync_report: SyncReport | None = None
    stop: bool = False
    exit_code: int = 0
    _engine: Engine | None = None

    @property
    def workspace(self) -> Path:
        return self.settings.workspace

    def files_to_write(self) -> set[str]:
        """Volume paths this run may write, which reading the volume hashes for comparison."""
        if self.scan is not None:
            return {c.path for c in self.scan.candidates if c.kind == "file"}
        if self.index is not None:
            return {e.name for e in self.index.entries if e.kind in ("file", "hardlink")}
        return set()

    @property
    def engine(self) -> Engine:
        """Connected on first use, so that commands needing no engine never wait for one."""
        if self._engine is None:
            self._engine = Engine.connect(timeout=self.settings.get_int("engine.timeout"))
            self.stack.callback(self._engine.close)
        return self._engine
