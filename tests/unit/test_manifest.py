"""The sync manifest: the packaged entries, and user/project manifests layered on top."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from containai.errors import ConfigError
from containai.host import manifest
from containai.host.manifest import Entry, Manifest
from containai.resources import packaged_manifest
from tests.conftest import trust

TOOLS = [
    "git",
    "gh",
    "shell",
    "editors",
    "tmux",
    "prompt",
    "vscode",
    "claude",
    "codex",
    "gemini",
    "copilot",
    "opencode",
    "aider",
    "continue",
    "cursor",
    "kimi",
    "pi",
    "ssh",
]
SECRETS = [
    ".claude.json",
    ".gemini/google_accounts.json",
    ".gemini/oauth_creds.json",
    ".local/share/opencode/auth.json",
    ".config/gh/hosts.yml",
    ".aider.conf.yml",
    ".continue/config.yaml",
    ".continue/config.json",
]
CREDENTIALS = [".claude/.credentials.json", ".codex/auth.json"]


@pytest.fixture
def user_dir(isolated_env: Path) -> Path:
    return isolated_env / ".config" / "containai"


@pytest.fixture
def packaged() -> dict[str, Entry]:
    return {entry.source: entry for entry in manifest.parse_file(packaged_manifest())}


def write_manifest(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def load(user_dir: Path, workspace: Path | None = None) -> Manifest:
    """The manifests, with the workspace's project manifests trusted (as after `cai trust`)."""
    return manifest.load(trust(workspace) if workspace else None, user_config_dir=user_dir)


def by_source(loaded: Manifest) -> dict[str, Entry]:
    return {entry.source: entry for entry in loaded.entries}


# --- the packaged manifest ------------------------------------------------------------------


def test_the_packaged_manifest_parses_without_warnings(user_dir: Path) -> None:
    loaded = load(user_dir)
    assert loaded.entries
    assert loaded.warnings == ()


def test_the_packaged_manifest_has_no_duplicate_sources() -> None:
    rows = tomllib.loads(packaged_manifest().read_text())["entries"]
    sources = [row["source"] for row in rows]
    assert len(sources) == len(set(sources))


@pytest.mark.parametrize("tool", TOOLS, ids=str)
def test_the_packaged_manifest_has_entries_for_the_tool(
    packaged: dict[str, Entry], tool: str
) -> None:
    assert any(entry.tool == tool for entry in packaged.values())


def test_the_ssh_entries_are_present_but_disabled(packaged: dict[str, Entry]) -> None:
    ssh = [entry for entry in packaged.values() if entry.tool == "ssh"]
    assert ssh
    assert not any(entry.enabled for entry in ssh)


def test_the_git_and_gh_entries_are_enabled(packaged: dict[str, Entry]) -> None:
    assert packaged[".gitconfig"].enabled
    assert packaged[".gitconfig"].transform == "gitconfig"
    assert packaged[".config/gh/config.yml"].enabled


def test_targets_and_links_default_to_the_source() -> None:
    rows = tomllib.loads(packaged_manifest().read_text())["entries"]
    entries = {entry.source: entry for entry in manifest.parse_file(packaged_manifest())}
    for row in rows:
        entry = entries[row["source"]]
        if "target" not in row:
            assert entry.target == entry.source, entry.source
        if "link" not in row:
            assert entry.link == entry.source, entry.source


def test_an_explicit_target_and_an_empty_link_are_kept(packaged: dict[str, Entry]) -> None:
    tmux = packaged[".tmux.conf"]
    assert tmux.target == ".config/tmux/tmux.conf"
    assert tmux.link is None


@pytest.mark.parametrize("source", SECRETS, ids=str)
def test_a_seed_secret_is_marked_secret(packaged: dict[str, Entry], source: str) -> None:
    assert packaged[source].secret is True


@pytest.mark.parametrize("source", CREDENTIALS, ids=str)
def test_a_login_token_store_is_a_secret_credential(
    packaged: dict[str, Entry], source: str
) -> None:
    assert packaged[source].credential is True
    assert packaged[source].secret is True


def test_only_the_login_token_stores_are_credentials(packaged: dict[str, Entry]) -> None:
    assert sorted(s for s, e in packaged.items() if e.credential) == sorted(CREDENTIALS)


def test_every_packaged_entry_is_a_file_or_a_dir(packaged: dict[str, Entry]) -> None:
    assert {entry.kind for entry in packaged.values()} <= {"file", "dir"}


def test_every_packaged_entry_names_the_manifest_it_came_from(packaged: dict[str, Entry]) -> None:
    assert all(str(packaged_manifest()) in entry.origin for entry in packaged.values())


