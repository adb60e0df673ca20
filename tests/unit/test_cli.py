"""containai.cli, the `cai` program: help, version, completion, exit codes and one-line errors,
and the optional workspace positional."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import containai
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
    assert "--list-format" not in out and "--list-depth" not in out


def test_running_cai_without_a_command_shows_the_help(cai: Any) -> None:
    result = cai()
    assert result.code == 0
    assert "import" in result.out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_the_completion_script_is_printed(cai: Any, shell: str) -> None:
    result = cai("--print-completion-script", shell)
    assert result.code == 0
    assert "--complete" in result.out


def test_a_completion_script_for_an_unknown_shell_is_a_usage_error(cai: Any) -> None:
    result = cai("--print-completion-script", "tcsh")
    assert result.code == 2
    assert "bash" in one_line(result.err)


@pytest.mark.parametrize(
    ("typed", "wanted", "unwanted"),
    [
        pytest.param("cai", {"import", "export", "ls", "rm"}, {"--dry-run"}, id="commands"),
        pytest.param("cai import --", {"--dry-run", "--from"}, {"export", "-w"}, id="flags"),
        pytest.param("cai import", {"--dry-run"}, {"export"}, id="after-the-command"),
        pytest.param("cai import --dry-run", {"--from"}, {"export"}, id="after-a-flag"),
        pytest.param("cai export -", {"-o", "--output"}, {"import"}, id="short-flags"),
    ],
)
def test_completion_offers_the_command_s_flags_never_another_command(
    cai: Any, typed: str, wanted: set[str], unwanted: set[str]
) -> None:
    result = cai("--complete", "--", *typed.split())

    offered = set(result.out.split())
    assert result.code == 0
    assert wanted <= offered, offered
    assert not offered & unwanted, offered


def test_completion_after_a_flag_that_takes_a_value_leaves_it_to_the_shell(cai: Any) -> None:
    result = cai("--complete", "--", "cai", "import", "--from")
    assert result.code == 0
    assert result.out == ""


def test_command_help_shows_its_arguments(cai: Any) -> None:
    out = cai("shell", "--help").out
    assert out.startswith("Usage: cai shell [--options] [WORKSPACE] [-- CMD ...]\n")
    assert "other tasks" not in out


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
        # invoke's own core flags that are not cai's: -f would run a Python file.
        pytest.param(["-f", "tasks.py", "ls"], id="invoke-config-file"),
        pytest.param(["--list-format=bogus"], id="invoke-list-format"),
        pytest.param(["-D", "1", "ls"], id="invoke-list-depth"),
        pytest.param(["--echo", "ls"], id="invoke-echo"),
        pytest.param(["-l", "nosuch"], id="list-with-a-value"),
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


# --- one command per call ------------------------------------------------------------------


@pytest.mark.usefixtures("no_engine")
def test_a_second_command_is_an_error_and_runs_nothing(cai: Any, work: Path) -> None:
    result = cai("import", "--dry-run", "export")

    assert result.code == 2
    line = one_line(result.err)
    assert "'export'" in line and "one command per call" in line
    assert result.out == ""
    assert list(work.iterdir()) == []  # no archive written


@pytest.mark.usefixtures("no_engine")
def test_a_directory_named_like_a_command_is_a_workspace(cai: Any, work: Path) -> None:
    (work / "run").mkdir()
    (work / "run" / "containai.toml").write_text('data_volume = "named-run"\n')
    trust(work / "run")

    by_word = json.loads(cai("config", "run", "--json").out)
    by_path = json.loads(cai("config", "./run", "--json").out)

    assert by_word["workspace"] == by_path["workspace"] == str(work / "run")
    assert by_word["data_volume"] == "named-run"


def test_a_positional_workspace_reaches_the_command(cai: Any, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "containai.toml").write_text('data_volume = "from-elsewhere"\n')
    trust(elsewhere)
    document = json.loads(cai("config", str(elsewhere), "--json").out)
    assert document["data_volume"] == "from-elsewhere"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        pytest.param(["export", "ws"], "export takes no arguments: unexpected 'ws'", id="export"),
        pytest.param(["import", "a", "b"], "import takes one WORKSPACE", id="second-word"),
        pytest.param(["import", "--", "x"], "import takes no words after '--'", id="dashes"),
    ],
)
def test_an_extra_word_is_a_usage_error_naming_it(cai: Any, args: list[str], said: str) -> None:
    result = cai(*args)
    assert result.code == 2
    assert said in one_line(result.err)


# --- misspellings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "suggested"),
    [
        pytest.param(["import", "--dryrun"], "'--dry-run'", id="task-flag"),
        pytest.param(["export", "--outptu", "x"], "'--output'", id="value-flag"),
        pytest.param(["imprt"], "'import'", id="command"),
        pytest.param(["--verison"], "'--version'", id="core-flag"),
    ],
)
def test_a_misspelled_word_gets_a_suggestion(cai: Any, args: list[str], suggested: str) -> None:
    result = cai(*args)
    assert result.code == 2
    line = one_line(result.err)
    assert f"did you mean {suggested}?" in line
    assert "No idea" not in line


def test_a_word_like_nothing_known_gets_no_suggestion(cai: Any) -> None:
    line = one_line(cai("import", "--zzzzzz").err)
    assert line == "cai: unknown option '--zzzzzz' for import"


def test_a_flag_without_its_value_is_named(cai: Any) -> None:
    assert one_line(cai("import", "--data-volume").err) == "cai: --data-volume needs a value"


# --- --json: errors are documents too --------------------------------------------------------


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["import", "--json", "--dryrun"], 2, id="parse-error"),
        pytest.param(["import", "--json", "--container", "c", "--data-volume", "v"], 2, id="rule"),
        pytest.param(["import", "--json", "--from", "/nonexistent.tgz"], 2, id="bad-input"),
        pytest.param(["config", "--json", "--config", "/nonexistent.toml"], 2, id="settings"),
        pytest.param(["import", "--json", "--dry-run"], 1, id="no-engine"),
    ],
)
def test_under_json_an_error_is_also_a_json_object_on_stdout(
    cai: Any, args: list[str], code: int
) -> None:
    result = cai(*args)

    assert result.code == code
    line = one_line(result.err)
    document = json.loads(result.out)
    assert document == {
        "version": 1,
        "error": {"message": line.removeprefix("cai: "), "exit_code": code},
    }


def test_without_json_an_error_leaves_stdout_empty(cai: Any) -> None:
    result = cai("import", "--dryrun")
    assert result.code == 2
    assert result.out == ""


def test_a_json_document_carries_its_version(cai: Any) -> None:
    assert json.loads(cai("config", "--json").out)["version"] == 1


def test_every_command_but_the_interactive_shell_takes_json() -> None:
    # `cai shell`'s stdout is the command's it runs: no document of cai's can share it.
    from containai.tasks import ns

    without = {
        name for name in ns.task_names if "json" not in {a.name for a in ns[name].get_arguments()}
    }
    assert without == {"shell"}
