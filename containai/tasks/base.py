"""The command-line surface: one thin invoke task per command; parameters are the flags.

A task checks the command-line rules, turns its flags into the options of its workflow and runs
it. Heavy modules are imported inside the task bodies so that ``cai --help`` and ``cai
--version`` start fast. A flag means the same in every command: its help text is written once.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from invoke.collection import Collection
from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

# The options class (in workflow.run) each packaged workflow is run with.
WORKFLOW_OPTIONS = {
    "import": "ImportOptions",
    "restore": "ImportOptions",
    "export": "ExportOptions",
    "verify": "ExportOptions",
    "run": "RunOptions",
    "shell": "ShellOptions",
    "stop": "Options",
    "sync": "Options",
    "sync-container": "Options",
}
# Keyword arguments of _run that go to run_workflow; the others fill the options class.
_RUN_ARGUMENTS = frozenset({"workspace", "config", "verbose", "json_output"})

_SHORT = {"workspace": "w", "verbose": "v", "output": "o"}
_HELP = {
    "workspace": "Workspace directory (default: the current directory).",
    "data_volume": "Use this data volume instead of the workspace's.",
    "container": "Use this containai container (and its volume) instead of the workspace's.",
    "config": "Read settings from this file too (it must exist).",
    "verbose": "Say more: every path and why it was skipped.",
    "json": "Print the result as JSON on stdout.",
    "dry_run": "Show the plan; change nothing.",
    "no_secrets": "Skip secret files (tokens, keys); volume copies stay as they are.",
    "no_excludes": "Ignore exclude patterns (the *.priv.* rule stays on).",
    "reset": "Use a new, empty data volume for the workspace (the old one is kept).",
}


class CaiTask(Task[Any]):
    """A task with declared short flags (no guessing) and one optional positional argument.

    invoke guesses short flags from parameter names (``hostname`` would take ``-h``) and has no
    optional positionals; ``cai.cli`` rewrites ``cai import DIR`` to ``--workspace DIR``.
    """

    def __init__(
        self,
        body: Any,
        *args: Any,
        short: dict[str, str] | None = None,
        optional_positional: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(body, *args, **kwargs)
        self.short = short or {}
        self.optional_positional = optional_positional
        self._all_help = dict(self.help)

    def get_arguments(self, *args: Any, **kwargs: Any) -> Any:
        # invoke pops each help text as it builds an argument; restore them so the arguments
        # can be built more than once (cai.cli inspects them before invoke parses).
        self.help = dict(self._all_help)
        return super().get_arguments(*args, **kwargs)

    def arg_opts(self, name: str, default: Any, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        if name in self.short:
            opts["names"].append(self.short[name])
        return opts


def command(
    name: str | None = None, positional: str | None = "workspace", **help: str
) -> Callable[[Callable[..., None]], CaiTask]:
    """A cai task: help from ``_HELP`` unless given here, short flags from ``_SHORT``, and
    ``positional`` (when the task has it) as its optional positional argument."""

    def wrap(body: Callable[..., None]) -> CaiTask:
        flags = [p for p in inspect.signature(body).parameters if p != "c"]
        made: CaiTask = task(
            klass=CaiTask,
            name=name,
            short={flag: _SHORT[flag] for flag in flags if flag in _SHORT},
            optional_positional=positional if positional in flags else None,
            help={flag: help.get(flag) or _HELP[flag] for flag in flags},
        )(body)
        return made

    return wrap


def _exclusive(**flags: object) -> None:
    """Command-line rules are checked here, once, before any workflow runs."""
    given = [name for name, value in flags.items() if value]
    if len(given) > 1:
        first, second = (f"--{name.replace('_', '-')}" for name in given[:2])
        raise Exit(f"cai: {first} and {second} cannot be used together", code=2)


def _exit_codes(c: Context) -> contextlib.AbstractContextManager[None]:
    from containai.errors import exit_codes

    return exit_codes(debug=bool(c.config.get("cai_debug")))


def _run(c: Context, name: str, **kwargs: Any) -> None:
    """Run workflow ``name``; the keyword arguments that are options fill its options class."""
    from containai.workflow import run
    from containai.workflow.runner import run_workflow

    values = {key: kwargs.pop(key) for key in list(kwargs) if key not in _RUN_ARGUMENTS}
    options = getattr(run, WORKFLOW_OPTIONS[name])(**values)
    with _exit_codes(c):
        code = run_workflow(name, options=options, **kwargs)
    if code:
        raise Exit(code=code)


@command(
    name="import",
    workspace="Workspace directory; naming one also hot-reloads its running container.",
    container="Hot-reload into this running containai container.",
    from_="Import from this directory or .tgz archive instead of $HOME.",
    replace="With an archive: also remove volume files the archive does not hold.",
)
def import_(
    c: Context,
    workspace: str | None = None,
    data_volume: str | None = None,
    container: str | None = None,
    from_: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    no_secrets: bool = False,
    no_excludes: bool = False,
    replace: bool = False,
    reset: bool = False,
    verbose: bool = False,
    json: bool = False,
) -> None:
    """Copy host configs into the data volume (and hot-reload a running container)."""
    _exclusive(container=container, data_volume=data_volume)
    _exclusive(reset=reset, data_volume=data_volume)
    if reset and (workspace or container):
        message = "--reset cannot change the volume of a running container: use 'cai run --reset'"
        raise Exit(f"cai: {message}", code=2)
    source = Path(from_).expanduser().resolve() if from_ else None
    workflow = "import"
    if source is not None:
        from containai.archive.source import is_archive

        with _exit_codes(c):
            workflow = "restore" if is_archive(source) else "import"
    _run(
        c,
        workflow,
        dry_run=dry_run,
        secrets=not no_secrets,
        excludes=not no_excludes,
        source=source,
        data_volume=data_volume,
        container=container,
        hot_reload=bool(workspace or container),
        replace=replace,
        reset=reset,
        workspace=workspace,
        config=config,
        verbose=verbose,
        json_output=json,
    )


@command(
    positional=None,
    output="Archive file or directory (default: ./containai-export-<time>.tgz).",
    container="Export the volume mounted in this containai container.",
    no_excludes="Ignore exclude patterns.",
    no_secrets="Leave secret files out of the archive (recorded in its manifest).",
    verify="Check an existing archive against its manifest instead of exporting.",
)
def export(
    c: Context,
    output: str | None = None,
    container: str | None = None,
    data_volume: str | None = None,
    workspace: str | None = None,
    config: str | None = None,
    no_excludes: bool = False,
    no_secrets: bool = False,
    verify: str | None = None,
    verbose: bool = False,
    json: bool = False,
) -> None:
    """Write the data volume to a .tgz archive (prints its path on stdout)."""
    _exclusive(container=container, data_volume=data_volume)
    _run(
        c,
        "verify" if verify else "export",
        secrets=not no_secrets,
        excludes=not no_excludes,
        data_volume=data_volume,
        container=container,
        output=output,
        verify=Path(verify).expanduser().resolve() if verify else None,
        workspace=workspace,
        config=config,
        verbose=verbose,
        json_output=json,
    )


@command(
    workspace="Workspace whose settings to show (default: the current directory).",
    json="Print the settings and their origins as JSON.",
)
def config(
    c: Context, workspace: str | None = None, config: str | None = None, json: bool = False
) -> None:
    """Show the effective settings and which layer each came from."""
    from containai.settings.show import show

    with _exit_codes(c):
        show(workspace=workspace, config=config, json_output=json)


@command(
    verbose="Say more.",
    image="Agent image (default: run.image in settings).",
    fresh="Remove and recreate the container (the data volume is kept).",
    detach="Return as soon as the container starts, without waiting for its sync.",
    no_ssh_agent="Do not relay this machine's SSH agent into the container.",
)
def run(
    c: Context,
    workspace: str | None = None,
    image: str | None = None,
    data_volume: str | None = None,
    config: str | None = None,
    fresh: bool = False,
    detach: bool = False,
    reset: bool = False,
    no_ssh_agent: bool = False,
    verbose: bool = False,
) -> None:
    """Create or start the workspace's agent container (prints its name)."""
    _exclusive(reset=reset, data_volume=data_volume)
    _run(
        c,
        "run",
        data_volume=data_volume,
        image=image,
        fresh=fresh,
        detach=detach,
        reset=reset,
        no_ssh_agent=no_ssh_agent,
        workspace=workspace,
        config=config,
        verbose=verbose,
    )


