"""containai.host.scan over temporary directories: what the host offers, and why not."""

from __future__ import annotations

import os
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from pathspec import GitIgnoreSpec

from containai.host.candidates import Candidate, HostScan, ScanOptions
from containai.host.excludes import Excludes, Rule, under
from containai.host.manifest import Entry
from containai.host.scan import scan
from containai.resources import packaged_settings
from tests.support.files import new_dir, write_files, write_linked_skills

SAFE = "/home/agent/workspace"
PACKAGED = tomllib.loads(packaged_settings().read_text())
SECRET_PATTERNS = PACKAGED["import"]["secret_patterns"]
DEFAULT_EXCLUDES = PACKAGED["import"]["default_excludes"]


def entry(source: str, kind: str = "file", **flags: Any) -> Entry:
    target = flags.pop("target", source)
    return Entry(
        tool="test", source=source, kind=kind, target=target, link=source, origin="test", **flags
    )


def fake_placeholder(name: str) -> bytes:
    return f"<{name}>".encode()


def options(root: Path, **changes: Any) -> ScanOptions:
    base = ScanOptions(
        source_root=root,
        from_home=True,
        secrets=True,
        excludes=Excludes([]),
        private=Excludes([]),
        secret_patterns=GitIgnoreSpec.from_lines(SECRET_PATTERNS),
        opted_in=frozenset(),
        safe_directory=SAFE,
        environ={},
        placeholder=fake_placeholder,
    )
    return replace(base, **changes)


def by_path(result: HostScan) -> dict[str, Candidate]:
    return {candidate.path: candidate for candidate in result.candidates}


def skipped(result: HostScan) -> dict[str, tuple[str, str]]:
    return {skip.path: (skip.action, skip.detail) for skip in result.skipped}


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """The source root of a scan (not the fake HOME of the other unit tests)."""
    return new_dir(tmp_path / "src")


# -- files -------------------------------------------------------------------------------------


def test_a_present_file_becomes_a_candidate_with_its_mode_mtime_and_size(home: Path) -> None:
    write_files(home, {".vimrc": "set nu\n"})
    (home / ".vimrc").chmod(0o640)
    os.utime(home / ".vimrc", (1_600_000_000, 1_600_000_000))

    result = scan([entry(".vimrc")], options(home))

    candidate = by_path(result)[".vimrc"]
    assert (candidate.kind, candidate.mode, candidate.size) == ("file", 0o640, 7)
    assert candidate.mtime == 1_600_000_000
    assert candidate.source == str(home / ".vimrc")
    assert candidate.content is None
    assert not candidate.secret and not candidate.placeholder
    assert result.failures == [] and result.skipped == []


def test_a_file_goes_to_its_entry_target(home: Path) -> None:
    write_files(home, {".tmux.conf": "set -g mouse on\n"})

    result = scan([entry(".tmux.conf", target=".config/tmux/tmux.conf")], options(home))

    assert list(by_path(result)) == [".config/tmux/tmux.conf"]


def test_a_secret_entry_is_imported_0600_whatever_its_host_mode(home: Path) -> None:
    write_files(home, {".config/gh/hosts.yml": "token\n"})
    (home / ".config/gh/hosts.yml").chmod(0o644)

    result = scan([entry(".config/gh/hosts.yml", secret=True)], options(home))

    candidate = by_path(result)[".config/gh/hosts.yml"]
    assert (candidate.mode, candidate.secret) == (0o600, True)


def test_no_secrets_skips_a_secret_entry(home: Path) -> None:
    write_files(home, {".claude.json": "{}"})

    result = scan([entry(".claude.json", secret=True, json=True)], options(home, secrets=False))

    assert result.candidates == []
    assert skipped(result) == {".claude.json": ("skip:secret", "--no-secrets")}


# -- missing sources ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "kind"),
    [({}, "file"), ({"json": True}, "file"), ({"secret": True}, "file"), ({}, "dir")],
    ids=["plain-file", "json-file", "secret-file", "directory"],
)
def test_a_missing_optional_source_is_skip_missing(
    flags: dict[str, bool], kind: str, home: Path
) -> None:
    result = scan([entry(".gemini/x", kind, optional=True, **flags)], options(home))

    assert result.candidates == []
    assert skipped(result) == {".gemini/x": ("skip:missing", "optional")}


