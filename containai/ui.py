"""Everything containai says: messages on stderr, results on stdout, JSON when asked.

Only paths, counts and reasons are ever printed; file contents never are, since they may hold
secrets. Every line passes through ``printable`` (names in it were written by others: a control
character must not reach the terminal), and JSON is ASCII-escaped.

Three volumes: ``--verbose`` adds detail (``info``), the default says what changed, ``--quiet``
leaves only errors and warnings. ``--json`` replaces the result lines by one document.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from containai.printable import printable

# The version of every JSON document containai prints (results and errors alike); raised only
# when a document changes incompatibly.
JSON_VERSION = 1

# --quiet, set once by the command line for the whole command (cli tasks), so that every step
# and the messages of every module (lock waits, notes) obey it without being handed a flag.
_QUIET: contextvars.ContextVar[bool] = contextvars.ContextVar("containai_quiet", default=False)
# How many JSON documents were printed: a command that printed its result (a failed
# verification's report) prints no error document after it, so stdout stays one document.
_DOCUMENTS: contextvars.ContextVar[int] = contextvars.ContextVar("containai_json", default=0)


@contextlib.contextmanager
def quiet_command(quiet: bool) -> Iterator[None]:
    """Run a command quietly (or not): every UI made inside defaults to ``quiet``."""
    token = _QUIET.set(quiet)
    try:
        yield
    finally:
        _QUIET.reset(token)


class UI:
    def __init__(
        self,
        *,
        verbose: bool = False,
        json_output: bool = False,
        quiet: bool | None = None,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.quiet = _QUIET.get() if quiet is None else quiet
        self.verbose = verbose and not self.quiet
        self.json_output = json_output
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def info(self, message: str) -> None:
        """Detail shown with --verbose only."""
        if self.verbose:
            print(printable(message), file=self.err)

    def note(self, message: str) -> None:
        """Something the user should see, but not a result (stderr); not under --quiet."""
        if not self.quiet:
            print(printable(message), file=self.err)

    def warn(self, message: str) -> None:
        """A problem that did not stop the command: said even under --quiet."""
        print(f"cai: warning: {printable(message)}", file=self.err)

    def error(self, message: str) -> None:
        """A failure the command goes on after (a file it could not write): always said."""
        print(f"cai: error: {printable(message)}", file=self.err)

    def line(self, message: str) -> None:
        """A line of the command's result (stdout); suppressed under --json and --quiet."""
        if not self.json_output and not self.quiet:
            print(printable(message), file=self.out)

    def emit_json(self, document: dict[str, Any]) -> None:
        """The command's result as one JSON document, versioned (under --json only)."""
        if self.json_output:
            # Indented for a person at a terminal; compact for a program, which then gets
            # Python's C encoder (ten times faster on the 10,000 items of a large import).
            indent = 2 if self.out.isatty() else None
            text = json.dumps({"version": JSON_VERSION, **document}, indent=indent)
            self.out.write(text + "\n")
            _DOCUMENTS.set(_DOCUMENTS.get() + 1)

    @property
    def interactive(self) -> bool:
        return self.err.isatty()


def json_documents() -> int:
    """How many JSON documents were printed so far (in this thread)."""
    return _DOCUMENTS.get()


def error_document(message: str, exit_code: int) -> str:
    """The JSON a failed command prints on stdout under --json (its message is on stderr)."""
    document = {"version": JSON_VERSION, "error": {"message": message, "exit_code": exit_code}}
    return json.dumps(document, indent=2)


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
