"""containai.tasks: every command's flags, each with its help line."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from containai.tasks import ns
from tests.support.cai import Cai, cai_env, one_line
from tests.support.privileges import as_an_ordinary_reader


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def fifo(work: Path) -> Path:
    path = work / "pipe"
    os.mkfifo(path)
    return path


def flag_line(name: str) -> re.Pattern[str]:
    # "  -w STRING, --workspace=STRING   Workspace directory ..." or "  --dry-run   Show ..."
    return re.compile(rf"^\s+(?:-\w(?: \S+)?, )?--{re.escape(name)}(?:=\S+)?\s{{2,}}\S", re.M)


@pytest.mark.parametrize("task", sorted(ns.task_names), ids=str)
def test_every_flag_of_every_command_has_help_text(task: str) -> None:
    arguments = ns[task].get_arguments()
    assert arguments
    assert [a.name for a in arguments if not (a.help or "").strip()] == []


@pytest.mark.parametrize("task", sorted(ns.task_names), ids=str)
def test_command_help_shows_one_described_line_per_flag(cai: Any, task: str) -> None:
    result = cai(task, "--help")
    assert result.code == 0
    for argument in ns[task].get_arguments():
        long_name = next(n for n in argument.names if len(n) > 1)
        assert flag_line(long_name).search(result.out), f"--{long_name} has no help line"


@pytest.mark.parametrize(
    "flag",
    [
        "--dry-run",
        "--no-secrets",
        "--no-excludes",
        "--from",
        "--data-volume",
        "--container",
        "--workspace",
        "-w",
        "--config",
        "--verbose",
        "-v",
        "--json",
    ],
)
def test_import_help_names_the_flag(cai: Any, flag: str) -> None:
    assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", cai("import", "--help").out, re.M)


@pytest.mark.parametrize("flag", ["--output", "-o", "--data-volume", "--container", "--json"])
def test_export_help_names_the_flag(cai: Any, flag: str) -> None:
    result = cai("export", "--help")
    assert result.code == 0
    assert re.search(rf"(^|[\s,]){re.escape(flag)}\b", result.out, re.M)


def test_from_flag_is_spelled_without_its_python_underscore(cai: Any) -> None:
    out = cai("import", "--help").out
    assert "--from=" in out
    assert "--from-" not in out


# -- command-line rules and bad input, said before any engine is asked ----------------------

without_engine = pytest.mark.usefixtures("no_engine")


@without_engine
@pytest.mark.parametrize(
    ("make", "code", "said"),
    [
        pytest.param(lambda work: work / "nope.tgz", 2, "no such file or directory", id="missing"),
        pytest.param(
            lambda work: write(work / "file", b"x") / "below",
            2,
            "no such file or directory",
            id="below-a-file",
        ),
        pytest.param(fifo, 2, "is neither a directory nor a .tgz archive", id="fifo"),
        pytest.param(
            lambda work: write(work / "README.md", b"# readme\n"),
            1,
            "is not a gzip-compressed tar archive",
            id="text-file",
        ),
        pytest.param(
            lambda work: write(work / "empty.tgz", b""),
            1,
            "is empty, not a gzip-compressed tar archive",
            id="empty-file",
        ),
    ],
)
def test_a_bad_from_is_one_line_naming_the_path_before_any_engine(
    cai: Any, work: Path, make: Callable[[Path], Path], code: int, said: str
) -> None:
    source = make(work)

    result = cai("import", "--from", str(source))

    assert result.code == code
    line = one_line(result.err)
    assert str(source) in line and said in line
    assert result.out == ""


def test_an_unreadable_from_directory_is_a_failure_naming_it(work: Path) -> None:
    locked = work / "locked"
    locked.mkdir(mode=0o000)
    try:
        # Its own process: as root, only a process without CAP_DAC_* is refused the directory.
        env = cai_env(work, DOCKER_HOST="unix:///nonexistent")
        result = Cai(
            work, "import", "--from", str(locked), env=env, preexec_fn=as_an_ordinary_reader()
        ).finish()
    finally:
        locked.chmod(0o755)
    assert result.code == 1
    assert "permission denied" in one_line(result.err)


@without_engine
def test_export_to_an_existing_file_is_refused_and_leaves_it(cai: Any, work: Path) -> None:
    existing = write(work / "existing.tgz", b"precious")

    result = cai("export", "-o", "existing.tgz")

    assert result.code == 2
    assert one_line(result.err) == f"cai: {existing} exists (use --force to replace it)"
    assert existing.read_bytes() == b"precious"


@without_engine
@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["import", "-v", "-q"], id="import"),
        pytest.param(["export", "--verbose", "--quiet"], id="export"),
        pytest.param(["export", "--verify", "x.tgz", "-o", "y.tgz"], id="verify-and-output"),
    ],
)
def test_flags_that_contradict_each_other_are_a_usage_error(cai: Any, args: list[str]) -> None:
    result = cai(*args)
    assert result.code == 2
    assert "cannot be used together" in one_line(result.err)


@pytest.mark.parametrize("task", ["import", "export", "sync", "run", "stop", "diff", "rm"])
def test_commands_that_report_take_quiet(task: str) -> None:
    names = {name for argument in ns[task].get_arguments() for name in argument.names}
    assert {"quiet", "q"} <= names