def test_a_missing_plain_file_is_skip_missing_without_a_placeholder(home: Path) -> None:
    result = scan([entry(".zshrc")], options(home))

    assert result.candidates == []
    assert skipped(result)[".zshrc"][0] == "skip:missing"


def test_a_missing_json_file_becomes_a_json_placeholder(home: Path) -> None:
    result = scan([entry(".claude/settings.json", json=True)], options(home))

    candidate = by_path(result)[".claude/settings.json"]
    assert candidate.placeholder and not candidate.credential and not candidate.secret
    assert candidate.content == b"<placeholders/json.j2>"
    assert (candidate.mode, candidate.size) == (0o644, len(candidate.content))


def test_a_missing_secret_json_file_becomes_a_private_json_placeholder(home: Path) -> None:
    result = scan([entry(".claude.json", secret=True, json=True)], options(home))

    candidate = by_path(result)[".claude.json"]
    assert candidate.content == b"<placeholders/json.j2>"
    assert (candidate.mode, candidate.secret, candidate.placeholder) == (0o600, True, True)


def test_a_missing_secret_file_becomes_an_empty_private_placeholder(home: Path) -> None:
    result = scan([entry(".local/share/opencode/auth.json", secret=True)], options(home))

    candidate = by_path(result)[".local/share/opencode/auth.json"]
    assert candidate.content == b"<placeholders/secret.j2>"
    assert (candidate.mode, candidate.secret, candidate.placeholder) == (0o600, True, True)


def test_a_missing_directory_becomes_a_directory_placeholder(home: Path) -> None:
    result = scan([entry(".claude/agents", "dir")], options(home))

    candidate = by_path(result)[".claude/agents"]
    assert (candidate.kind, candidate.mode, candidate.placeholder) == ("dir", 0o755, True)


# -- credentials -------------------------------------------------------------------------------

CREDENTIAL = entry(".claude/.credentials.json", secret=True, credential=True)


def test_a_credential_in_home_becomes_a_credential_placeholder(home: Path) -> None:
    write_files(home, {".claude/.credentials.json": "TOKEN"})

    result = scan([CREDENTIAL], options(home))

    candidate = by_path(result)[".claude/.credentials.json"]
    assert (candidate.placeholder, candidate.credential, candidate.mode) == (True, True, 0o600)
    assert candidate.source is None
    assert candidate.content == b"<placeholders/secret.j2>"


def test_a_credential_missing_from_home_is_a_credential_placeholder_too(home: Path) -> None:
    result = scan([CREDENTIAL], options(home))

    assert by_path(result)[".claude/.credentials.json"].credential


def test_an_opted_in_credential_is_copied_from_home(home: Path) -> None:
    write_files(home, {".claude/.credentials.json": "TOKEN"})
    opted = frozenset({".claude/.credentials.json"})

    result = scan([CREDENTIAL], options(home, opted_in=opted))

    candidate = by_path(result)[".claude/.credentials.json"]
    assert (candidate.placeholder, candidate.credential) == (False, False)
    assert (candidate.source, candidate.mode, candidate.secret) == (
        str(home / ".claude/.credentials.json"),
        0o600,
        True,
    )


def test_a_credential_in_a_backup_directory_is_copied(home: Path) -> None:
    write_files(home, {".claude/.credentials.json": "TOKEN"})

    result = scan([CREDENTIAL], options(home, from_home=False))

    candidate = by_path(result)[".claude/.credentials.json"]
    assert candidate.source == str(home / ".claude/.credentials.json")
    assert not candidate.placeholder


def test_no_secrets_skips_a_credential_without_a_placeholder(home: Path) -> None:
    write_files(home, {".claude/.credentials.json": "TOKEN"})

    result = scan([CREDENTIAL], options(home, secrets=False))

    assert result.candidates == []
    assert skipped(result)[".claude/.credentials.json"][0] == "skip:secret"


# -- directories, excludes, priv ---------------------------------------------------------------


def test_a_directory_is_walked_in_order_with_its_modes(home: Path) -> None:
    write_files(home, {".claude/skills/b.md": "b", ".claude/skills/a/x.md": "x"})
    (home / ".claude/skills/a").chmod(0o750)

    result = scan([entry(".claude/skills", "dir")], options(home))

    assert [(c.path, c.kind) for c in result.candidates] == [
        (".claude/skills", "dir"),
        (".claude/skills/b.md", "file"),
        (".claude/skills/a", "dir"),
        (".claude/skills/a/x.md", "file"),
    ]
    assert by_path(result)[".claude/skills/a"].mode == 0o750


