"""The `cai` console script. `cai --version` is answered before the command line machinery
(invoke, and through the tasks the rest of containai) is imported: scripts ask it often."""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] in (["--version"], ["-V"]):
        from containai import __version__

        print(f"containai {__version__}")  # what invoke's Program prints
        return
    from containai.cli import program

    program.run()