def test_enabled_leaves_out_disabled_entries(user_dir: Path) -> None:
    enabled = {entry.source for entry in load(user_dir).enabled()}
    assert ".gitconfig" in enabled
    assert ".ssh/config" not in enabled


# --- user and project manifests -------------------------------------------------------------


def test_a_user_manifest_adds_an_entry(user_dir: Path) -> None:
    write_manifest(
        user_dir / "manifests",
        "team.toml",
        '[[entries]]\ntool = "team"\nsource = ".teamrc"\nkind = "file"\nsecret = true\n',
    )
    loaded = load(user_dir)
    entry = by_source(loaded)[".teamrc"]
    assert entry.tool == "team"
    assert entry.secret is True
    assert entry.target == ".teamrc"
    assert "team.toml" in entry.origin
    assert loaded.warnings == ()


def test_a_user_manifest_entry_with_the_same_source_replaces_the_packaged_one(
    user_dir: Path,
) -> None:
    write_manifest(
        user_dir / "manifests",
        "override.toml",
        '[[entries]]\ntool = "git"\nsource = ".gitconfig"\nkind = "file"\ntarget = "git/config"\n',
    )
    entries = [e for e in load(user_dir).entries if e.source == ".gitconfig"]
    assert len(entries) == 1
    assert entries[0].target == "git/config"
    assert entries[0].transform is None


def test_a_user_manifest_disables_a_packaged_entry(user_dir: Path) -> None:
    write_manifest(
        user_dir / "manifests",
        "off.toml",
        '[[entries]]\nsource = ".config/gh/hosts.yml"\nkind = "file"\nenabled = false\n',
    )
    loaded = load(user_dir)
    assert by_source(loaded)[".config/gh/hosts.yml"].enabled is False
    assert ".config/gh/hosts.yml" not in {entry.source for entry in loaded.enabled()}


def test_a_user_manifest_enables_the_ssh_config(user_dir: Path) -> None:
    write_manifest(
        user_dir / "manifests",
        "ssh.toml",
        '[[entries]]\ntool = "ssh"\nsource = ".ssh/config"\nkind = "file"\n',
    )
    assert ".ssh/config" in {entry.source for entry in load(user_dir).enabled()}


def test_user_manifests_apply_in_file_name_order(user_dir: Path) -> None:
    folder = user_dir / "manifests"
    write_manifest(folder, "20-late.toml", '[[entries]]\nsource = ".x"\nkind = "dir"\n')
    write_manifest(folder, "10-early.toml", '[[entries]]\nsource = ".x"\nkind = "file"\n')
    assert by_source(load(user_dir))[".x"].kind == "dir"


def test_a_project_manifest_beats_a_user_manifest(user_dir: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "project"
    write_manifest(user_dir / "manifests", "a.toml", '[[entries]]\nsource = ".x"\nkind = "file"\n')
    write_manifest(
        workspace / ".containai" / "manifests",
        "a.toml",
        '[[entries]]\nsource = ".x"\nkind = "file"\nenabled = false\n',
    )
    assert by_source(load(user_dir, workspace))[".x"].enabled is False


def test_a_home_relative_source_with_a_tilde_is_accepted(user_dir: Path) -> None:
    write_manifest(
        user_dir / "manifests", "t.toml", '[[entries]]\nsource = "~/.tilderc"\nkind = "file"\n'
    )
    assert ".tilderc" in by_source(load(user_dir))


# --- broken manifests are reported and skipped ----------------------------------------------

GOOD_ENTRY = '[[entries]]\nsource = ".good"\nkind = "file"\n'


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("[[entries]\nsource = \n", id="bad-toml"),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "file"\nsecrett = true\n', id="unknown-entry-key"
        ),
        pytest.param('[entries]\nsource = ".x"\n', id="entries-not-an-array"),
        pytest.param('version = 2\n[[entries]]\nsource = ".x"\nkind = "file"\n', id="unknown-top"),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "../escape"\n', id="dotdot-target"
        ),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "a/../../b"\n',
            id="dotdot-inside-target",
        ),
        pytest.param('[[entries]]\nsource = "/etc/passwd"\nkind = "file"\n', id="absolute-source"),
        pytest.param('[[entries]]\nsource = "../x"\nkind = "file"\n', id="dotdot-source"),
        pytest.param('[[entries]]\nsource = ".x"\nkind = "file"\nlink = "/x"\n', id="abs-link"),
        pytest.param('[[entries]]\nsource = ".x"\nkind = "socket"\n', id="bad-kind"),
        pytest.param('[[entries]]\nsource = ".x"\n', id="missing-kind"),
        pytest.param('[[entries]]\nkind = "file"\n', id="missing-source"),
        pytest.param('[[entries]]\nsource = ""\nkind = "file"\n', id="empty-source"),
        pytest.param('[[entries]]\nsource = "."\nkind = "dir"\n', id="the-home-itself"),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "file"\nsecret = "yes"\n', id="string-for-bool"
        ),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "file"\ntransform = "rot13"\n',
            id="unknown-transform",
        ),
        pytest.param(
            '[[entries]]\nsource = ".x"\nkind = "dir"\nexcludes = "a"\n', id="excludes-not-a-list"
        ),
        pytest.param(b'[[entries]]\nsource = "\xff"\nkind = "file"\n', id="not-utf8"),
    ],
)
def test_a_broken_user_manifest_is_skipped_with_a_warning_naming_the_file(
    user_dir: Path, text: str | bytes
) -> None:
    folder = user_dir / "manifests"
    folder.mkdir(parents=True)
    broken = folder / "broken.toml"
    if isinstance(text, bytes):
        broken.write_bytes(text)
    else:
        broken.write_text(text)
    write_manifest(folder, "good.toml", GOOD_ENTRY)
    loaded = load(user_dir)
    assert len(loaded.warnings) == 1
    assert str(broken) in loaded.warnings[0]
    assert "\n" not in loaded.warnings[0]
    sources = by_source(loaded)
    assert ".x" not in sources
    assert ".good" in sources
    assert ".gitconfig" in sources