def test_a_directory_entry_maps_its_tree_to_the_target(home: Path) -> None:
    write_files(home, {".vscode-server/data/Machine/settings.json": "{}"})
    mapped = entry(".vscode-server/data/Machine", "dir", target="vscode/machine")

    result = scan([mapped], options(home))

    assert list(by_path(result)) == ["vscode/machine", "vscode/machine/settings.json"]


def test_global_excludes_skip_subtrees_and_files_and_name_the_rule(home: Path) -> None:
    write_files(
        home,
        {
            ".claude/skills/keep.md": "k",
            ".claude/skills/big/model.bin": "m",
            ".claude/skills/tool/node_modules/dep/index.js": "j",
            ".claude/skills/notes.log": "l",
        },
    )
    excludes = Excludes(
        [
            Rule("excludes", (".claude/skills/big/", "*.log")),
            Rule("import.default_excludes", tuple(DEFAULT_EXCLUDES)),
        ]
    )

    result = scan([entry(".claude/skills", "dir")], options(home, excludes=excludes))

    assert set(by_path(result)) == {
        ".claude/skills",
        ".claude/skills/keep.md",
        ".claude/skills/tool",
    }
    assert skipped(result) == {
        ".claude/skills/big": ("skip:excluded", "excludes"),
        ".claude/skills/notes.log": ("skip:excluded", "excludes"),
        ".claude/skills/tool/node_modules": ("skip:excluded", "import.default_excludes"),
    }


def test_an_excluded_entry_is_skipped_whole(home: Path) -> None:
    write_files(home, {".claude/projects/p/s.jsonl": "{}"})
    excludes = Excludes([Rule("import.default_excludes", tuple(DEFAULT_EXCLUDES))])

    result = scan([entry(".claude/projects", "dir")], options(home, excludes=excludes))

    assert result.candidates == []
    assert skipped(result) == {".claude/projects": ("skip:excluded", "import.default_excludes")}


def test_an_entry_s_own_excludes_are_relative_to_the_entry(home: Path) -> None:
    write_files(home, {".codex/skills/.system/x": "x", ".codex/skills/mine/y": "y"})
    codex = entry(".codex/skills", "dir", excludes=(".system/",))

    result = scan([codex], options(home))

    assert ".codex/skills/mine/y" in by_path(result)
    assert skipped(result) == {
        ".codex/skills/.system": ("skip:excluded", "excludes of ~/.codex/skills")
    }


def test_priv_files_are_skipped_by_the_private_rule(home: Path) -> None:
    write_files(
        home,
        {
            ".bashrc.d/normal.sh": "a",
            ".bashrc.d/secrets.priv.sh": "b",
            ".bashrc.d/work.priv.stuff.sh": "c",
        },
    )
    private = Excludes([Rule("exclude_priv", under(".bashrc.d", ["*.priv.*"]))])

    result = scan([entry(".bashrc.d", "dir", exclude_priv=True)], options(home, private=private))

    assert set(by_path(result)) == {".bashrc.d", ".bashrc.d/normal.sh"}
    assert {path: action for path, (action, _) in skipped(result).items()} == {
        ".bashrc.d/secrets.priv.sh": "skip:excluded",
        ".bashrc.d/work.priv.stuff.sh": "skip:excluded",
    }


# -- secret patterns ---------------------------------------------------------------------------


def test_secret_patterns_mark_files_inside_an_opted_in_directory(home: Path) -> None:
    write_files(
        home,
        {
            ".ssh/id_ed25519": "KEY",
            ".ssh/id_ed25519.pub": "PUB",
            ".ssh/config": "Host x",
            ".ssh/known_hosts": "h",
            ".ssh/deploy.pem": "PEM",
        },
    )
    for name in ("id_ed25519", "id_ed25519.pub", "config", "known_hosts", "deploy.pem"):
        (home / ".ssh" / name).chmod(0o644)

    result = scan([entry(".ssh", "dir")], options(home))

    modes = {c.path: (c.secret, c.mode) for c in result.candidates if c.kind == "file"}
    assert modes == {
        ".ssh/id_ed25519": (True, 0o600),
        ".ssh/deploy.pem": (True, 0o600),
        ".ssh/id_ed25519.pub": (False, 0o644),
        ".ssh/config": (False, 0o644),
        ".ssh/known_hosts": (False, 0o644),
    }


