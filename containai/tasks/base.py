"""What every command task is made of: the task class, its decorator, shared flag help, the
command-line rules and the call that runs a workflow with the flags as its options."""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import Task, task

# The options class (in workflow.run) each packaged workflow is run with.
WORKFLOW_OPTIONS = {
    "import": "ImportOptions",
    "restore": "ImportOptions",
    "status": "ImportOptions",
    "diff": "DiffOptions",
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

_SHORT = {"workspace": "w", "verbose": "v", "output": "o", "quiet": "q", "yes": "y"}
_HELP = {
    "workspace": "Workspace directory (default: the current directory).",
    "data_volume": "Use this data volume instead of the workspace's.",
    "container": "Use this containai container (and its volume) instead of the workspace's.",
    "config": "Read settings from this file too (it must exist).",
    "verbose": "Say more: every path and why it was skipped.",
    "quiet": "Print only errors and warnings (the exit code tells the rest).",
    "json": "Print the result as JSON on stdout.",
    "dry_run": "Show the plan; change nothing.",
    "no_secrets": "Skip secret files (tokens, keys); volume copies stay as they are.",
    "no_excludes": "Ignore exclude patterns (the *.priv.* rule stays on).",
    "reset": "Use a new, empty data volume for the workspace (the old one is kept).",
}


class CaiTask(Task[Any]):
    """A task with declared short flags (no guessing), one optional positional argument and,
    for some, words after ``--``.

    invoke guesses short flags from parameter names (``hostname`` would take ``-h``) and has no
    optional positionals; ``cai.cli`` rewrites ``cai import DIR`` to ``--workspace DIR``.
    """

    def __init__(
        self,
        body: Any,
        *args: Any,
        short: dict[str, str] | None = None,
        optional_positional: str | None = None,
        after_dashes: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs["auto_shortflags"] = False
        super().__init__(body, *args, **kwargs)
        self.short = short or {}
        self.optional_positional = optional_positional
        self.after_dashes = after_dashes  # what `cai shell -- CMD` calls them; None: refused
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
    name: str | None = None,
    positional: str | None = "workspace",
    after_dashes: str | None = None,
    **help: str,
) -> Callable[[Callable[..., None]], CaiTask]:
    """A cai task: help from ``_HELP`` unless given here, short flags from ``_SHORT``,
    ``positional`` (when the task has it) as its optional positional argument, and
    ``after_dashes`` naming the words it takes after ``--`` (read from ``cai_command``)."""

    def wrap(body: Callable[..., None]) -> CaiTask:
        flags = [p for p in inspect.signature(body).parameters if p != "c"]
        made: CaiTask = task(
            klass=CaiTask,
            name=name,
            short={flag: _SHORT[flag] for flag in flags if flag in _SHORT},
            optional_positional=positional if positional in flags else None,
            after_dashes=after_dashes,
            help={flag: help.get(flag) or _HELP[flag] for flag in flags},
        )(body)
        return made

    return wrap


def exclusive(**flags: object) -> None:
    """Command-line rules are checked here, once, before any workflow runs."""
    given = [name for name, value in flags.items() if value]
    if len(given) > 1:
        first, second = (f"--{name.replace('_', '-')}" for name in given[:2])
        raise Exit(f"cai: {first} and {second} cannot be used together", code=2)


def mapped_errors(c: Context) -> contextlib.AbstractContextManager[None]:
    from containai.errors import exit_codes

    return exit_codes(debug=bool(c.config.get("cai_debug")))


def run(c: Context, name: str, *, quiet: bool = False, **kwargs: Any) -> None:
    """Run workflow ``name``; the keyword arguments that are options fill its options class."""
    from containai.ui import quiet_command
    from containai.workflow import run
    from containai.workflow.runner import run_workflow

    values = {key: kwargs.pop(key) for key in list(kwargs) if key not in _RUN_ARGUMENTS}
    options = getattr(run, WORKFLOW_OPTIONS[name])(**values)
    with mapped_errors(c), quiet_command(quiet):
        code = run_workflow(name, options=options, **kwargs)
    if code:
        raise Exit(code=code)
