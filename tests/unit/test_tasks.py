"""containai.tasks: every command's flags, each with its help line."""

from __future__ import annotations

import re
from typing import Any

import pytest

from containai.tasks import ns


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
