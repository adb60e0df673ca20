"""containai.plan.make: every path's action, from a hand-built host scan and volume state."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pytest

from containai.host.candidates import Candidate, Failure, HostScan, Skipped
from containai.host.manifest import Entry
from containai.transfer import plan
from containai.transfer.plan import Plan
from containai.transfer.volume_state import Record, VolumeFile, VolumeState

FILE_ENTRY = Entry(
    tool="test", source=".vimrc", kind="file", target=".vimrc", link=".vimrc", origin="test"
)
DIR_ENTRY = Entry(
    tool="test",
    source=".claude/skills",
    kind="dir",
    target=".claude/skills",
    link=".claude/skills",
    origin="test",
)
MTIME = 1_600_000_000
OLD = "sha-old"  # what containai wrote last time
NEW = "sha-new"  # what the host holds now
AGENT = "sha-agent"  # what the agent wrote in the container


def file(
    path: str,
    *,
    size: int = 5,
    mtime: float = MTIME,
    mode: int = 0o644,
    content: bytes | None = None,
    **flags: Any,
) -> Candidate:
    source = None if content is not None else f"/host/{path}"
    return Candidate(
        path, "file", FILE_ENTRY, mode, mtime, size, source=source, content=content, **flags
    )


def directory(path: str, *, mode: int = 0o755, **flags: Any) -> Candidate:
    return Candidate(path, "dir", DIR_ENTRY, mode, MTIME, **flags)


def symlink(path: str, linkname: str) -> Candidate:
    return Candidate(path, "symlink", DIR_ENTRY, 0o777, MTIME, linkname=linkname)


def vfile(
    *, size: int = 5, mtime: int = MTIME, mode: int = 0o644, sha256: str | None = OLD
) -> VolumeFile:
    return VolumeFile("file", size, mtime, mode, 1000, 1000, sha256=sha256)


def vdir(mode: int = 0o755) -> VolumeFile:
    return VolumeFile("dir", mode=mode, uid=1000, gid=1000, mtime=MTIME)


def vlink(linkname: str) -> VolumeFile:
    return VolumeFile("symlink", mode=0o777, linkname=linkname)


def record(*, size: int = 5, mtime: int = MTIME, sha256: str = OLD) -> Record:
    return Record(size, mtime, sha256)


class Digests:
    """host_digest: a fixed digest per path, remembering which paths were hashed."""

    def __init__(self, digests: dict[str, str] | None = None, default: str = NEW) -> None:
        self.digests = digests or {}
        self.default = default
        self.asked: list[str] = []

    def __call__(self, candidate: Candidate) -> str | None:
        self.asked.append(candidate.path)
        return self.digests.get(candidate.path, self.default)


def make(
    candidates: Iterable[Candidate] = (),
    *,
    files: dict[str, VolumeFile] | None = None,
    records: dict[str, Record] | None = None,
    journal: dict[str, Record] | None = None,
    skipped: Iterable[Skipped] = (),
    failures: Iterable[Failure] = (),
    on_conflict: str = "backup",
    digests: Digests | None = None,
    mirror_roots: Iterable[str] = (),
    exists: bool = True,
) -> Plan:
    scan = HostScan(list(candidates), list(skipped), list(failures), ["a warning"])
    state = VolumeState(exists, files or {}, records or {}, journal or {})
    return plan.make(
        "vol",
        scan,
        state,
        on_conflict=on_conflict,
        host_digest=digests or Digests(),
        mirror_roots=mirror_roots,
    )


def decided(result: Plan) -> dict[str, tuple[str, str]]:
    return {item.path: (item.action, item.resolution) for item in result.items}


def only(result: Plan, path: str) -> plan.Item:
    found = [item for item in result.items if item.path == path]
    assert len(found) == 1, found
    return found[0]


# -- add, update, unchanged --------------------------------------------------------------------


def test_a_path_the_volume_lacks_is_added() -> None:
    result = make([file(".vimrc"), directory(".claude/skills"), symlink(".claude/skills/l", "x")])

    assert decided(result) == {
        ".vimrc": ("add", ""),
        ".claude/skills": ("add", ""),
        ".claude/skills/l": ("add", ""),
    }
    assert all(item.writes for item in result.items)
    assert result.volume == "vol" and result.volume_exists
    assert result.warnings == ["a warning"]


def test_a_file_as_containai_left_it_is_unchanged_by_size_and_mtime_without_hashing() -> None:
    digests = Digests()

    result = make(
        [file(".vimrc", mtime=MTIME + 0.9)],
        files={".vimrc": vfile()},
        records={".vimrc": record()},
        digests=digests,
    )

    assert decided(result) == {".vimrc": ("unchanged", "")}
    assert not only(result, ".vimrc").writes
    assert digests.asked == []


def test_a_touched_host_file_with_the_same_content_is_unchanged() -> None:
    result = make(
        [file(".vimrc", mtime=MTIME + 60)],
        files={".vimrc": vfile()},
        records={".vimrc": record()},
        digests=Digests({".vimrc": OLD}),
    )

    assert decided(result) == {".vimrc": ("unchanged", "")}


def test_a_host_file_of_another_size_is_updated_without_hashing() -> None:
    digests = Digests()

    result = make(
        [file(".vimrc", size=9, mtime=MTIME + 60)],
        files={".vimrc": vfile()},
        records={".vimrc": record()},
        digests=digests,
    )

    assert decided(result) == {".vimrc": ("update", "")}
    assert only(result, ".vimrc").writes
    assert digests.asked == []


def test_a_host_file_of_the_same_size_with_new_content_is_updated() -> None:
    result = make(
        [file(".vimrc", mtime=MTIME + 60)],
        files={".vimrc": vfile()},
        records={".vimrc": record()},
    )

    assert decided(result) == {".vimrc": ("update", "")}


def test_generated_content_is_compared_by_hash_not_by_mtime() -> None:
    # The git config is generated: its mtime is the host file's, its content may still change.
    generated = file(".gitconfig", content=b"[safe]\n", size=5)

    result = make(
        [generated],
        files={".gitconfig": vfile()},
        records={".gitconfig": record()},
        digests=Digests({".gitconfig": NEW}),
    )

    assert decided(result) == {".gitconfig": ("update", "")}


def test_a_mode_change_on_the_host_updates_the_volume_file() -> None:
    # chmod +x changes neither size nor mtime; rsync -a would still carry it over.
    result = make(
        [file(".claude/hooks/pre.sh", mode=0o755)],
        files={".claude/hooks/pre.sh": vfile(mode=0o644)},
        records={".claude/hooks/pre.sh": record()},
        digests=Digests({".claude/hooks/pre.sh": OLD}),
    )

    assert decided(result) == {".claude/hooks/pre.sh": ("update", "")}


def test_a_directory_with_another_mode_is_updated() -> None:
    result = make(
        [directory(".claude/skills", mode=0o700), directory(".claude/agents")],
        files={".claude/skills": vdir(0o755), ".claude/agents": vdir(0o755)},
    )

    assert decided(result) == {
        ".claude/skills": ("update", ""),
        ".claude/agents": ("unchanged", ""),
    }


def test_a_symlink_is_updated_only_when_its_target_changed() -> None:
    result = make(
        [symlink(".claude/skills/same", "a.md"), symlink(".claude/skills/moved", "b.md")],
        files={".claude/skills/same": vlink("a.md"), ".claude/skills/moved": vlink("a.md")},
    )

    assert decided(result) == {
        ".claude/skills/same": ("unchanged", ""),
        ".claude/skills/moved": ("update", ""),
    }


# -- placeholders and credentials --------------------------------------------------------------


def test_a_placeholder_is_written_only_where_the_volume_has_nothing() -> None:
    new = file(".claude/settings.json", content=b"{}", size=2, placeholder=True)
    kept = file(".claude.json", content=b"{}", size=2, placeholder=True, secret=True)
    folder = directory(".claude/agents", placeholder=True)

    result = make(
        [new, kept, folder],
        files={".claude.json": vfile(size=300, sha256=AGENT), ".claude/agents": vdir()},
    )

    assert decided(result) == {
        ".claude/settings.json": ("placeholder", ""),
        ".claude.json": ("unchanged", ""),
        ".claude/agents": ("unchanged", ""),
    }
    assert only(result, ".claude/settings.json").writes
    assert not only(result, ".claude.json").writes
    assert not only(result, ".claude/agents").writes


def test_a_credential_placeholder_is_made_once_then_reported_as_skip_credential() -> None:
    credential = file(
        ".claude/.credentials.json",
        content=b"",
        size=0,
        mode=0o600,
        placeholder=True,
        secret=True,
        credential=True,
    )

    fresh = make([credential])
    later = make([credential], files={".claude/.credentials.json": vfile(size=900)})

    item = only(fresh, ".claude/.credentials.json")
    assert (item.action, item.writes) == ("placeholder", True)
    assert "credential" in item.detail
    item = only(later, ".claude/.credentials.json")
    assert (item.action, item.writes) == ("skip:credential", False)


# -- changed in the container ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "writes"),
    [("backup", True), ("skip", False), ("overwrite", True)],
    ids=["backup", "skip", "overwrite"],
)
def test_a_file_changed_in_the_container_and_on_the_host_is_a_conflict_by_policy(
    policy: str, writes: bool
) -> None:
    result = make(
        [file(".claude/settings.json", size=7, mtime=MTIME + 60)],
        files={".claude/settings.json": vfile(size=9, mtime=MTIME + 30, sha256=AGENT)},
        records={".claude/settings.json": record()},
        on_conflict=policy,
    )

    item = only(result, ".claude/settings.json")
    assert (item.action, item.resolution, item.writes) == ("conflict", policy, writes)
    assert "changed in the container" in item.detail


def test_a_file_changed_in_the_container_to_what_the_host_has_is_unchanged() -> None:
    result = make(
        [file(".vimrc", size=9, mtime=MTIME + 60)],
        files={".vimrc": vfile(size=9, mtime=MTIME + 30, sha256=NEW)},
        records={".vimrc": record()},
    )

    assert decided(result) == {".vimrc": ("unchanged", "")}


def test_a_volume_file_containai_never_wrote_is_a_conflict_unless_equal() -> None:
    result = make(
        [file(".vimrc"), file(".zshrc")],
        files={".vimrc": vfile(sha256=AGENT), ".zshrc": vfile(sha256=NEW)},
        on_conflict="skip",
    )

    assert decided(result) == {".vimrc": ("conflict", "skip"), ".zshrc": ("unchanged", "")}
    assert "did not write" in only(result, ".vimrc").detail


def test_an_interrupted_run_s_journal_counts_as_ours() -> None:
    # The last run put the file in place, then stopped before recording it in state.json.
    interrupted = record(size=8, mtime=MTIME + 5, sha256="sha-journal")

    result = make(
        [file(".vimrc", size=8, mtime=MTIME + 5), file(".zshrc", size=3, mtime=MTIME + 9)],
        files={
            ".vimrc": vfile(size=8, mtime=MTIME + 5, sha256="sha-journal"),
            ".zshrc": vfile(size=8, mtime=MTIME + 5, sha256="sha-journal"),
        },
        records={".vimrc": record(), ".zshrc": record()},
        journal={".vimrc": interrupted, ".zshrc": interrupted},
    )

    assert decided(result) == {".vimrc": ("unchanged", ""), ".zshrc": ("update", "")}


# -- type conflicts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidate", "current"),
    [
        (file(".claude/skills/x"), vdir()),
        (file(".claude/skills/x"), vlink("elsewhere")),
        (directory(".claude/skills/x"), vfile()),
        (directory(".claude/skills/x"), vlink("/etc")),
        (symlink(".claude/skills/x", "a"), vfile()),
        (symlink(".claude/skills/x", "a"), vdir()),
    ],
    ids=[
        "file-over-dir",
        "file-over-symlink",
        "dir-over-file",
        "dir-over-symlink",
        "symlink-over-file",
        "symlink-over-dir",
    ],
)
def test_a_path_of_another_type_in_the_volume_is_a_conflict_left_alone(
    candidate: Candidate, current: VolumeFile
) -> None:
    result = make([candidate], files={candidate.path: current}, on_conflict="overwrite")

    item = only(result, candidate.path)
    assert (item.action, item.resolution, item.writes) == ("conflict", "skip", False)
    assert current.kind in item.detail


def test_nothing_goes_below_a_directory_that_cannot_be_created() -> None:
    candidates = [
        directory(".claude/skills"),
        file(".claude/skills/a.md"),
        directory(".claude/skills/sub"),
        file(".claude/skills/sub/b.md"),
        file(".claude/skills-extra"),
    ]

    result = make(candidates, files={".claude/skills": vlink("/etc")})

    assert decided(result) == {
        ".claude/skills": ("conflict", "skip"),
        ".claude/skills/a.md": ("conflict", "skip"),
        ".claude/skills/sub": ("conflict", "skip"),
        ".claude/skills/sub/b.md": ("conflict", "skip"),
        ".claude/skills-extra": ("add", ""),
    }
    assert "parent" in only(result, ".claude/skills/sub/b.md").detail
    assert not any(item.writes for item in result.items if item.path != ".claude/skills-extra")


@pytest.mark.parametrize(
    "current", [vfile(), vlink("/etc")], ids=["file-as-parent", "symlink-as-parent"]
)
def test_a_volume_file_or_link_where_a_parent_directory_must_go_is_a_conflict(
    current: VolumeFile,
) -> None:
    # .config/gh is not itself a candidate (only files below it are), yet writing them would
    # replace the agent's file with a directory.
    result = make(
        [file(".config/gh/hosts.yml"), file(".config/gh/config.yml")],
        files={".config": vdir(), ".config/gh": current},
    )

    for path in (".config/gh/hosts.yml", ".config/gh/config.yml"):
        item = only(result, path)
        assert (item.action, item.writes) == ("conflict", False), item


def test_containai_s_own_folder_is_never_written() -> None:
    result = make([file(".containai/state.json"), directory(".containai")])

    assert decided(result) == {
        ".containai/state.json": ("conflict", "skip"),
        ".containai": ("conflict", "skip"),
    }


# -- several entries, skips, failures ----------------------------------------------------------


def test_when_two_entries_give_one_path_the_later_wins() -> None:
    legacy = file(".config/tmux/tmux.conf", size=3)
    xdg = file(".config/tmux/tmux.conf", size=11)

    result = make([legacy, xdg])

    item = only(result, ".config/tmux/tmux.conf")
    assert item.candidate is xdg
    assert item.size == 11


def test_skips_and_failures_are_items_of_the_plan() -> None:
    skips = [
        Skipped(".claude.json", "skip:secret", FILE_ENTRY, "--no-secrets"),
        Skipped(".claude/skills/big", "skip:excluded", DIR_ENTRY, "excludes"),
        Skipped(".gemini/settings.json", "skip:missing", FILE_ENTRY, "optional"),
    ]

    result = make(skipped=skips, failures=[Failure("~/.claude/CLAUDE.md", "expected a file")])

    assert [(i.path, i.action, i.detail) for i in result.items] == [
        (".claude.json", "skip:secret", "--no-secrets"),
        (".claude/skills/big", "skip:excluded", "excludes"),
        (".gemini/settings.json", "skip:missing", "optional"),
        ("~/.claude/CLAUDE.md", "error", "expected a file"),
    ]
    assert not any(item.writes for item in result.items)
    assert result.failed


def test_a_plan_without_errors_has_not_failed() -> None:
    assert not make([file(".vimrc")]).failed


def test_counts_leave_out_directories_and_bytes_count_what_is_written() -> None:
    result = make(
        [
            directory(".claude/skills"),
            file(".claude/skills/a.md", size=10),
            file(".claude/skills/b.md", size=20),
            file(".claude/skills/c.md", size=40),
            file(".claude/skills/d.md", size=80),
            file(".claude/skills/e.md", size=160),
            file(".claude/settings.json", content=b"{}", size=2, placeholder=True),
        ],
        files={
            ".claude/skills/b.md": vfile(size=5),
            ".claude/skills/c.md": vfile(size=7, sha256=AGENT),
            ".claude/skills/d.md": vfile(size=7, sha256=AGENT),
            ".claude/skills/e.md": vfile(size=160, mtime=MTIME),
        },
        records={
            ".claude/skills/b.md": record(size=5),
            ".claude/skills/c.md": record(),
            ".claude/skills/d.md": record(),
            ".claude/skills/e.md": record(size=160),
        },
        on_conflict="backup",
    )
    skip = make(
        [file(".claude/skills/c.md", size=40)],
        files={".claude/skills/c.md": vfile(size=7, sha256=AGENT)},
        records={".claude/skills/c.md": record()},
        on_conflict="skip",
    )

    assert result.counts() == {
        "add": 1,
        "update": 1,
        "conflict": 2,
        "unchanged": 1,
        "placeholder": 1,
    }
    assert result.bytes_to_send() == 10 + 20 + 40 + 80 + 2
    assert skip.bytes_to_send() == 0


# -- JSON --------------------------------------------------------------------------------------


def test_the_json_form_of_an_item_never_holds_content() -> None:
    secret = file(".claude.json", content=b"TOKEN-123", size=9, secret=True, mode=0o600)
    result = make(
        [secret, directory(".claude/skills"), file(".vimrc")],
        files={".vimrc": vfile(sha256=AGENT)},
    )

    documents = {item.path: item.to_json() for item in result.items}

    assert "TOKEN-123" not in json.dumps(documents)
    assert documents[".claude.json"] == {
        "path": ".claude.json",
        "action": "add",
        "kind": "file",
        "size": 9,
        "secret": True,
    }
    assert documents[".claude/skills"] == {"path": ".claude/skills", "action": "add", "kind": "dir"}
    assert documents[".vimrc"]["resolution"] == "backup"
    assert "did not write" in documents[".vimrc"]["detail"]


# -- mirror deletions --------------------------------------------------------------------------


def test_mirror_deletes_only_recorded_files_the_container_left_alone() -> None:
    result = make(
        [directory(".claude/skills"), file(".claude/skills/kept.md")],
        files={
            ".claude/skills": vdir(),
            ".claude/skills/kept.md": vfile(),
            ".claude/skills/gone.md": vfile(size=4, mtime=MTIME + 1),
            ".claude/skills/edited.md": vfile(size=99, mtime=MTIME + 50, sha256=AGENT),
            ".claude/skills/agent.md": vfile(),
            ".claude/agents/other.md": vfile(),
        },
        records={
            ".claude/skills/kept.md": record(),
            ".claude/skills/gone.md": record(size=4, mtime=MTIME + 1),
            ".claude/skills/edited.md": record(),
            ".claude/skills/vanished.md": record(),
            ".claude/agents/other.md": record(),
        },
        mirror_roots=[".claude/skills"],
    )

    assert decided(result) == {
        ".claude/skills": ("unchanged", ""),
        ".claude/skills/kept.md": ("unchanged", ""),
        ".claude/skills/gone.md": ("delete", ""),
        ".claude/skills/edited.md": ("conflict", "skip"),
    }
    assert "changed in the container" in only(result, ".claude/skills/edited.md").detail
    assert not only(result, ".claude/skills/edited.md").writes


def test_without_mirror_roots_nothing_is_deleted() -> None:
    result = make(files={".vimrc": vfile()}, records={".vimrc": record()})

    assert result.items == []


def test_mirror_deletes_a_recorded_file_entry_that_is_gone() -> None:
    result = make(files={".vimrc": vfile()}, records={".vimrc": record()}, mirror_roots=[".vimrc"])

    assert decided(result) == {".vimrc": ("delete", "")}


@pytest.mark.parametrize(
    ("skip", "failure"),
    [
        (Skipped(".ssh/id_ed25519", "skip:secret", DIR_ENTRY, "--no-secrets"), None),
        (Skipped(".ssh/id_ed25519", "skip:excluded", DIR_ENTRY, "excludes"), None),
        (None, Failure("~/.ssh/id_ed25519", "permission denied")),
    ],
    ids=["skipped-secret", "excluded", "unreadable-on-the-host"],
)
def test_mirror_never_deletes_a_file_the_host_still_has_but_did_not_send(
    skip: Skipped | None, failure: Failure | None
) -> None:
    # rsync --delete leaves excluded files alone too; --no-secrets promises the volume copy stays.
    result = make(
        [directory(".ssh"), file(".ssh/config")],
        files={".ssh": vdir(), ".ssh/config": vfile(), ".ssh/id_ed25519": vfile()},
        records={".ssh/config": record(), ".ssh/id_ed25519": record()},
        skipped=[skip] if skip else [],
        failures=[failure] if failure else [],
        mirror_roots=[".ssh"],
    )

    assert [(i.path, i.action) for i in result.items if i.action == "delete"] == []