def test_no_secrets_skips_pattern_secrets_inside_a_directory(home: Path) -> None:
    write_files(home, {".ssh/id_ed25519": "KEY", ".ssh/config": "Host x"})

    result = scan([entry(".ssh", "dir")], options(home, secrets=False))

    assert ".ssh/id_ed25519" not in by_path(result)
    assert ".ssh/config" in by_path(result)
    assert skipped(result) == {".ssh/id_ed25519": ("skip:secret", "--no-secrets")}


def test_a_secret_entry_inside_a_scanned_directory_stays_a_secret(home: Path) -> None:
    # ~/.config/gh opted in as a directory: hosts.yml in it is still the manifest's secret.
    write_files(home, {".config/gh/hosts.yml": "TOKEN", ".config/gh/config.yml": "a: b"})
    (home / ".config/gh/hosts.yml").chmod(0o644)
    entries = [entry(".config/gh/hosts.yml", secret=True), entry(".config/gh", "dir")]

    shown = scan(entries, options(home))
    hidden = scan(entries, options(home, secrets=False))

    modes = [oct(c.mode) for c in shown.candidates if c.path == ".config/gh/hosts.yml"]
    assert modes and set(modes) == {oct(0o600)}, modes
    assert [c.path for c in hidden.candidates if c.path == ".config/gh/hosts.yml"] == []


def test_a_secret_directory_entry_makes_everything_in_it_private(home: Path) -> None:
    write_files(home, {".kimi/a/b.toml": "x"})

    result = scan([entry(".kimi", "dir", secret=True)], options(home))

    assert {(c.path, c.mode, c.secret) for c in result.candidates} == {
        (".kimi", 0o700, True),
        (".kimi/a", 0o700, True),
        (".kimi/a/b.toml", 0o600, True),
    }


# -- git config --------------------------------------------------------------------------------


def test_the_gitconfig_entry_is_filtered_content_not_a_copy(home: Path) -> None:
    write_files(home, {".gitconfig": "[user]\n\tname = Ada\n[credential]\n\thelper = store\n"})
    os.utime(home / ".gitconfig", (1_600_000_000, 1_600_000_000))

    result = scan([entry(".gitconfig", transform="gitconfig")], options(home))

    candidate = by_path(result)[".gitconfig"]
    assert candidate.source is None and candidate.content is not None
    assert b"name = Ada" in candidate.content
    assert b"helper" not in candidate.content
    assert candidate.content.endswith(f"[safe]\n\tdirectory = {SAFE}\n".encode())
    assert (candidate.size, candidate.mtime) == (len(candidate.content), 1_600_000_000)


def test_the_gitconfig_comes_from_git_config_global_when_importing_home(home: Path) -> None:
    write_files(
        home, {".gitconfig": "[user]\n\tname = Home\n", "elsewhere": "[user]\n\tname = G\n"}
    )
    environ = {"GIT_CONFIG_GLOBAL": str(home / "elsewhere")}

    result = scan([entry(".gitconfig", transform="gitconfig")], options(home, environ=environ))
    backup = scan(
        [entry(".gitconfig", transform="gitconfig")],
        options(home, environ=environ, from_home=False),
    )

    assert b"name = G" in by_path(result)[".gitconfig"].content  # type: ignore[operator]
    assert b"name = Home" in by_path(backup)[".gitconfig"].content  # type: ignore[operator]


def test_without_a_gitconfig_the_volume_still_gets_the_safe_directory(home: Path) -> None:
    result = scan([entry(".gitconfig", transform="gitconfig")], options(home))

    assert by_path(result)[".gitconfig"].content == f"[safe]\n\tdirectory = {SAFE}\n".encode()


# -- wrong types and failures ------------------------------------------------------------------


def test_a_fifo_where_a_file_is_expected_is_a_failure_for_that_path(home: Path) -> None:
    write_files(home, {".vimrc": "set nu\n"})
    (home / ".claude").mkdir()
    os.mkfifo(home / ".claude/CLAUDE.md")

    result = scan([entry(".claude/CLAUDE.md"), entry(".vimrc")], options(home))

    assert [(f.path, f.reason) for f in result.failures] == [
        ("~/.claude/CLAUDE.md", "expected a file, found not a regular file")
    ]
    assert list(by_path(result)) == [".vimrc"]