@command(workspace="Workspace whose container to stop (default: the current directory).")
def stop(
    c: Context,
    workspace: str | None = None,
    container: str | None = None,
    config: str | None = None,
) -> None:
    """Stop the workspace's agent container (its data volume is kept)."""
    _run(c, "stop", container=container, workspace=workspace, config=config)


@command(
    container="Run the sync in this running container from the host.",
    dry_run="Report what would move or be linked; change nothing.",
    verbose="Also list entries that were only linked.",
)
def sync(
    c: Context,
    container: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    verbose: bool = False,
    json: bool = False,
) -> None:
    """Move configs created in the container into the data volume, leaving symlinks."""
    _run(
        c,
        "sync-container" if container else "sync",
        container=container,
        dry_run=dry_run,
        workspace=None,
        config=config,
        verbose=verbose,
        json_output=json,
    )


@command(workspace="Workspace whose container to enter (default: the current directory).")
def shell(
    c: Context,
    workspace: str | None = None,
    container: str | None = None,
    config: str | None = None,
) -> None:
    """Open a shell in the workspace's container; `cai shell -- CMD ...` runs CMD instead."""
    command = tuple(c.config.get("cai_command") or ())
    _run(c, "shell", container=container, command=command, workspace=workspace, config=config)


@command(
    workspace="Workspace whose project files to trust (default: the current directory).",
    revoke="Stop trusting them.",
    show="List them and whether they are trusted; change nothing.",
    json="Print the project's files and their trust as JSON.",
)
def trust(
    c: Context,
    workspace: str | None = None,
    revoke: bool = False,
    show: bool = False,
    json: bool = False,
) -> None:
    """Trust the workspace's containai.toml and .containai/ files as they are now."""
    from containai import trusting

    with _exit_codes(c):
        trusting.trust(workspace=workspace, revoke=revoke, show=show, json_output=json)


ns = Collection(import_, export, sync, config, run, stop, shell, trust)
