"""containai.settings.layers: defaults < user file < project file (trusted) < state < --config
< env.

The project file counts only once trusted (``cai trust``); ``load`` (loading.py) trusts the
workspace first, as a user who reviewed the files would. What happens before trust is tested
at the end.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from containai import settings
from containai.resources import packaged_settings
from tests.unit.settings.loading import load, write

# --- the layers -----------------------------------------------------------------------------


def test_without_any_file_every_setting_is_the_packaged_default(workspace: Path) -> None:
    loaded = load(workspace)
    assert loaded.get("data_volume") == ""
    assert loaded.get("import.exclude_priv") is True
    assert loaded.get("agent.uid") == 1000
    assert {origin for _key, _value, origin in loaded.leaves()} == {"default"}


def test_every_packaged_default_is_a_leaf_of_the_effective_settings(workspace: Path) -> None:
    import tomllib

    packaged = tomllib.loads(packaged_settings().read_text())
    assert load(workspace).as_dict() == packaged


def test_the_user_file_under_dot_config_is_read(workspace: Path, user_file: Path) -> None:
    write(user_file, 'data_volume = "from-user"\n')
    loaded = load(workspace)
    assert loaded.get("data_volume") == "from-user"
    assert loaded.origins["data_volume"] == str(user_file)


def test_the_user_file_under_xdg_config_home_is_read(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xdg = tmp_path / "xdg"
    path = write(xdg / "containai" / "containai.toml", 'data_volume = "from-xdg"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    loaded = load(workspace)
    assert loaded.get("data_volume") == "from-xdg"
    assert loaded.origins["data_volume"] == str(path)


def test_with_xdg_config_home_set_the_dot_config_file_is_not_read(
    workspace: Path, user_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(user_file, 'data_volume = "from-dot-config"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load(workspace).get("data_volume") == ""


def test_the_project_file_in_the_workspace_is_read(workspace: Path) -> None:
    path = write(workspace / "containai.toml", 'data_volume = "from-project"\n')
    loaded = load(workspace)
    assert loaded.get("data_volume") == "from-project"
    assert loaded.origins["data_volume"] == str(path)


def test_the_project_file_is_found_walking_up_from_a_subdirectory(workspace: Path) -> None:
    write(workspace / "containai.toml", 'data_volume = "from-project"\n')
    deep = workspace / "src" / "pkg"
    deep.mkdir(parents=True)
    assert load(deep).get("data_volume") == "from-project"


def test_the_nearest_project_file_wins(workspace: Path) -> None:
    write(workspace / "containai.toml", 'data_volume = "outer"\n')
    write(workspace / "sub" / "containai.toml", 'data_volume = "inner"\n')
    assert load(workspace / "sub").get("data_volume") == "inner"


def test_the_walk_stops_at_a_directory_holding_git(tmp_path: Path) -> None:
    write(tmp_path / "outer" / "containai.toml", 'data_volume = "beyond-the-repo"\n')
    repo = tmp_path / "outer" / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "src").mkdir()
    assert load(repo / "src").get("data_volume") == ""


def test_the_walk_stops_at_a_git_file_of_a_worktree(tmp_path: Path) -> None:
    write(tmp_path / "outer" / "containai.toml", 'data_volume = "beyond-the-repo"\n')
    write(tmp_path / "outer" / "worktree" / ".git", "gitdir: /elsewhere\n")
    assert load(tmp_path / "outer" / "worktree").get("data_volume") == ""


def test_the_directory_holding_git_is_itself_checked(workspace: Path) -> None:
    write(workspace / "containai.toml", 'data_volume = "repo-root"\n')
    (workspace / "src").mkdir()
    assert load(workspace / "src").get("data_volume") == "repo-root"


def test_the_project_file_beats_the_user_file(workspace: Path, user_file: Path) -> None:
    write(user_file, 'data_volume = "from-user"\n')
    write(workspace / "containai.toml", 'data_volume = "from-project"\n')
    assert load(workspace).get("data_volume") == "from-project"


def test_the_config_file_beats_the_project_file(workspace: Path, tmp_path: Path) -> None:
    write(workspace / "containai.toml", 'data_volume = "from-project"\n')
    extra = write(tmp_path / "extra.toml", 'data_volume = "from-config"\n')
    loaded = load(workspace, config_file=extra)
    assert loaded.get("data_volume") == "from-config"
    assert loaded.origins["data_volume"] == str(extra)


def test_the_environment_beats_the_config_file(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = write(tmp_path / "extra.toml", 'data_volume = "from-config"\n')
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "from-env")
    loaded = load(workspace, config_file=extra)
    assert loaded.get("data_volume") == "from-env"
    assert loaded.origins["data_volume"] == "environment CONTAINAI_DATA_VOLUME"


def test_a_nested_environment_variable_sets_a_boolean_in_a_table(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workspace / "containai.toml", "[import]\nexclude_priv = true\n")
    monkeypatch.setenv("CONTAINAI_IMPORT__EXCLUDE_PRIV", "false")
    loaded = load(workspace)
    assert loaded.get("import.exclude_priv") is False
    assert loaded.origins["import.exclude_priv"] == "environment CONTAINAI_IMPORT__EXCLUDE_PRIV"


def test_a_nested_environment_variable_keeps_the_rest_of_its_table(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_AGENT__UID", "2000")
    loaded = load(workspace)
    assert loaded.get("agent.uid") == 2000
    assert loaded.get("agent.gid") == 1000
    assert loaded.get("agent.user") == "agent"


# --- merging --------------------------------------------------------------------------------


def test_tables_merge_key_by_key_across_layers(workspace: Path, user_file: Path) -> None:
    write(user_file, "[import]\nexclude_priv = false\n")
    write(workspace / "containai.toml", '[import]\non_conflict = "skip"\n')
    loaded = load(workspace)
    assert loaded.get("import.exclude_priv") is False
    assert loaded.get("import.on_conflict") == "skip"
    assert loaded.get("import.mirror") is False
    assert loaded.origins["import.exclude_priv"] == str(user_file)
    assert loaded.origins["import.on_conflict"] == str(workspace / "containai.toml")


def test_a_list_in_a_later_file_replaces_the_earlier_list(workspace: Path, user_file: Path) -> None:
    write(user_file, 'excludes = ["from-user/"]\n')
    write(workspace / "containai.toml", 'excludes = ["from-project/"]\n')
    assert load(workspace).get("excludes") == ["from-project/"]


def test_a_list_in_a_file_replaces_the_packaged_list(workspace: Path, user_file: Path) -> None:
    write(user_file, '[import]\ndefault_excludes = ["only/"]\n')
    assert load(workspace).get("import.default_excludes") == ["only/"]


def test_a_list_in_the_environment_replaces_the_file_list(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(workspace / "containai.toml", 'excludes = ["from-project/"]\n')
    monkeypatch.setenv("CONTAINAI_EXCLUDES", '["from-env/"]')
    assert load(workspace).get("excludes") == ["from-env/"]


# --- [workspace."/abs"] sections -------------------------------------------------------------


def section(path: Path, body: str) -> str:
    return f'[workspace."{path}"]\n{body}\n'


def test_a_workspace_section_applies_to_that_workspace(workspace: Path) -> None:
    write(workspace / "containai.toml", section(workspace, 'data_volume = "for-app"'))
    loaded = load(workspace)
    assert loaded.get("data_volume") == "for-app"
    assert f'[workspace."{workspace}"]' in loaded.origins["data_volume"]


def test_a_workspace_section_applies_to_a_subdirectory(workspace: Path) -> None:
    write(workspace / "containai.toml", section(workspace, 'data_volume = "for-app"'))
    (workspace / "src").mkdir()
    assert load(workspace / "src").get("data_volume") == "for-app"


def test_a_workspace_section_does_not_apply_to_a_sibling_sharing_its_prefix(
    tmp_path: Path, user_file: Path
) -> None:
    app, app2 = tmp_path / "app", tmp_path / "app2"
    app.mkdir()
    app2.mkdir()
    write(user_file, section(app, 'data_volume = "for-app"'))
    assert load(app).get("data_volume") == "for-app"
    assert load(app2).get("data_volume") == ""


@pytest.mark.parametrize("longest_first", [True, False], ids=["longest-first", "longest-last"])
def test_the_longest_matching_workspace_section_wins(
    workspace: Path, user_file: Path, longest_first: bool
) -> None:
    deep = workspace / "services" / "api"
    deep.mkdir(parents=True)
    sections = [
        section(deep, 'data_volume = "for-api"'),
        section(workspace, 'data_volume = "for-app"'),
    ]
    write(user_file, "".join(sections if longest_first else reversed(sections)))
    assert load(deep).get("data_volume") == "for-api"
    assert load(workspace).get("data_volume") == "for-app"


def test_a_workspace_section_belongs_to_the_layer_of_its_file(
    workspace: Path, user_file: Path
) -> None:
    # The user's section overrides the user's own settings, not a higher layer's.
    write(user_file, 'data_volume = "user-wide"\n' + section(workspace, 'data_volume = "for-app"'))
    assert load(workspace).get("data_volume") == "for-app"
    write(workspace / "containai.toml", 'data_volume = "project-wide"\n')
    assert load(workspace).get("data_volume") == "project-wide"


def test_a_project_workspace_section_never_outranks_the_config_file(
    workspace: Path, tmp_path: Path
) -> None:
    write(workspace / "containai.toml", section(workspace, 'data_volume = "project-section"'))
    extra = write(tmp_path / "extra.toml", 'data_volume = "from-config"\n')
    assert load(workspace, config_file=extra).get("data_volume") == "from-config"


def test_the_recorded_volume_sits_below_the_config_file_and_the_environment(
    workspace: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = home / ".local" / "state" / "containai" / "state.toml"
    write(state, section(workspace, 'data_volume = "recorded"'))
    assert load(workspace).get("data_volume") == "recorded"
    extra = write(tmp_path / "extra.toml", 'data_volume = "from-config"\n')
    assert load(workspace, config_file=extra).get("data_volume") == "from-config"
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "from-env")
    assert load(workspace).get("data_volume") == "from-env"


def test_sections_for_the_same_workspace_in_two_files_merge_key_by_key(
    workspace: Path, user_file: Path
) -> None:
    write(user_file, section(workspace, 'data_volume = "from-user-section"'))
    write(workspace / "containai.toml", f'[workspace."{workspace}".import]\nmirror = true\n')
    loaded = load(workspace)
    assert loaded.get("import.mirror") is True
    assert loaded.get("data_volume") == "from-user-section"


def test_a_later_section_for_the_same_workspace_wins_for_a_shared_key(
    workspace: Path, user_file: Path
) -> None:
    write(user_file, section(workspace, 'data_volume = "from-user-section"'))
    write(workspace / "containai.toml", section(workspace, 'data_volume = "from-project-section"'))
    assert load(workspace).get("data_volume") == "from-project-section"


def test_a_workspace_section_matches_through_a_symlink(workspace: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-app"
    link.symlink_to(workspace)
    write(workspace / "containai.toml", section(workspace, 'data_volume = "for-app"'))
    assert load(link).get("data_volume") == "for-app"


def test_workspace_excludes_add_to_the_global_excludes(workspace: Path, user_file: Path) -> None:
    write(user_file, 'excludes = ["global/"]\n' + section(workspace, 'excludes = ["local/"]'))
    assert load(workspace).get("excludes") == ["global/", "local/"]


def test_workspace_excludes_add_to_the_excludes_of_their_own_and_lower_layers(
    workspace: Path, user_file: Path
) -> None:
    write(user_file, 'excludes = ["user/"]\n' + section(workspace, 'excludes = ["local/"]'))
    project = write(workspace / "containai.toml", section(workspace, 'excludes = ["app/"]'))
    assert load(workspace).get("excludes") == ["user/", "local/", "app/"]
    # A plain list in a higher file replaces the lists below it, sections included.
    project.write_text('excludes = ["project/"]\n')
    assert load(workspace).get("excludes") == ["project/"]


def test_workspace_sections_do_not_appear_in_the_effective_settings(
    workspace: Path, user_file: Path
) -> None:
    write(user_file, section(workspace, 'data_volume = "for-app"'))
    loaded = load(workspace)
    assert "workspace" not in loaded.as_dict()
    assert not any(key.startswith("workspace") for key, _value, _origin in loaded.leaves())


# --- provenance -----------------------------------------------------------------------------


def test_leaves_name_the_layer_of_every_key(
    workspace: Path, user_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(user_file, "[agent]\nuid = 1001\n")
    write(workspace / "containai.toml", "[export]\ncompression_level = 3\n")
    extra = write(tmp_path / "extra.toml", "[engine]\ntimeout = 5\n")
    monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", "7")
    origins = {key: origin for key, _value, origin in load(workspace, config_file=extra).leaves()}
    assert origins["agent.uid"] == str(user_file)
    assert origins["export.compression_level"] == str(workspace / "containai.toml")
    assert origins["engine.timeout"] == str(extra)
    assert origins["lock.timeout"] == "environment CONTAINAI_LOCK__TIMEOUT"
    assert origins["agent.home"] == "default"


def test_leaves_give_the_effective_value_of_every_key(workspace: Path) -> None:
    write(workspace / "containai.toml", "[lock]\ntimeout = 9\n")
    values = {key: value for key, value, _origin in load(workspace).leaves()}
    assert values["lock.timeout"] == 9
    assert values["import.exclude_priv"] is True


# --- Dynaconf's own switches must not change containai's layering -----------------------------


@pytest.fixture
def layered(workspace: Path, user_file: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace whose settings come from every layer, lists and nested tables included."""
    write(user_file, 'excludes = ["user/"]\n[import]\nexclude_priv = false\n')
    write(workspace / "containai.toml", 'excludes = ["project/"]\n[import]\non_conflict = "skip"\n')
    monkeypatch.setenv("CONTAINAI_AGENT__UID", "2000")
    monkeypatch.setenv("CONTAINAI_IMPORT__SECRET_PATTERNS", '["*.pem"]')
    return workspace


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MERGE_ENABLED_FOR_DYNACONF", "true"),
        ("DOTTED_LOOKUP_FOR_DYNACONF", "false"),
        ("NESTED_SEPARATOR_FOR_DYNACONF", "___"),
        ("ENVIRONMENTS_FOR_DYNACONF", "true"),
        ("ENVVAR_PREFIX_FOR_DYNACONF", "OTHER"),
        ("LOWERCASE_READ_FOR_DYNACONF", "false"),
        ("AUTO_CAST_FOR_DYNACONF", "false"),
    ],
    ids=lambda item: item,
)
def test_a_for_dynaconf_variable_does_not_change_the_settings(
    layered: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    expected = load(layered)
    monkeypatch.setenv(variable, value)
    actual = load(layered)
    assert actual.as_dict() == expected.as_dict()
    assert actual.origins == expected.origins


def test_merge_enabled_for_dynaconf_does_not_make_lists_append(
    layered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MERGE_ENABLED_FOR_DYNACONF", "true")
    assert load(layered).get("excludes") == ["project/"]


def test_a_dynaconf_settings_file_variable_adds_no_layer(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hijack = write(tmp_path / "hijack.toml", 'data_volume = "hijacked"\n')
    monkeypatch.setenv("SETTINGS_FILE_FOR_DYNACONF", str(hijack))
    monkeypatch.setenv("SETTINGS_FILES_FOR_DYNACONF", str(hijack))
    assert load(workspace).get("data_volume") == ""


def test_dynaconf_prefixed_variables_are_ignored(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNACONF_DATA_VOLUME", "hijacked")
    assert load(workspace).get("data_volume") == ""


def test_for_dynaconf_variables_are_left_in_the_environment(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setenv("MERGE_ENABLED_FOR_DYNACONF", "true")
    load(workspace)
    assert os.environ["MERGE_ENABLED_FOR_DYNACONF"] == "true"


# --- the trust gate and the keys only the user sets ---------------------------------------------


def test_an_untrusted_project_file_is_ignored(workspace: Path) -> None:
    write(workspace / "containai.toml", 'data_volume = "from-project"\n')
    assert settings.load(workspace).get("data_volume") == ""
    assert load(workspace).get("data_volume") == "from-project"  # trusted by load()


def test_an_edit_after_trust_voids_it(workspace: Path) -> None:
    path = write(workspace / "containai.toml", 'data_volume = "reviewed"\n')
    assert load(workspace).get("data_volume") == "reviewed"
    path.write_text('data_volume = "edited-by-the-agent"\n')
    assert settings.load(workspace).get("data_volume") == ""


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("import.additional_paths", '["~/.ssh"]'),
        ("import.secret_patterns", "[]"),
        ("import.exclude_priv", "false"),
        ("import.default_excludes", "[]"),
        ("agent.uid", "0"),
        ("agent.data_mount", '"/dev/shm"'),
        ("run.forward_ssh_agent", "false"),
        ("engine.shell_image", '"evil:latest"'),
    ],
)
@pytest.mark.parametrize("inside", [False, True], ids=["top", "workspace-table"])
def test_a_trusted_project_cannot_set_a_user_only_key(
    workspace: Path, key: str, value: str, inside: bool
) -> None:
    table, name = key.split(".")
    header = f'[workspace."{workspace}".{table}]' if inside else f"[{table}]"
    path = write(
        workspace / "containai.toml", f'data_volume = "kept"\n{header}\n{name} = {value}\n'
    )
    loaded = load(workspace)
    assert loaded.get("data_volume") == "kept"  # the rest of the file counts
    assert loaded.get(key) == settings.load(workspace.parent).get(key)  # the default
    assert len(loaded.warnings) == 1
    assert str(path) in loaded.warnings[0] and name in loaded.warnings[0]
    assert "\n" not in loaded.warnings[0]
