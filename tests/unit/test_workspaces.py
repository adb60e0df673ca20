"""Volume names: stable per workspace, distinct across workspaces, valid for Docker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containai import workspaces as volumes
from containai.errors import UsageError
from tests.support.files import new_dir
from tests.unit.config_files import (
    Untouched,
    refused,
    write_trusted,
)


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return new_dir(tmp_path / "My Project")


def test_the_same_workspace_gets_the_same_name(workspace: Path) -> None:
    assert volumes.derived_name(workspace) == volumes.derived_name(workspace)


def test_a_relative_and_an_absolute_spelling_get_the_same_name(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(workspace.parent)
    assert volumes.derived_name(Path("My Project")) == volumes.derived_name(workspace)


def test_an_untidy_path_gets_the_same_name(workspace: Path) -> None:
    untidy = workspace / "sub" / ".." / "."
    (workspace / "sub").mkdir()
    assert volumes.derived_name(untidy) == volumes.derived_name(workspace)


def test_different_workspaces_get_different_names(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "app", tmp_path / "b" / "app"
    first.mkdir(parents=True)
    second.mkdir(parents=True)
    assert volumes.derived_name(first) != volumes.derived_name(second)


def test_a_symlinked_workspace_gets_the_name_of_its_target(workspace: Path, tmp_path: Path) -> None:
    link = tmp_path / "shortcut"
    link.symlink_to(workspace)
    assert volumes.derived_name(link) == volumes.derived_name(workspace)


def test_the_name_carries_a_readable_basename(workspace: Path) -> None:
    assert volumes.derived_name(workspace).startswith("containai-my-project-")


@pytest.mark.parametrize(
    "name",
    [
        "My Project",
        "ünïcödé",
        "---",
        ".hidden",
        "a" * 300,
        "UPPER_case.dots-dash",
        "emoji-🚀",
        "sp ace\ttab",
    ],
    ids=["spaces", "unicode", "only-dashes", "dot-first", "very-long", "mixed", "emoji", "blanks"],
)
def test_a_derived_name_is_a_valid_docker_volume_name(tmp_path: Path, name: str) -> None:
    path = tmp_path / name[:200]
    path.mkdir()
    derived = volumes.derived_name(path)
    assert volumes.validate_name(derived) == derived
    assert len(derived) <= 255


def test_the_filesystem_root_gets_a_valid_name() -> None:
    derived = volumes.derived_name(Path("/"))
    assert volumes.validate_name(derived) == derived


@pytest.mark.parametrize(
    "name",
    ["v", "containai-app-0123456789", "A.b_c-d", "1volume", "x" * 255],
    ids=["one-letter", "derived-like", "punctuation", "digit-first", "max-length"],
)
def test_a_valid_name_is_returned_unchanged(name: str) -> None:
    assert volumes.validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "/abs/path",
        "./rel",
        "has/slash",
        "-dash-first",
        ".dot-first",
        "sp ace",
        "x" * 256,
        "a:b",
    ],
    ids=[
        "empty",
        "absolute-path",
        "relative-path",
        "slash",
        "dash-first",
        "dot-first",
        "space",
        "too-long",
        "colon",
    ],
)
def test_an_invalid_name_is_a_usage_error(name: str) -> None:
    with pytest.raises(UsageError) as caught:
        volumes.validate_name(name)
    assert caught.value.exit_code == 2
    assert repr(name) in str(caught.value)


def test_an_explicit_name_beats_the_configured_one(workspace: Path) -> None:
    assert volumes.resolve_name("explicit", "configured", workspace) == "explicit"


def test_a_configured_name_beats_the_derived_one(workspace: Path) -> None:
    assert volumes.resolve_name(None, "configured", workspace) == "configured"


def test_without_explicit_or_configured_names_the_name_is_derived(workspace: Path) -> None:
    assert volumes.resolve_name(None, "", workspace) == volumes.derived_name(workspace)


@pytest.mark.parametrize(
    ("explicit", "configured"),
    [("bad/name", ""), (None, "bad/name"), ("bad/name", "good")],
    ids=["explicit", "configured", "explicit-over-good-config"],
)
def test_resolve_name_validates_the_chosen_name(
    workspace: Path, explicit: str | None, configured: str
) -> None:
    with pytest.raises(UsageError):
        volumes.resolve_name(explicit, configured, workspace)


def test_labels_mark_the_volume_as_managed_for_the_resolved_workspace(
    workspace: Path, tmp_path: Path
) -> None:
    link = tmp_path / "shortcut"
    link.symlink_to(workspace)
    assert volumes.labels_for(link) == {
        "containai.managed": "true",
        "containai.workspace": str(workspace.resolve()),
    }


# --- through `cai config` (no engine needed) ------------------------------------------------


def test_cai_config_shows_the_volume_named_in_the_environment(
    cai: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "env-volume")
    assert "# data volume: env-volume" in cai("config").out


def test_a_workspace_section_names_the_volume_of_that_workspace(
    cai: Any, tmp_path: Path, isolated_env: Path
) -> None:
    app = tmp_path / "app"
    app.mkdir()
    user_file = isolated_env / ".config" / "containai" / "containai.toml"
    user_file.parent.mkdir(parents=True)
    user_file.write_text(f'[workspace."{app}"]\ndata_volume = "app-volume"\n')
    assert "# data volume: app-volume" in cai("config", str(app)).out
    assert "# data volume: containai-work-" in cai("config").out


# -- through the command line: an invalid name touches nothing ---------------------------------


BAD_NAMES = [
    pytest.param(["--data-volume", "../x"], "../x", id="dotdot"),
    pytest.param(["--data-volume=-bad"], "-bad", id="dash"),
    pytest.param(["--data-volume", "-bad"], "-bad", id="dash-separate"),
    pytest.param(["--data-volume", "a" * 300], "a" * 300, id="300-chars"),
    pytest.param(["--data-volume", "/var/lib/x"], "/var/lib/x", id="absolute"),
    pytest.param(["--data-volume", "a/b"], "a/b", id="slash"),
    pytest.param(["--data-volume", "with space"], "with space", id="space"),
    pytest.param(["--data-volume", ".hidden"], ".hidden", id="leading-dot"),
    pytest.param(["--data-volume", "vol\u00e9"], "vol\u00e9", id="non-ascii"),
]


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(("flags", "name"), BAD_NAMES)
@pytest.mark.parametrize(
    "command",
    [("import",), ("import", "--dry-run"), ("export", "-o", "out.tgz"), ("run",)],
    ids=["import", "import-dry-run", "export", "run"],
)
def test_an_invalid_volume_name_is_exit_2_and_touches_nothing(
    command: tuple[str, ...], flags: list[str], name: str, cai: Any, home: Path, work: Path
) -> None:
    untouched = Untouched(home, work)

    result = cai(*command, *flags)

    assert refused(result).startswith(f"cai: invalid volume name {name!r}")
    untouched.check()


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize("where", ["environment", "project", "workspace-table"])
@pytest.mark.parametrize(
    "command", [("import", "--dry-run"), ("config",)], ids=["import-dry-run", "config"]
)
def test_an_invalid_configured_volume_name_is_exit_2(
    command: tuple[str, ...],
    where: str,
    cai: Any,
    home: Path,
    work: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if where == "environment":
        monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "../escape")
    elif where == "project":
        write_trusted(work / "containai.toml", 'data_volume = "../escape"\n')
    else:
        write_trusted(
            home / ".config/containai/containai.toml",
            f'[workspace."{work}"]\ndata_volume = "../escape"\n',
        )
    untouched = Untouched(home, work)

    result = cai(*command)

    assert refused(result).startswith("cai: invalid volume name '../escape'")
    untouched.check()
