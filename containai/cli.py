"""The `cai` program: invoke's Program bound to containai's tasks, with errors mapped once."""

from __future__ import annotations

import contextlib
import inspect
import io
import re
import sys
from typing import Any

from invoke.exceptions import Exit, ParseError
from invoke.program import Program

from containai import __version__, command_line, completion
from containai.errors import UsageError, exit_codes
from containai.tasks import CaiTask, ns
from containai.ui import error_document, json_documents

# invoke's core flags that mean something to cai (the others run shell commands: --pty, ...).
_ADVERTISED = ("--debug", "--help", "--version", "--print-completion-script", "--list")
# The core arguments cai accepts: those, and --complete (what the completion script runs).
_CORE_NAMES = {flag.removeprefix("--") for flag in _ADVERTISED} | {"complete"}


class Cai(Program):
    """Adds what invoke's Program lacks: one command per call, optional positionals, usage
    errors that exit 2 and suggest a spelling, every error one line on stderr (and a JSON
    object on stdout under --json), `cai shell -- CMD` keeping CMD's words, curated help, and
    completion of the command's flags."""

    def run(self, argv: Any = None, exit: bool = True) -> None:
        for stream in (sys.stdout, sys.stderr):
            # Names are escaped before they are printed; this is the backstop: no output ever
            # fails on an encoding (PYTHONIOENCODING=utf-8:strict, a C locale).
            if isinstance(stream, io.TextIOWrapper):
                stream.reconfigure(errors="backslashreplace")
        self.json_errors = False
        self.documents_before = json_documents()
        try:
            # Outside a task too (help written to a closed pipe, an interrupt while parsing),
            # an error is one line and an exit code (errors.exit_codes).
            with exit_codes():
                self._parse_and_execute(argv)
        except Exit as stop:
            self._report(stop)
            if exit:
                sys.exit(stop.code)

    def _parse_and_execute(self, argv: Any) -> None:
        # Program.run's steps, whose own error handling (exit 1 for a parse error, no JSON)
        # is replaced by run's above.
        try:
            self.create_config()
            self.parse_core(argv)
            self._refuse_core_flags()
            self.parse_collection()
            self.parse_tasks()
            self.parse_cleanup()
        except ParseError as error:
            commands = self.namespace.task_names if self.namespace else ()
            message = command_line.usage_message(
                error, core_flags=_core_flags(self), commands=commands
            )
            raise UsageError(message) from None
        self.update_config()
        self.execute()

    def _refuse_core_flags(self) -> None:
        """invoke's own core flags that are not cai's (-f FILE would even run a Python file,
        --list-format=bogus crashes) are usage errors, as any unknown option is."""
        for argument in self.core[0].args.values():
            if not argument.got_value or argument.name in _CORE_NAMES:
                continue
            spelled = "/".join(f"-{n}" if len(n) == 1 else f"--{n}" for n in argument.names)
            raise UsageError(f"'{spelled}' is not an option of cai (before a command)")
        listed = self.args.list.value
        if listed not in (None, True, ""):  # invoke lists a sub-collection; cai has none
            raise UsageError(f"--list takes no value (got '{listed}')")

    def _report(self, stop: Exit) -> None:
        if stop.message:
            print(stop.message, file=sys.stderr)
        said = json_documents() > self.documents_before
        if self.json_errors and stop.message and stop.code and not said:
            # Under --json, a script reads stdout: the error is there too, as a document (unless
            # the command printed its own, as a failed verification does: one document).
            message = str(stop.message).removeprefix("cai: ")
            with contextlib.suppress(OSError):
                print(error_document(message, stop.code), flush=True)

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

    def print_task_help(self, name: str) -> None:
        # invoke's says "[other tasks here ...]": cai runs one command, with its arguments.
        task: CaiTask = self.collection[name]
        usage = f"Usage: {self.binary} {name} [--options]"
        if task.optional_positional:
            usage += f" [{task.optional_positional.upper()}]"
        if task.after_dashes:
            usage += f" [-- {task.after_dashes} ...]"
        print(usage)
        print()
        for line in (inspect.getdoc(task) or "").splitlines():
            print(f"{self.leading_indent}{line}" if line.strip() else "")
        print()
        print("Options:")
        self.print_columns(self.parser.contexts[name].help_tuples())

    def normalize_argv(self, argv: Any) -> None:
        super().normalize_argv(argv)
        args = list(self.argv[1:])
        # Everything after `--` is a command for `cai shell` or paths for `cai diff`, kept as a
        # list (invoke would join it into one string, losing the quoting); for `--complete`,
        # the command line being completed.
        after: list[str] = []
        if "--" in args:
            cut = args.index("--")
            args, after = args[:cut], args[cut + 1 :]
        self.json_errors = "--json" in args
        self.completing: list[str] | None = after if "--complete" in args else None
        self.command_after_dashes: list[str] = [] if self.completing is not None else after
        if self.completing is None:
            tasks = {name: ns[name] for name in ns.task_names}
            args = command_line.arrange(args, tasks, dashed_words=bool(after))
        self.argv = [self.argv[0], *args]

    def parse_cleanup(self) -> None:
        if self.args.complete.value:
            words = self.completing or []
            for candidate in completion.candidates(
                words,
                commands=self._make_parser().contexts,
                core=self.initial_context,
                core_flags=_core_flags(self),
                program_names=self.binary_names,
            ):
                print(candidate)
            raise Exit
        super().parse_cleanup()

    def execute(self) -> None:
        # The tasks map errors to exit codes themselves (errors.exit_codes), so that a
        # checkout's `invoke import` behaves the same; they read these two from the config.
        debug = bool(self.args.debug.value)
        self.config.load_overrides({"cai_command": self.command_after_dashes, "cai_debug": debug})
        super().execute()


def _advertised(flags: str) -> bool:
    # A help row such as "-l [STRING], --list[=STRING]": its flags' own names.
    names = {re.split(r"[=\[ ]", flag.strip(), maxsplit=1)[0] for flag in flags.split(",")}
    return bool(names & set(_ADVERTISED))


def _core_flags(program: Program) -> list[str]:
    return [flag for flag in program.initial_context.flags if flag in _ADVERTISED]


def make_program() -> Cai:
    return Cai(
        name="containai", binary="cai", binary_names=["cai"], namespace=ns, version=__version__
    )


program = make_program()
