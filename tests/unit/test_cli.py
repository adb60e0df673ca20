"""The `cai` program: help, version, completion, `cai config`, error mapping, positionals."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import containai
from containai.cli import optional_positionals
from containai.tasks import ns
from tests.conftest import trust


@pytest.fixture
def work(isolated_env: Path) -> Path:
    """The current directory of the test (set by the autouse isolated_env fixture)."""
    return Path.cwd()


def flag_line(name: str) -> re.Pattern[str]:
    # "  -w STRING, --workspace=STRING   Workspace directory ..." or "  --dry-run   Show ..."
    return re.compile(rf"^\s+(?:-\w(?: \S+)?, )?--{re.escape(name)}(?:=\S+)?\s{{2,}}\S", re.M)


# --- version, help, completion --------------------------------------------------------------


def test_version_prints_the_package_version(cai: Any) -> None:
    result = cai("--version")
    assert result.code == 0
    assert containai.__version__ in result.out


def test_help_lists_the_commands(cai: Any) -> None:
    result = cai("--help")
    assert result.code == 0
    for command in ("import", "export", "config"):
        assert re.search(rf"^\s+{command}\s+\S", result.out, re.M), command


def test_help_does_not_advertise_invoke_shell_flags(cai: Any) -> None:
    out = cai("--help").out
    assert "--pty" not in out
    assert "--echo" not in out


def test_running_cai_without_a_command_shows_the_help(cai: Any) -> None:
    result = cai()
    assert result.code == 0
    assert "import" in result.out


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


def test_the_bash_completion_script_is_printed(cai: Any) -> None:
    result = cai("--print-completion-script", "bash")
    assert result.code == 0
    assert "complete" in result.out
    assert "cai" in result.out


# --- cai config -----------------------------------------------------------------------------


def test_config_prints_every_setting_with_its_origin(cai: Any) -> None:
    result = cai("config")
    assert result.code == 0
    assert re.search(r"^data_volume\s+= \"\"\s+# default$", result.out, re.M)
    assert re.search(r"^import\.exclude_priv\s+= true\s+# default$", result.out, re.M)


def test_config_names_the_workspace_and_its_data_volume(cai: Any, work: Path) -> None:
    out = cai("config").out
    assert f"# workspace: {work}" in out
    assert re.search(r"^# data volume: containai-work-[0-9a-f]+$", out, re.M)


def test_config_json_is_parseable_with_settings_origins_and_data_volume(
    cai: Any, work: Path
) -> None:
    result = cai("config", "--json")
    assert result.code == 0
    document = json.loads(result.out)
    assert document["workspace"] == str(work)
    assert document["data_volume"].startswith("containai-work-")
    assert document["settings"]["import"]["exclude_priv"] is True
    assert document["origins"]["import.exclude_priv"] == "default"


def test_config_json_names_the_project_file_as_origin(cai: Any, work: Path) -> None:
    (work / "containai.toml").write_text('data_volume = "team-vol"\n')
    untrusted = json.loads(cai("config", "--json").out)
    assert untrusted["project"]["trust"] == "untrusted" and untrusted["data_volume"] != "team-vol"
    assert "(untrusted, ignored)" in cai("config").out
    trust(work)
    document = json.loads(cai("config", "--json").out)
    assert document["data_volume"] == "team-vol"
    assert document["settings"]["data_volume"] == "team-vol"
    assert document["origins"]["data_volume"] == str(work / "containai.toml")


def test_config_json_shows_the_environment_as_origin(
    cai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_IMPORT__EXCLUDE_PRIV", "false")
    document = json.loads(cai("config", "--json").out)
    assert document["settings"]["import"]["exclude_priv"] is False
    origin = document["origins"]["import.exclude_priv"]
    assert origin == "environment CONTAINAI_IMPORT__EXCLUDE_PRIV"


def test_config_reads_an_extra_config_file(cai: Any, tmp_path: Path) -> None:
    extra = tmp_path / "extra.toml"
    extra.write_text("[agent]\nuid = 4242\n")
    document = json.loads(cai("config", "--json", "--config", str(extra)).out)
    assert document["settings"]["agent"]["uid"] == 4242
    assert document["origins"]["agent.uid"] == str(extra)


def test_config_takes_the_workspace_as_a_positional(cai: Any, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    document = json.loads(cai("config", "--json", str(other)).out)
    assert document["workspace"] == str(other)
    assert document["data_volume"].startswith("containai-other-")


# --- errors: one line on stderr, exit codes -------------------------------------------------


def assert_one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("cai: ")
    return lines[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        pytest.param('data_volume = "x\n', None, id="syntax"),
        pytest.param('data_volme = "x"\n', "data_volme", id="unknown-key"),
        pytest.param("[import]\nexclude_priv = 1\n", "import.exclude_priv", id="wrong-type"),
    ],
)
def test_a_bad_project_file_exits_2_with_one_line_naming_file_and_key(
    cai: Any, work: Path, text: str, key: str | None
) -> None:
    (work / "containai.toml").write_text(text)
    trust(work)
    result = cai("config")
    assert result.code == 2
    line = assert_one_error_line(result.err)
    assert str(work / "containai.toml") in line
    if key is not None:
        assert key in line


def test_a_bad_environment_variable_exits_2_naming_it(
    cai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "1.10")
    result = cai("config")
    assert result.code == 2
    assert "CONTAINAI_DATA_VOLUME" in assert_one_error_line(result.err)


def test_a_missing_config_file_exits_2(cai: Any, tmp_path: Path) -> None:
    result = cai("config", "--config", str(tmp_path / "missing.toml"))
    assert result.code == 2
    assert "missing.toml" in assert_one_error_line(result.err)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["import", "--bogus"], id="unknown-task-flag"),
        pytest.param(["--bogus"], id="unknown-core-flag"),
        pytest.param(["nosuchcommand"], id="unknown-command"),
        pytest.param(["import", "--data-volume"], id="flag-without-value"),
    ],
)
def test_a_usage_error_exits_2_with_one_line(cai: Any, args: list[str]) -> None:
    result = cai(*args)
    assert result.code == 2
    assert_one_error_line(result.err)


def test_import_of_a_nonexistent_workspace_exits_2(cai: Any) -> None:
    result = cai("import", "/nonexistent/workspace")
    assert result.code == 2
    assert "/nonexistent/workspace" in assert_one_error_line(result.err)


def test_config_of_a_file_as_workspace_exits_2(cai: Any, work: Path) -> None:
    (work / "a-file").write_text("")
    result = cai("config", str(work / "a-file"))
    assert result.code == 2
    assert "a-file" in assert_one_error_line(result.err)


# --- cai import DIR: the optional positional ------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(["import", "ws"], ["import", "--workspace=ws"], id="bare"),
        pytest.param(
            ["import", "--data-volume", "v", "ws"],
            ["import", "--data-volume", "v", "--workspace=ws"],
            id="after-a-flag-value",
        ),
        pytest.param(
            ["import", "--data-volume=v", "ws"],
            ["import", "--data-volume=v", "--workspace=ws"],
            id="after-an-inline-flag-value",
        ),
        pytest.param(
            ["import", "--dry-run", "ws"],
            ["import", "--dry-run", "--workspace=ws"],
            id="after-a-boolean-flag",
        ),
        pytest.param(
            ["import", "-v", "ws"], ["import", "-v", "--workspace=ws"], id="after-a-short-boolean"
        ),
        pytest.param(
            ["import", "--from", "dir", "ws"],
            ["import", "--from", "dir", "--workspace=ws"],
            id="after-from",
        ),
        pytest.param(["import", "-w", "x"], ["import", "-w", "x"], id="explicit-short-flag"),
        pytest.param(
            ["import", "--workspace", "x"], ["import", "--workspace", "x"], id="explicit-long-flag"
        ),
        pytest.param(
            ["import", "ws", "export"],
            ["import", "--workspace=ws", "export"],
            id="followed-by-another-task",
        ),
        pytest.param(
            ["--debug", "import", "ws"],
            ["--debug", "import", "--workspace=ws"],
            id="after-a-core-flag",
        ),
        pytest.param(["config", "ws"], ["config", "--workspace=ws"], id="config-too"),
        pytest.param(["export", "ws"], ["export", "ws"], id="export-has-no-positional"),
        pytest.param(["import"], ["import"], id="no-workspace"),
    ],
)
def test_optional_positionals_rewrite_the_workspace(args: list[str], expected: list[str]) -> None:
    assert optional_positionals(args) == expected


def test_optional_positionals_leave_the_input_list_alone() -> None:
    args = ["import", "ws"]
    optional_positionals(args)
    assert args == ["import", "ws"]


def test_a_positional_workspace_reaches_the_command(cai: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "containai.toml").write_text('data_volume = "from-elsewhere"\n')
    trust(elsewhere)
    document = json.loads(cai("config", str(elsewhere), "--json").out)
    assert document["data_volume"] == "from-elsewhere"
