"""containai.cli, the `cai` program: help, version, completion, exit codes and one-line errors,
and the optional workspace positional."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import containai
from containai.cli import optional_positionals
from tests.support.cai import one_line
from tests.support.files import trust

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


def test_the_bash_completion_script_is_printed(cai: Any) -> None:
    result = cai("--print-completion-script", "bash")
    assert result.code == 0
    assert "complete" in result.out
    assert "cai" in result.out


# --- errors: one line on stderr, exit codes -------------------------------------------------


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
    line = one_line(result.err)
    assert str(work / "containai.toml") in line
    if key is not None:
        assert key in line


def test_a_bad_environment_variable_exits_2_naming_it(
    cai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "1.10")
    result = cai("config")
    assert result.code == 2
    assert "CONTAINAI_DATA_VOLUME" in one_line(result.err)


def test_a_missing_config_file_exits_2(cai: Any, tmp_path: Path) -> None:
    result = cai("config", "--config", str(tmp_path / "missing.toml"))
    assert result.code == 2
    assert "missing.toml" in one_line(result.err)


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
    one_line(result.err)


def test_import_of_a_nonexistent_workspace_exits_2(cai: Any) -> None:
    result = cai("import", "/nonexistent/workspace")
    assert result.code == 2
    assert "/nonexistent/workspace" in one_line(result.err)


def test_config_of_a_file_as_workspace_exits_2(cai: Any, work: Path) -> None:
    (work / "a-file").write_text("")
    result = cai("config", str(work / "a-file"))
    assert result.code == 2
    assert "a-file" in one_line(result.err)


# --- cai import DIR: the optional positional ------------------------------------------------

# The command line as given and as rewritten for invoke, its words split on spaces.
REWRITTEN = {
    "bare": ("import ws", "import --workspace=ws"),
    "after-a-flag-value": ("import --data-volume v ws", "import --data-volume v --workspace=ws"),
    "after-an-inline-flag-value": (
        "import --data-volume=v ws",
        "import --data-volume=v --workspace=ws",
    ),
    "after-a-boolean-flag": ("import --dry-run ws", "import --dry-run --workspace=ws"),
    "after-a-short-boolean": ("import -v ws", "import -v --workspace=ws"),
    "after-from": ("import --from dir ws", "import --from dir --workspace=ws"),
    "followed-by-another-task": ("import ws export", "import --workspace=ws export"),
    "after-a-core-flag": ("--debug import ws", "--debug import --workspace=ws"),
    "config-too": ("config ws", "config --workspace=ws"),
}
LEFT_ALONE = {
    "explicit-short-flag": "import -w x",
    "explicit-long-flag": "import --workspace x",
    "export-has-no-positional": "export ws",
    "no-workspace": "import",
}


@pytest.mark.parametrize(("given", "rewritten"), list(REWRITTEN.values()), ids=list(REWRITTEN))
def test_optional_positionals_rewrite_the_workspace(given: str, rewritten: str) -> None:
    assert optional_positionals(given.split()) == rewritten.split()


@pytest.mark.parametrize("given", list(LEFT_ALONE.values()), ids=list(LEFT_ALONE))
def test_a_command_line_without_a_positional_workspace_is_left_as_it_is(given: str) -> None:
    assert optional_positionals(given.split()) == given.split()


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
