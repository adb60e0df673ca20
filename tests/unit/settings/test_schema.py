"""containai.settings.schema: a bad value, key or file is one line naming the file (or the
variable) and the key, exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from containai.errors import ConfigError
from tests.support.params import cases
from tests.unit.config_files import (
    Untouched,
    refused,
    write_trusted,
)
from tests.unit.settings.loading import load, load_error, write

# --- validation: one line naming the file and the key ---------------------------------------


def assert_one_line_naming(error: ConfigError, *fragments: str) -> None:
    message = str(error)
    assert error.exit_code == 2
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


@pytest.mark.parametrize(
    ("text", "fragments"),
    cases(
        {
            "syntax": ('data_volume = "unterminated\n', ["invalid TOML", "line 1"]),
            "missing-value": ("data_volume = \n", ["invalid TOML"]),
            "unknown-top-level-key": (
                'data_volme = "x"\n',
                ["unknown key 'data_volme'", "did you mean 'data_volume'"],
            ),
            "unknown-nested-key": (
                "[import]\nexclud_priv = false\n",
                ["unknown key 'import.exclud_priv'", "did you mean 'import.exclude_priv'"],
            ),
            "unknown-table": ("[nonsense]\nzzz = 1\n", ["unknown key 'nonsense"]),
            "string-for-bool": (
                '[import]\nexclude_priv = "no"\n',
                ["'import.exclude_priv'", "true or false", "'no'"],
            ),
            "int-for-list": ("excludes = 3\n", ["'excludes'", "a list of strings", "3"]),
            "list-of-ints": ("excludes = [1, 2]\n", ["'excludes'", "a list of strings"]),
            "bool-for-int": (
                "[engine]\ntimeout = true\n",
                ["'engine.timeout'", "an integer", "true"],
            ),
            "float-for-int": ("[agent]\nuid = 1.5\n", ["'agent.uid'", "an integer", "1.5"]),
            "int-for-string": ("data_volume = 7\n", ["'data_volume'", "a string"]),
            "leaf-for-table": ("import = 1\n", ["'import'", "must be a table"]),
            "table-for-string": (
                'data_volume = { name = "x" }\n',
                ["'data_volume' must be a string"],
            ),
            "empty-table": ("data_volume = {}\n", ["'data_volume' must be a string"]),
            "table-header-leaf": ("[agent.uid]\n", ["'agent.uid' must be an integer"]),
            "relative-workspace": (
                '[workspace."relative/path"]\ndata_volume = "x"\n',
                ['workspace."relative/path"', "absolute"],
            ),
            "workspace-not-a-table": ("workspace = 3\n", ["'workspace'", "table"]),
            "unknown-key-in-workspace": (
                '[workspace."/abs"]\ndata_volme = "x"\n',
                ['workspace."/abs".data_volme', "did you mean 'workspace.\"/abs\".data_volume'"],
            ),
            "wrong-type-in-workspace": (
                '[workspace."/abs"]\nexcludes = "x"\n',
                ['workspace."/abs".excludes', "a list of strings"],
            ),
        }
    ),
)
def test_a_bad_project_file_is_a_one_line_error_naming_the_file_and_the_key(
    workspace: Path, text: str, fragments: list[str]
) -> None:
    path = write(workspace / "containai.toml", text)
    assert_one_line_naming(load_error(workspace), str(path), *fragments)


def test_a_bad_user_file_names_the_user_file(workspace: Path, user_file: Path) -> None:
    write(user_file, "[agent]\nuid = 'root'\n")
    assert_one_line_naming(load_error(workspace), str(user_file), "'agent.uid'")


def test_a_bad_config_file_names_the_config_file(workspace: Path, tmp_path: Path) -> None:
    extra = write(tmp_path / "extra.toml", "[lock]\ntimeout = '1m'\n")
    assert_one_line_naming(load_error(workspace, config_file=extra), str(extra), "'lock.timeout'")


def test_a_missing_config_file_is_an_error_naming_it(workspace: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.toml"
    assert_one_line_naming(load_error(workspace, config_file=missing), str(missing))


def test_a_bad_file_is_reported_even_when_a_later_layer_sets_the_key(
    workspace: Path, user_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(user_file, "data_volume = 5\n")
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "fine")
    assert_one_line_naming(load_error(workspace), str(user_file), "'data_volume'")


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    cases(
        {
            "float-for-string": ("CONTAINAI_DATA_VOLUME", "1.10", "data_volume"),
            "bool-for-string": ("CONTAINAI_DATA_VOLUME", "true", "data_volume"),
            "word-for-bool": ("CONTAINAI_IMPORT__EXCLUDE_PRIV", "maybe", "import.exclude_priv"),
            "word-for-int": ("CONTAINAI_ENGINE__TIMEOUT", "soon", "engine.timeout"),
            "string-for-list": ("CONTAINAI_EXCLUDES", "node_modules/", "excludes"),
        }
    ),
)
def test_an_environment_variable_of_the_wrong_type_is_an_error_naming_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, key: str
) -> None:
    monkeypatch.setenv(variable, value)
    assert_one_line_naming(load_error(workspace), variable, f"'{key}'")


@pytest.mark.parametrize(
    "variable",
    ["CONTAINAI_DATA_VOLUMES", "CONTAINAI_IMPORT__EXCLUDEPRIV", "CONTAINAI_AGENT"],
    ids=["typo", "nested-typo", "whole-table"],
)
def test_an_unknown_containai_variable_is_an_error_naming_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "x")
    assert_one_line_naming(load_error(workspace), variable)


def test_a_string_that_looks_like_a_number_can_be_forced_with_at_str(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "@str 1.10")
    assert load(workspace).get("data_volume") == "1.10"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("home", "agent"),
        ("home", "/home/../etc"),
        ("home", "/"),
        ("workspace_mount", "/home/agent/w\u001b]52;c;x\u0007"),
        ("data_mount", "/home/agent/workspace/data"),
    ],
)
def test_agent_paths_must_be_absolute_clean_and_apart(
    workspace: Path, user_file: Path, key: str, value: str
) -> None:
    write(user_file, f"[agent]\n{key} = {json.dumps(value)}\n")
    error = load_error(workspace)
    assert str(user_file) in str(error) and "agent." in str(error)


# -- through the command line: broken files stop every command -----------------------------


SETTINGS_PROBLEMS = cases(
    {
        "syntax": (
            'data_volume = "unterminated\n',
            ["invalid TOML"],
        ),
        "not-utf8": (
            b'data_volume = "\xff"\n',
            [],
        ),
        "typo": (
            'data_volum = "x"\n',
            ["unknown key 'data_volum'", "did you mean 'data_volume'"],
        ),
        "key": (
            "[import]\nexclude_prv = true\n",
            ["unknown key 'import.exclude_prv'"],
        ),
        "table": (
            "[imports]\nmirror = true\n",
            ["unknown key 'imports'"],
        ),
        "wrong-type-int": (
            '[lock]\ntimeout = "soon"\n',
            ["'lock.timeout' must be an integer, not the string 'soon'"],
        ),
        "wrong-bool": (
            '[import]\nmirror = "yes"\n',
            ["'import.mirror' must be true or false"],
        ),
        "list": (
            "excludes = [1, 2]\n",
            ["'excludes' must be a list of strings"],
        ),
        "not-a-table": (
            "import = 3\n",
            ["'import' must be a table"],
        ),
        "float": (
            "[lock]\ntimeout = 1.5\n",
            ["'lock.timeout' must be an integer"],
        ),
        "range": (
            "[export]\ncompression_level = 12\n",
            ["'export.compression_level' must be a gzip level from 0 to 9"],
        ),
        "choice": (
            '[import]\non_conflict = "merge"\n',
            ["'import.on_conflict' must be one of"],
        ),
        "workspace-path": (
            '[workspace."relative/path"]\ndata_volume = "x"\n',
            ['workspace."relative/path" must be an absolute path'],
        ),
        "workspace-key": (
            '[workspace."/somewhere"]\nbogus = 1\n',
            ["unknown key 'workspace.\"/somewhere\".bogus'"],
        ),
    }
)


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(("text", "expected"), SETTINGS_PROBLEMS)
@pytest.mark.parametrize("where", ["user", "project", "--config", "state"])
def test_a_bad_settings_file_is_one_line_naming_it_exit_2_and_touches_nothing(
    where: str,
    text: str | bytes,
    expected: list[str],
    cai: Any,
    home: Path,
    work: Path,
    tmp_path: Path,
) -> None:
    path = {
        "user": home / ".config/containai/containai.toml",
        "project": work / "containai.toml",
        "--config": tmp_path / "extra.toml",
        "state": home / ".local/state/containai/state.toml",
    }[where]
    write_trusted(path, text)
    args = ["--config", str(path)] if where == "--config" else []
    untouched = Untouched(home, work)

    result = cai("import", "--dry-run", *args)

    refused(result, str(path), *expected)
    untouched.check()


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(
    "command",
    [
        ("import",),
        ("import", "--dry-run", "--json"),
        ("import", "--from", "{backup}"),
        ("export",),
        ("export", "-o", "out.tgz", "--json"),
        ("export", "--verify", "{backup}/x.tgz"),
        ("config",),
        ("config", "--json"),
        ("run",),
        ("stop",),
        ("shell",),
        ("sync", "--dry-run"),
    ],
    ids=lambda c: "-".join(c).replace("{backup}", "dir").replace("/", "").strip("-"),
)
def test_every_command_stops_at_a_bad_project_settings_file(
    command: tuple[str, ...], cai: Any, home: Path, work: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "x.tgz").write_bytes(b"")
    path = write_trusted(work / "containai.toml", "[lock]\ntimeout = -5\n")
    untouched = Untouched(home, work)

    result = cai(*(part.format(backup=backup) for part in command))

    problem = "'lock.timeout' must be a number of seconds (0 or more), not -5"
    refused(result, str(path), problem, args=command)
    untouched.check()


@pytest.mark.usefixtures("no_engine")
def test_a_bad_environment_variable_stops_import_naming_it(
    cai: Any, home: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", "soon")
    untouched = Untouched(home, work)

    result = cai("import", "--dry-run")

    refused(result, "CONTAINAI_LOCK__TIMEOUT")
    untouched.check()