def test_a_directory_where_a_file_is_expected_is_a_failure(home: Path) -> None:
    (home / ".claude/CLAUDE.md").mkdir(parents=True)

    result = scan([entry(".claude/CLAUDE.md")], options(home))

    assert [(f.path, f.reason) for f in result.failures] == [
        ("~/.claude/CLAUDE.md", "expected a file, found a directory")
    ]
    assert result.candidates == []


def test_a_file_where_a_directory_is_expected_is_a_failure(home: Path) -> None:
    write_files(home, {".claude/skills": "not a folder"})

    result = scan([entry(".claude/skills", "dir")], options(home))

    assert [(f.path, f.reason) for f in result.failures] == [
        ("~/.claude/skills", "expected a directory")
    ]


def test_a_fifo_inside_a_directory_fails_only_that_file(home: Path) -> None:
    write_files(home, {".claude/skills/a.md": "a"})
    os.mkfifo(home / ".claude/skills/pipe")

    result = scan([entry(".claude/skills", "dir")], options(home))

    assert [f.path for f in result.failures] == ["~/.claude/skills/pipe"]
    assert ".claude/skills/a.md" in by_path(result)


def test_failures_from_a_backup_directory_name_the_real_path(home: Path) -> None:
    (home / ".claude/CLAUDE.md").mkdir(parents=True)

    result = scan([entry(".claude/CLAUDE.md")], options(home, from_home=False))

    assert [f.path for f in result.failures] == [str(home / ".claude/CLAUDE.md")]


# -- symlinks ----------------------------------------------------------------------------------


def test_an_entry_that_is_a_symlink_to_a_directory_is_followed(home: Path) -> None:
    write_files(home, {"dotfiles/nvim/init.lua": "x", "dotfiles/nvim/lua/p.lua": "y"})
    (home / ".config").mkdir()
    (home / ".config/nvim").symlink_to(home / "dotfiles/nvim")

    result = scan([entry(".config/nvim", "dir")], options(home))

    assert {(c.path, c.kind) for c in result.candidates} == {
        (".config/nvim", "dir"),
        (".config/nvim/init.lua", "file"),
        (".config/nvim/lua", "dir"),
        (".config/nvim/lua/p.lua", "file"),
    }


def test_an_entry_that_is_a_symlink_to_a_file_is_followed(home: Path) -> None:
    write_files(home, {"dotfiles/vimrc": "set nu\n"})
    (home / ".vimrc").symlink_to("dotfiles/vimrc")

    result = scan([entry(".vimrc")], options(home))

    candidate = by_path(result)[".vimrc"]
    assert (candidate.kind, candidate.size) == ("file", 7)


def test_symlinks_inside_a_directory_are_candidates_not_followed(home: Path) -> None:
    skills = home / ".claude/skills"
    write_linked_skills(skills)
    (skills / "up").symlink_to("..")  # a link to a directory must not be walked into

    result = scan([entry(".claude/skills", "dir")], options(home))

    links = {c.path: c.linkname for c in result.candidates if c.kind == "symlink"}
    assert links == {
        ".claude/skills/relative": "real.md",
        ".claude/skills/inside": "real.md",
        ".claude/skills/sub/inside": "../real.md",
        ".claude/skills/outside": "/etc/hostname",
        ".claude/skills/up": "..",
    }
    assert len(result.warnings) == 1
    assert "/etc/hostname" in result.warnings[0]
    assert "~/.claude/skills/outside" in result.warnings[0]


def test_a_symlink_loop_inside_a_directory_does_not_hang_or_crash(home: Path) -> None:
    skills = home / ".claude/skills"
    skills.mkdir(parents=True)
    (skills / "a").symlink_to("b")
    (skills / "b").symlink_to("a")
    (skills / "self").symlink_to(skills)

    result = scan([entry(".claude/skills", "dir")], options(home))

    assert {c.path: c.kind for c in result.candidates} == {
        ".claude/skills": "dir",
        ".claude/skills/a": "symlink",
        ".claude/skills/b": "symlink",
        ".claude/skills/self": "symlink",
    }
    assert result.failures == []


