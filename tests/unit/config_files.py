"""The command-line tests of broken settings, workflow and manifest files and invalid volume
names (issue 7): each is one line naming the file and the problem. Settings and workflow files
stop the command with exit 2 before anything is touched; a broken manifest is a warning and is
skipped, and the run goes on (issue 2). No engine is used: the ``no_engine`` fixture points
``DOCKER_HOST`` at nothing, so a command that got as far as the engine fails with exit 1 and
says so (``ENGINE_LINE``).
"""

from __future__ import annotations

from pathlib import Path

from tests.support.cai import Result, no_result, one_line
from tests.support.files import trust

NO_ENGINE = "unix:///nonexistent.sock"
ENGINE_LINE = f"cai: cannot reach the Docker engine at {NO_ENGINE}: "
# The import workflow up to the step that reads the manifests, so that a run needs no engine
# and its whole output is what reading them printed (a project may replace a workflow).
SCAN_ONLY = '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "scan_host"\n'


def write_trusted(path: Path, text: str | bytes) -> Path:
    """Write a file; a project file is then trusted (as after `cai trust`): these tests are
    about broken files the user has accepted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if path.is_relative_to(Path.cwd()) and "containai" in path.as_posix():
        trust(Path.cwd())
    return path


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for directories)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found


class Untouched:
    """The fake HOME and the workspace as they are now; ``check()``: still so."""

    def __init__(self, home: Path, work: Path) -> None:
        self.home, self.work = home, work
        self.before = (tree(home), tree(work))

    def check(self) -> None:
        assert (tree(self.home), tree(self.work)) == self.before
        assert not (self.home / ".cache" / "containai").exists()  # not even the volume's lock


def refused(result: Result, *fragments: str, args: tuple[str, ...] = ()) -> str:
    """Exit 2, no result on stdout (``args``: the command line, for --json), and one line on
    stderr holding every fragment: that line."""
    assert result.code == 2, result.err
    line = one_line(result.err)
    for fragment in fragments:
        assert fragment in line, line
    no_result(result, *args)
    return line


def warned(result: Result, *fragments: str) -> str:
    """Exit 0 and one warning on stderr holding every fragment: that warning."""
    assert result.code == 0, result.err
    line = one_line(result.err)
    assert line.startswith("cai: warning: "), line
    for fragment in fragments:
        assert fragment in line, line
    return line
