"""Everything containai says: messages on stderr, results on stdout, JSON when asked.

Only paths, counts and reasons are ever printed; file contents never are, since they may hold
secrets. Every line passes through ``printable`` (names in it were written by others: a control
character must not reach the terminal), and JSON is ASCII-escaped.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from containai.printable import printable


class UI:
    def __init__(
        self,
        *,
        verbose: bool = False,
        json_output: bool = False,
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.verbose = verbose
        self.json_output = json_output
        self.out = out or sys.stdout
        self.err = err or sys.stderr

    def info(self, message: str) -> None:
        """Detail shown with --verbose only."""
        if self.verbose:
            print(printable(message), file=self.err)

    def note(self, message: str) -> None:
        """Something the user should see, but not a result (stderr)."""
        print(printable(message), file=self.err)

    def warn(self, message: str) -> None:
        print(f"cai: warning: {printable(message)}", file=self.err)

    def line(self, message: str) -> None:
        """A line of the command's result (stdout); suppressed under --json."""
        if not self.json_output:
            print(printable(message), file=self.out)

    def emit_json(self, document: dict[str, Any]) -> None:
        if self.json_output:
            json.dump(document, self.out, indent=2, sort_keys=False)
            self.out.write("\n")

    @property
    def interactive(self) -> bool:
        return self.err.isatty()


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"
