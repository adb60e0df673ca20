"""The `cai` program: invoke's Program bound to containai's tasks, with errors mapped once."""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from containai import __version__
from containai.errors import exit_codes
from containai.tasks import CaiTask, ns


class Cai(Program):
    """Adds what invoke's Program lacks: usage errors exit 2, every error is one line on stderr
    (errors.exit_codes), `cai shell -- CMD` keeps CMD's words, curated help."""

    def run(self, argv: Any = None, exit: bool = True) -> None:
        for stream in (sys.stdout, sys.stderr):
            # Names are escaped before they are printed; this is the backstop: no output ever
            # fails on an encoding (PYTHONIOENCODING=utf-8:strict, a C locale).
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
        try:
            with exit_codes():
                super().run(argv, exit)
        except Exit as stop:  # only from outside a task: e.g. help written to a closed pipe
            if stop.message:
                print(stop.message, file=sys.stderr)
            if exit:
                sys.exit(stop.code)

    def print_help(self) -> None:
        # invoke's core flags for running shell commands (--pty, --echo, --hide ...) mean nothing
        # to cai; they stay accepted but are not advertised.
        print(f"Usage: {self.binary} [--debug] <command> [--options] ...")
        print()
        print("Options:")
        print()
        shown = [row for row in self.initial_context.help_tuples() if _advertised(row[0])]
        self.print_columns(shown)
        self.list_tasks()
        print("Run 'cai <command> --help' for a command's options.")
        print()

    def normalize_argv(self, argv: Any) -> None:
        super().normalize_argv(argv)
        args = list(self.argv[1:])
        # Everything after `--` is a command for `cai shell`, kept as a list (invoke would
        # join it into one string, losing the quoting).
        self.command_after_dashes: list[str] = []
        if "--" in args:
            cut = args.index("--")
            args, self.command_after_dashes = args[:cut], args[cut + 1 :]
        self.argv = [self.argv[0], *optional_positionals(args)]

    def parse_core(self, argv: Any) -> None:
        with _usage_errors():
            super().parse_core(argv)

    def parse_tasks(self) -> None:
        with _usage_errors():
            super().parse_tasks()

    def execute(self) -> None:
        # The tasks map errors to exit codes themselves (errors.exit_codes), so that a
        # checkout's `invoke import` behaves the same; they read these two from the config.
        debug = bool(self.args.debug.value)
        self.config.load_overrides({"cai_command": self.command_after_dashes, "cai_debug": debug})
        super().execute()


_ADVERTISED = ("--debug", "--help", "--version", "--print-completion-script", "--list")


def _advertised(flags: str) -> bool:
    return any(name in flags for name in _ADVERTISED)


@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    try:
        yield
    except ParseError as error:
        raise Exit(f"cai: {error}", code=2) from None


def optional_positionals(args: list[str]) -> list[str]:
    """Rewrite ``import DIR`` to ``import --workspace=DIR`` (invoke has no optional positionals).

    A bare word after a task is taken as that task's optional positional unless it is the value
    of the flag before it, or the positional was already given (as a word or as its flag); a
    word naming another task starts that task, as invoke allows (so a directory named like a
    command needs ``-w``).
    """
    tasks = {name: ns[name] for name in ns.task_names}
    result: list[str] = []
    current: CaiTask | None = None
    filled = False
    expects_value = False
    for arg in args:
        if expects_value:
            result.append(arg)
            expects_value = False
        elif arg in tasks:
            current, filled = tasks[arg], False
            result.append(arg)
        elif arg.startswith("-"):
            result.append(arg)
            if current is not None:
                expects_value = _takes_value(current, arg)
                filled = filled or _names_positional(current, arg)
        elif current is not None and current.optional_positional and not filled:
            result.append(f"--{current.optional_positional.replace('_', '-')}={arg}")
            filled = True
        else:
            result.append(arg)
    return result


def _names_positional(task: CaiTask, flag: str) -> bool:
    if not task.optional_positional:
        return False
    name = flag.split("=", 1)[0]
    long = f"--{task.optional_positional.replace('_', '-')}"
    short = task.short.get(task.optional_positional)
    return name == long or (short is not None and flag.startswith(f"-{short}"))


def _takes_value(task: CaiTask, flag: str) -> bool:
    if "=" in flag:
        return False
    for argument in task.get_arguments():
        names = [f"--{n}" if len(n) > 1 else f"-{n}" for n in argument.names]
        if flag in names:
            return bool(argument.takes_value)
    return False


def make_program() -> Cai:
    return Cai(
        name="containai", binary="cai", binary_names=["cai"], namespace=ns, version=__version__
    )


program = make_program()
