"""The sync manifest: the packaged entries, and user/project manifests layered on top."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from containai.errors import ConfigError
from containai.host import manifest
from containai.host.manifest import Entry, Manifest
from containai.resources import packaged_manifest
from tests.support.cai import run_cai
from tests.support.files import CREDENTIALS, SEED_SECRETS, trust
from tests.support.params import cases
from tests.unit.config_files import (
    ENGINE_LINE,
    NO_ENGINE,
    SCAN_ONLY,
    Untouched,
    tree,
    warned,
    write_trusted,
)

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


@pytest.fixture
def packaged() -> dict[str, Entry]:
    return {entry.source: entry for entry in manifest.parse_file(packaged_manifest())}


def write_manifest(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def entry_toml(**keys: str | bool) -> str:
    """One ``[[entries]]`` table of a manifest, its keys in the order given."""
    return "[[entries]]\n" + "".join(
        f"{key} = {json.dumps(value)}\n" for key, value in keys.items()
    )


def user_manifest(user_dir: Path, name: str, **keys: str | bool) -> Path:
    """A user manifest ``name`` of one entry."""
    return write_manifest(user_dir / "manifests", name, entry_toml(**keys))


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


@pytest.mark.parametrize("source", SEED_SECRETS, ids=str)
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
    user_manifest(user_dir, "team.toml", tool="team", source=".teamrc", kind="file", secret=True)
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
    keys = {"tool": "git", "source": ".gitconfig", "kind": "file", "target": "git/config"}
    user_manifest(user_dir, "override.toml", **keys)
    entries = [e for e in load(user_dir).entries if e.source == ".gitconfig"]
    assert len(entries) == 1
    assert entries[0].target == "git/config"
    assert entries[0].transform is None


def test_a_user_manifest_disables_a_packaged_entry(user_dir: Path) -> None:
    user_manifest(user_dir, "off.toml", source=".config/gh/hosts.yml", kind="file", enabled=False)
    loaded = load(user_dir)
    assert by_source(loaded)[".config/gh/hosts.yml"].enabled is False
    assert ".config/gh/hosts.yml" not in {entry.source for entry in loaded.enabled()}


def test_a_user_manifest_enables_the_ssh_config(user_dir: Path) -> None:
    user_manifest(user_dir, "ssh.toml", tool="ssh", source=".ssh/config", kind="file")
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
    cases(
        {
            "bad-toml": ("[[entries]\nsource = \n",),
            "unknown-entry-key": ('[[entries]]\nsource = ".x"\nkind = "file"\nsecrett = true\n',),
            "entries-not-an-array": ('[entries]\nsource = ".x"\n',),
            "unknown-top": ('version = 2\n[[entries]]\nsource = ".x"\nkind = "file"\n',),
            "dotdot-target": ('[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "../escape"\n',),
            "dotdot-inside-target": (
                '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "a/../../b"\n',
            ),
            "absolute-source": ('[[entries]]\nsource = "/etc/passwd"\nkind = "file"\n',),
            "dotdot-source": ('[[entries]]\nsource = "../x"\nkind = "file"\n',),
            "abs-link": ('[[entries]]\nsource = ".x"\nkind = "file"\nlink = "/x"\n',),
            "bad-kind": ('[[entries]]\nsource = ".x"\nkind = "socket"\n',),
            "missing-kind": ('[[entries]]\nsource = ".x"\n',),
            "missing-source": ('[[entries]]\nkind = "file"\n',),
            "empty-source": ('[[entries]]\nsource = ""\nkind = "file"\n',),
            "the-home-itself": ('[[entries]]\nsource = "."\nkind = "dir"\n',),
            "string-for-bool": ('[[entries]]\nsource = ".x"\nkind = "file"\nsecret = "yes"\n',),
            "unknown-transform": (
                '[[entries]]\nsource = ".x"\nkind = "file"\ntransform = "rot13"\n',
            ),
            "excludes-not-a-list": ('[[entries]]\nsource = ".x"\nkind = "dir"\nexcludes = "a"\n',),
            "not-utf8": (b'[[entries]]\nsource = "\xff"\nkind = "file"\n',),
        }
    ),
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


# -- through the command line: a broken manifest is a warning ----------------------------------


GOOD_ENTRY = '[[entries]]\nsource = ".good"\nkind = "file"\n'


MANIFEST_PROBLEMS = cases(
    {
        "syntax": (
            '[[entries]\nsource = ".x"\n',
            "invalid TOML",
        ),
        "not-utf8": (
            b'[[entries]]\nsource = "\xff"\nkind = "file"\n',
            "invalid TOML",
        ),
        "top-key": (
            'version = 2\n[[entries]]\nsource = ".x"\nkind = "file"\n',
            "unknown top-level key 'version'",
        ),
        "entries-type": (
            'entries = ".x"\n',
            "'entries' must be an array of tables",
        ),
        "key": (
            '[[entries]]\nsorce = ".x"\nkind = "file"\n',
            "entry 1: unknown key 'sorce'",
        ),
        "no-kind": (
            '[[entries]]\nsource = ".x"\n',
            "entry 1: 'kind' is required",
        ),
        "kind": (
            '[[entries]]\nsource = ".x"\nkind = "link"\n',
            'kind must be "file" or "dir"',
        ),
        "bool": (
            '[[entries]]\nsource = ".x"\nkind = "file"\nsecret = "yes"\n',
            "'secret' must be true or false",
        ),
        "source-type": (
            '[[entries]]\nsource = 3\nkind = "file"\n',
            "'source' must be a string",
        ),
        "excludes": (
            '[[entries]]\nsource = ".x"\nkind = "file"\nexcludes = "*.log"\n',
            "excludes must be a list of strings",
        ),
        "transform": (
            '[[entries]]\nsource = ".x"\nkind = "file"\ntransform = "shell"\n',
            "unknown transform 'shell'",
        ),
        "source-dotdot": (
            '[[entries]]\nsource = "../outside"\nkind = "file"\n',
            "source must not contain '..'",
        ),
        "source-deep-dotdot": (
            '[[entries]]\nsource = ".config/../../outside"\nkind = "dir"\n',
            "source must not contain '..'",
        ),
        "source-absolute": (
            '[[entries]]\nsource = "/etc/passwd"\nkind = "file"\n',
            "source must be relative to the home directory",
        ),
        "source-home": (
            '[[entries]]\nsource = "~"\nkind = "dir"\n',
            "source must name something inside the home directory",
        ),
        "target-dotdot": (
            '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "../escape"\n',
            "target must not contain '..'",
        ),
        "target-deep-dotdot": (
            '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "a/../../escape"\n',
            "target must not contain '..'",
        ),
        "target-absolute": (
            '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "/etc/cron.d/x"\n',
            "target must be relative",
        ),
        "link-dotdot": (
            '[[entries]]\nsource = ".x"\nkind = "file"\nlink = "../../.bashrc"\n',
            "link must not contain '..'",
        ),
    }
)


def manifest_folder(where: str, home: Path, work: Path) -> Path:
    return {
        "user": home / ".config/containai/manifests",
        "project": work / ".containai/manifests",
    }[where]


def with_good_entry(text: str | bytes) -> str | bytes:
    return text + GOOD_ENTRY if isinstance(text, str) and "[[entries]]" in text else text


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(("text", "problem"), MANIFEST_PROBLEMS)
@pytest.mark.parametrize("where", ["user", "project"])
def test_a_bad_manifest_is_one_warning_naming_it_and_skipped(
    where: str, text: str | bytes, problem: str, cai: Any, home: Path, work: Path
) -> None:
    path = write_trusted(manifest_folder(where, home, work) / "team.toml", with_good_entry(text))
    write_trusted(work / ".containai/workflows/import.toml", SCAN_ONLY)
    (home.parent / "outside").write_text("not under $HOME\n")
    untouched = Untouched(home, work)

    result = cai("import", "--dry-run")

    line = warned(result, problem)
    assert line.startswith(f"cai: warning: {path}"), line
    assert line.endswith("(manifest skipped)"), line
    untouched.check()


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(
    ("where", "text", "problem"),
    [
        ("user", '[[entries]]\nsource = "../outside"\nkind = "file"\n', "must not contain '..'"),
        ("project", '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "/x"\n', "relative"),
        ("user", "[[entries]\n", "invalid TOML"),
    ],
    ids=["user-source-dotdot", "project-target-absolute", "user-syntax"],
)
def test_the_real_import_goes_on_past_a_bad_manifest(
    where: str, text: str, problem: str, home: Path, work: Path
) -> None:
    path = write_trusted(manifest_folder(where, home, work) / "team.toml", text)
    before = (tree(home), tree(work))

    # Its own process: an in-process run that reaches the missing engine leaves the SDK's
    # unclosed socket behind.
    result = run_cai(home, "import", "--dry-run", DOCKER_HOST=NO_ENGINE)

    lines = result.err.strip().splitlines()
    assert len(lines) == 2, result.err
    assert lines[0].startswith(f"cai: warning: {path}") and problem in lines[0], lines[0]
    # Past the manifest, on to the engine: exit 1 for the missing engine, not 2.
    assert lines[1].startswith(ENGINE_LINE), result.err
    assert result.code == 1
    after = (tree(home), tree(work))
    assert after[1] == before[1]
    assert {k: v for k, v in after[0].items() if not k.startswith(".cache")} == before[0]