@pytest.mark.parametrize("kind", ["file", "dir"])
def test_an_entry_that_is_a_symlink_loop_is_a_failure_not_a_crash(kind: str, home: Path) -> None:
    (home / ".config").mkdir()
    (home / ".config/nvim").symlink_to("nvim2")
    (home / ".config/nvim2").symlink_to("nvim")

    result = scan([entry(".config/nvim", kind), entry(".vimrc", json=True)], options(home))

    assert [f.path for f in result.failures] == ["~/.config/nvim"]
    assert "symbolic links" in result.failures[0].reason or "loop" in result.failures[0].reason
    assert ".vimrc" in by_path(result)


def test_a_dangling_entry_symlink_is_a_missing_source(home: Path) -> None:
    (home / ".vimrc").symlink_to("nowhere")

    result = scan([entry(".vimrc", optional=True)], options(home))

    assert result.failures == []
    assert skipped(result) == {".vimrc": ("skip:missing", "optional")}


def test_absolute_links_in_a_mapped_directory_point_at_the_copied_file(home: Path) -> None:
    # The volume path differs from the host path (a manifest target): a link into the same
    # tree must still resolve to the copy in the volume.
    write_files(home, {".dotfiles/nvim/init.lua": "x", ".dotfiles/nvim/lua/main.lua": "y"})
    (home / ".dotfiles/nvim/lua/init").symlink_to(home / ".dotfiles/nvim/init.lua")
    mapped = entry(".dotfiles/nvim", "dir", target=".config/nvim")

    result = scan([mapped], options(home))

    assert by_path(result)[".config/nvim/lua/init"].linkname == "../init.lua"


def test_absolute_links_in_a_followed_entry_symlink_point_at_the_copied_file(home: Path) -> None:
    # stow: ~/.config/nvim -> ~/dotfiles/nvim, and a link inside to another file of that tree.
    write_files(home, {"dotfiles/nvim/init.lua": "x", "dotfiles/nvim/lua/main.lua": "y"})
    (home / "dotfiles/nvim/lua/init").symlink_to(home / "dotfiles/nvim/init.lua")
    (home / ".config").mkdir()
    (home / ".config/nvim").symlink_to(home / "dotfiles/nvim")

    result = scan([entry(".config/nvim", "dir")], options(home))

    assert by_path(result)[".config/nvim/lua/init"].linkname == "../init.lua"


# -- the hostile cases: symlinks that leave the source, protected paths, project entries -------


@pytest.fixture
def keys(home: Path) -> Path:
    write_files(home, {".ssh/id_ed25519": "PRIVATE KEY\n", ".ssh/id_ed25519.pub": "ssh-ed25519\n"})
    return home / ".ssh/id_ed25519"


PROTECTED = (".ssh", ".gnupg", ".aws")


def test_a_symlink_out_of_the_source_root_is_skipped_and_never_read(
    home: Path, tmp_path: Path, keys: Path
) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / ".claude.json").symlink_to(keys)  # --from DIR: a link back into the real home
    (backup / ".gitconfig").symlink_to("/etc/shadow")

    result = scan(
        [entry(".claude.json", secret=True, json=True), entry(".gitconfig", transform="gitconfig")],
        options(backup, from_home=False),
    )

    assert result.candidates == []
    assert skipped(result)[".claude.json"][0] == "skip:symlink-outside"
    assert skipped(result)[".gitconfig"][0] == "skip:symlink-outside"


def test_a_symlink_to_etc_shadow_in_the_home_is_skipped(home: Path) -> None:
    (home / ".claude.json").symlink_to("/etc/shadow")
    result = scan([entry(".claude.json", secret=True, json=True)], options(home))
    assert skipped(result)[".claude.json"][0] == "skip:symlink-outside"
    assert result.candidates == [] and result.failures == []


def test_a_directory_entry_linked_to_a_protected_path_is_skipped(home: Path, keys: Path) -> None:
    (home / ".bashrc.d").symlink_to(".ssh")
    result = scan([entry(".bashrc.d", "dir")], options(home, protected=PROTECTED))
    assert result.candidates == []
    assert skipped(result)[".bashrc.d"][0] == "skip:opt-in"