def test_a_broken_manifest_skips_its_good_entries_too(user_dir: Path) -> None:
    write_manifest(
        user_dir / "manifests",
        "mixed.toml",
        GOOD_ENTRY + '[[entries]]\nsource = "/abs"\nkind = "file"\n',
    )
    loaded = load(user_dir)
    assert ".good" not in by_source(loaded)
    assert "mixed.toml" in loaded.warnings[0]


def test_a_broken_project_manifest_is_skipped_with_a_warning(
    user_dir: Path, tmp_path: Path
) -> None:
    broken = write_manifest(tmp_path / "p" / ".containai" / "manifests", "x.toml", "nope nope\n")
    loaded = load(user_dir, tmp_path / "p")
    assert str(broken) in loaded.warnings[0]


def test_a_manifest_error_names_the_entry(tmp_path: Path) -> None:
    path = write_manifest(
        tmp_path, "m.toml", GOOD_ENTRY + '[[entries]]\nsource = ".y"\nkind = "file"\nbad = 1\n'
    )
    with pytest.raises(ConfigError) as caught:
        manifest.parse_file(path)
    assert f"{path} entry 2" in str(caught.value)
    assert "'bad'" in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (".claude.json", ".claude.json"),
        ("~/.claude.json", ".claude.json"),
        ("./.config//gh/", ".config/gh"),
    ],
    ids=["plain", "tilde", "untidy"],
)
def test_relative_path_cleans_a_home_relative_path(text: str, expected: str) -> None:
    assert manifest.relative_path(text, "source") == expected


@pytest.mark.parametrize(
    "text", ["/etc/passwd", "../up", "a/../../up", "", ".", "a\nb", "a\0b"], ids=repr
)
def test_relative_path_refuses_a_path_leaving_home(text: str) -> None:
    with pytest.raises(ConfigError):
        manifest.relative_path(text, "source")


def test_an_untrusted_project_manifest_is_not_read(user_dir: Path, tmp_path: Path) -> None:
    from containai import project

    workspace = tmp_path / "p"
    write_manifest(workspace / ".containai" / "manifests", "x.toml", GOOD_ENTRY)
    untrusted = manifest.load(project.load(workspace), user_config_dir=user_dir)
    assert ".good" not in by_source(untrusted)
    assert by_source(load(user_dir, workspace))[".good"].from_project


def test_a_project_entry_keeps_the_flags_of_the_entry_it_replaces_for_the_rules(
    user_dir: Path, tmp_path: Path
) -> None:
    workspace = tmp_path / "p"
    replacing = '[[entries]]\nsource = ".claude.json"\nkind = "file"\nsecret = false\n'
    write_manifest(workspace / ".containai" / "manifests", "x.toml", replacing)
    loaded = load(user_dir, workspace)
    assert by_source(loaded)[".claude.json"].secret is False  # the effective entry
    layered = [e for e in loaded.layered if e.source == ".claude.json"]
    assert [e.secret for e in layered] == [True, False]  # the rules still see the packaged one