def test_a_file_entry_linked_to_a_key_is_skipped_unless_opted_in(home: Path, keys: Path) -> None:
    (home / ".claude.json").symlink_to(".ssh/id_ed25519")
    skipped_scan = scan([entry(".claude.json")], options(home, protected=PROTECTED))
    assert skipped(skipped_scan)[".claude.json"][0] == "skip:opt-in"
    opted = options(home, protected=PROTECTED, opted_in=frozenset({".ssh"}))
    candidate = by_path(scan([entry(".claude.json")], opted))[".claude.json"]
    # Judged by what it reaches: an SSH private key, hence a secret.
    assert (candidate.secret, candidate.mode) == (True, 0o600)


def test_a_project_entry_cannot_copy_a_key_under_another_name(home: Path, keys: Path) -> None:
    hostile = entry(".ssh/id_ed25519", target="notes/readme.txt", secret=False, from_project=True)
    result = scan([hostile], options(home, protected=PROTECTED))
    assert result.candidates == []
    assert skipped(result)["notes/readme.txt"][0] == "skip:opt-in"


def test_a_project_entry_renaming_a_secret_keeps_it_secret(home: Path) -> None:
    write_files(home, {".claude.json": '{"token": "x"}'})
    packaged = entry(".claude.json", secret=True, json=True)
    renamed = entry(".claude.json", target="notes/x.json", secret=False, from_project=True)
    result = scan([renamed], options(home, known=(packaged, renamed)))
    candidate = by_path(result)["notes/x.json"]
    assert (candidate.secret, candidate.mode) == (True, 0o600)
    no_secrets = scan([renamed], options(home, known=(packaged, renamed), secrets=False))
    assert skipped(no_secrets)["notes/x.json"][0] == "skip:secret"


def test_a_project_entry_cannot_turn_a_credential_into_a_file(home: Path) -> None:
    write_files(home, {".codex/auth.json": '{"token": "x"}'})
    packaged = entry(".codex/auth.json", secret=True, credential=True, json=True)
    renamed = entry(".codex/auth.json", target="a.json", credential=False, from_project=True)
    candidate = by_path(scan([renamed], options(home, known=(packaged, renamed))))["a.json"]
    assert candidate.credential and candidate.placeholder and candidate.source is None


def test_a_project_directory_entry_over_a_protected_tree_copies_nothing_of_it(
    home: Path, keys: Path
) -> None:
    write_files(home, {".ssh/config": "Host x\n"})
    hostile = entry(".ssh", "dir", target="public", from_project=True)
    result = scan([hostile], options(home, protected=PROTECTED))
    assert result.candidates == []


def test_a_file_in_a_tree_renamed_by_a_project_keeps_its_secret_flag(home: Path) -> None:
    write_files(home, {".config/gh/hosts.yml": "oauth_token: x\n", ".config/gh/config.yml": ""})
    packaged = entry(".config/gh/hosts.yml", secret=True)
    renamed = entry(".config/gh", "dir", target="gh-copy", from_project=True)
    found = by_path(scan([renamed], options(home, known=(packaged, renamed))))
    assert found["gh-copy/hosts.yml"].secret and found["gh-copy/hosts.yml"].mode == 0o600
    assert not found["gh-copy/config.yml"].secret


def test_a_symlink_inside_the_source_to_an_excluded_path_is_skipped(home: Path) -> None:
    write_files(home, {".cache/token": "x"})
    (home / ".notes").symlink_to(".cache/token")
    excludes = Excludes([Rule("default_excludes", (".cache/",))])
    result = scan([entry(".notes")], options(home, excludes=excludes))
    assert skipped(result)[".notes"][0] == "skip:excluded"


def test_the_gitconfig_filter_reports_each_dropped_key_never_its_value(home: Path) -> None:
    write_files(
        home,
        {
            ".gitconfig": "[http]\n\textraHeader = AUTHORIZATION: bearer SECRET1\n[github]\n"
            "\ttoken = SECRET2\n[user]\n\tname = Dev\n"
        },
    )
    result = scan([entry(".gitconfig", transform="gitconfig")], options(home))
    content = by_path(result)[".gitconfig"].content or b""
    assert b"SECRET" not in content and b"name = Dev" in content
    assert any("dropped http.extraheader" in w for w in result.warnings)
    assert any("dropped github.token" in w for w in result.warnings)
    assert not any("SECRET" in w for w in result.warnings)
