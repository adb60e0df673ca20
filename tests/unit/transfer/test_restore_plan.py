"""containai.transfer.restore_plan.make_plan: every member's action, from a hand-built archive
index and volume state; and a restore carried out through the fake engine."""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from typing import Any, BinaryIO

import pytest

from containai.archive.comparison import ArchiveIndex, IndexEntry
from containai.archive.members import MemberKind
from containai.archive.schema import ExportManifest, ManifestFile
from containai.host.candidates import Candidate
from containai.host.excludes import Excludes, Rule, under
from containai.transfer import stream
from containai.transfer.plan import Item, Plan
from containai.transfer.restore_plan import make_plan
from containai.transfer.volume_state import VolumeFile, VolumeState
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import FakeHelper, FakeVolume

T = 1_600_000_000
NO_RULES = Excludes([])
PRIVATE = Excludes([Rule("exclude_priv", under(".bashrc.d", ["*.priv.*"]))])


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def member(
    name: str,
    kind: MemberKind = "file",
    data: bytes = b"",
    *,
    mode: int | None = None,
    owner: tuple[int, int] = (1000, 1000),
    mtime: float = T,
    link: str = "",
) -> IndexEntry:
    if mode is None:
        mode = {"dir": 0o755, "symlink": 0o777}.get(kind, 0o644)
    is_file = kind == "file"
    return IndexEntry(
        name,
        kind,
        len(data) if is_file else 0,
        mode,
        *owner,
        mtime,
        link,
        sha(data) if is_file else None,
    )


def index(*entries: IndexEntry, secret: tuple[str, ...] = ()) -> ArchiveIndex:
    files = {
        e.name: ManifestFile(e.size, e.sha256 or "", e.name in secret, e.mode)
        for e in entries
        if e.kind == "file"
    }
    manifest = ExportManifest("1.0", "2024-01-01T00:00:00Z", "src", {}, False, True, files)
    return ArchiveIndex(manifest, tuple(entries), sum(e.size for e in entries))


def vfile(
    data: bytes = b"",
    *,
    mode: int = 0o644,
    owner: tuple[int, int] = (1000, 1000),
    mtime: int = T,
    hashed: bool = True,
) -> VolumeFile:
    return VolumeFile("file", len(data), mtime, mode, *owner, sha256=sha(data) if hashed else None)


def vdir(*, mode: int = 0o755, owner: tuple[int, int] = (1000, 1000), mtime: int = T) -> VolumeFile:
    return VolumeFile("dir", 0, mtime, mode, *owner)


def vlink(target: str, *, owner: tuple[int, int] = (1000, 1000), mtime: int = T) -> VolumeFile:
    return VolumeFile("symlink", 0, mtime, 0o777, *owner, linkname=target)


def plan(
    *entries: IndexEntry,
    files: dict[str, VolumeFile] | None = None,
    replace: bool = False,
    private: Excludes = NO_RULES,
    secret: tuple[str, ...] = (),
    owner: tuple[int, int] = (1000, 1000),
) -> Plan:
    state = VolumeState(True, dict(files or {}))
    archive = index(*entries, secret=secret)
    return make_plan("vol", archive, state, replace=replace, private=private, owner=owner)


def decided(made: Plan) -> dict[str, str]:
    return {item.path: item.action for item in made.items}


def only(made: Plan, path: str) -> Item:
    [found] = [item for item in made.items if item.path == path]
    return found


def candidate(made: Plan, path: str) -> Candidate:
    found = only(made, path).candidate
    assert found is not None
    return found


# -- add, update, unchanged --------------------------------------------------------------------


def test_everything_is_added_to_an_empty_volume() -> None:
    made = plan(
        member("d", "dir", mode=0o750),
        member("d/f", data=b"data"),
        member("d/l", "symlink", link="f"),
        member("h", "hardlink", link="d/f"),
    )

    assert decided(made) == {"d": "add", "d/f": "add", "d/l": "add", "h": "add"}
    hard = candidate(made, "h")
    # A hard link is a file of its target's size, written as a second name of it.
    assert (only(made, "h").kind, hard.same_as, hard.size) == ("file", "d/f", 4)
    assert candidate(made, "d/l").linkname == "f"
    assert made.bytes_to_send() == 8  # the link's size counts, though it sends nothing


def test_a_file_identical_in_content_owner_mode_and_mtime_is_unchanged() -> None:
    made = plan(
        member("d", "dir"),
        member("d/f", data=b"data", mode=0o600, mtime=T + 0.5),
        member("d/l", "symlink", link="f"),
        files={"d": vdir(), "d/f": vfile(b"data", mode=0o600), "d/l": vlink("f")},
    )

    assert decided(made) == {"d": "unchanged", "d/f": "unchanged", "d/l": "unchanged"}
    assert not any(item.writes for item in made.items)


@pytest.mark.parametrize(
    "volume_copy",
    [
        vfile(b"DATA"),
        vfile(b"data", owner=(1001, 1000)),
        vfile(b"data", owner=(1000, 1001)),
        vfile(b"data", mode=0o640),
        vfile(b"data", mtime=T + 1),
        vfile(b"data + more"),
        vfile(b"data", hashed=False),
    ],
    ids=["content", "uid", "gid", "mode", "mtime", "size", "not-hashed"],
)
def test_a_file_differing_in_anything_is_updated(volume_copy: VolumeFile) -> None:
    made = plan(member("f", data=b"data"), files={"f": volume_copy})

    assert decided(made) == {"f": "update"}
    assert only(made, "f").writes


@pytest.mark.parametrize(
    "volume_copy",
    [vdir(mode=0o700), vdir(owner=(0, 0))],
    ids=["mode", "owner"],
)
def test_a_directory_of_another_mode_or_owner_is_updated(volume_copy: VolumeFile) -> None:
    assert decided(plan(member("d", "dir"), files={"d": volume_copy})) == {"d": "update"}


@pytest.mark.parametrize(
    "volume_copy",
    [vlink("elsewhere"), vlink("f", owner=(1001, 1000)), vfile(b"f")],
    ids=["target", "uid", "a-file"],
)
def test_a_symlink_of_another_target_or_owner_is_updated(volume_copy: VolumeFile) -> None:
    made = plan(member("l", "symlink", link="f"), files={"l": volume_copy})

    assert decided(made) == {"l": "update"}


@pytest.mark.parametrize(
    ("archived", "current"),
    [
        (member("d", "dir", mtime=T), vdir(mtime=T + 3600)),
        (member("l", "symlink", link="f", owner=(1000, 1000)), vlink("f", owner=(1000, 0))),
        (member("l", "symlink", link="f", mtime=T), vlink("f", mtime=T + 3600)),
    ],
    ids=["dir-mtime", "symlink-gid", "symlink-mtime"],
)
def test_a_directory_or_symlink_differing_only_in_mtime_or_group_is_updated(
    archived: IndexEntry, current: VolumeFile
) -> None:
    assert decided(plan(archived, files={archived.name: current})) == {archived.name: "update"}


def test_a_hard_link_is_compared_with_its_targets_digest_and_not_its_mtime() -> None:
    entries = (member("a", data=b"shared"), member("b", "hardlink", link="a", mtime=T + 77))
    same = {"a": vfile(b"shared"), "b": vfile(b"shared")}
    other = {"a": vfile(b"shared"), "b": vfile(b"SHARED")}

    assert decided(plan(*entries, files=same)) == {"a": "unchanged", "b": "unchanged"}
    assert decided(plan(*entries, files=other)) == {"a": "unchanged", "b": "update"}


def test_a_hard_link_to_a_hard_link_is_unchanged_when_the_volume_has_it() -> None:
    made = plan(
        member("a", data=b"shared"),
        member("b", "hardlink", link="a"),
        member("c", "hardlink", link="b"),
        files={"a": vfile(b"shared"), "b": vfile(b"shared"), "c": vfile(b"shared")},
    )

    assert decided(made) == {"a": "unchanged", "b": "unchanged", "c": "unchanged"}


def test_privilege_bits_are_stripped_and_directories_stay_open_to_the_agent() -> None:
    made = plan(
        member("d", "dir", mode=0o2775),
        member("d/suid", data=b"x", mode=0o4755),
        member("d/sgid", data=b"x", mode=0o2755),
        member("d/link", "hardlink", link="d/suid", mode=0o6755),
        member("sticky", "dir", mode=0o1777),
        member("locked", "dir", mode=0o500),
        member("locked-file", data=b"x", mode=0o400),
        files={"d/suid": vfile(b"x", mode=0o755)},
    )

    modes = {item.path: candidate(made, item.path).mode for item in made.items}
    assert modes == {
        "d": 0o775,
        "d/suid": 0o755,
        "d/sgid": 0o755,
        "d/link": 0o755,
        "sticky": 0o777,
        "locked": 0o700,  # an archive must not lock the agent out of a directory
        "locked-file": 0o400,
    }
    assert only(made, "d/suid").action == "unchanged"  # compared without those bits


def test_everything_belongs_to_the_agent_and_secret_flags_come_from_the_manifest() -> None:
    made = plan(
        member(".config/gh", "dir", owner=(1500, 1600)),
        member(".config/gh/hosts.yml", data=b"t", mode=0o600, owner=(0, 0)),
        member(".vimrc", data=b"v"),
        member(".link", "symlink", link=".vimrc", owner=(0, 0)),
        secret=(".config/gh/hosts.yml",),
        owner=(1234, 1235),
    )

    found = {i.path: (i.uid, i.gid, i.secret) for i in (candidate(made, p) for p in decided(made))}
    assert found == {
        ".config/gh": (1234, 1235, False),
        ".config/gh/hosts.yml": (1234, 1235, True),
        ".vimrc": (1234, 1235, False),
        ".link": (1234, 1235, False),
    }


def test_containai_bookkeeping_in_an_archive_is_never_restored() -> None:
    made = plan(
        member(".containai", "dir"),
        member(".containai/state.json", data=b"{}"),
        member(".containai-not-ours", data=b"x"),
    )

    assert decided(made) == {".containai-not-ours": "add"}


def test_the_private_rule_skips_priv_files_only_where_it_applies() -> None:
    made = plan(
        member(".bashrc.d", "dir"),
        member(".bashrc.d/aliases.sh", data=b"a"),
        member(".bashrc.d/tokens.priv.sh", data=b"t"),
        member(".bashrc.d/keys.priv.d", "dir"),
        member(".bashrc.d/keys.priv.d/k", data=b"k"),
        member("notes/todo.priv.md", data=b"n"),
        private=PRIVATE,
    )

    assert decided(made) == {
        ".bashrc.d": "add",
        ".bashrc.d/aliases.sh": "add",
        ".bashrc.d/tokens.priv.sh": "skip:excluded",
        ".bashrc.d/keys.priv.d": "skip:excluded",
        ".bashrc.d/keys.priv.d/k": "skip:excluded",
        "notes/todo.priv.md": "add",
    }
    assert only(made, ".bashrc.d/tokens.priv.sh").detail == "exclude_priv"
    assert not only(made, ".bashrc.d/tokens.priv.sh").writes


# -- what stands in the way --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("archived", "current", "what"),
    [
        (member("p", "dir"), vfile(b"f"), "file"),
        (member("p", data=b"f"), vdir(), "dir"),
        (member("p", "symlink", link="x"), vdir(), "dir"),
        (member("p", data=b"f"), VolumeFile("other"), "other"),
    ],
    ids=["dir-over-file", "file-over-dir", "symlink-over-dir", "file-over-fifo"],
)
def test_a_kind_change_is_a_conflict_unless_replace_is_given(
    archived: IndexEntry, current: VolumeFile, what: str
) -> None:
    kept = plan(archived, files={"p": current})
    replaced = plan(archived, files={"p": current}, replace=True)

    assert [(i.action, i.resolution, i.detail) for i in kept.items] == [
        ("conflict", "skip", f"the volume has a {what} here (--replace replaces it)")
    ]
    assert not kept.items[0].writes
    assert [(i.action, i.detail) for i in replaced.items] == [("update", f"replaces a {what}")]


def test_a_non_directory_where_a_parent_must_go_is_a_conflict_for_everything_below() -> None:
    entries = (member("a", "dir"), member("a/b", "dir"), member("a/b/f", data=b"x"))
    state = {"a": vdir(), "a/b": vlink("elsewhere")}

    kept = plan(*entries, files=state)
    replaced = plan(*entries, files=state, replace=True)

    assert decided(kept) == {"a": "unchanged", "a/b": "conflict", "a/b/f": "conflict"}
    assert only(kept, "a/b/f").detail == (
        "the volume has a symlink where a parent directory must go"
    )
    assert decided(replaced) == {"a": "update", "a/b": "update", "a/b/f": "add"}
    assert only(replaced, "a/b").detail == "replaces a symlink"


def test_a_member_below_a_kept_conflict_is_a_conflict_too() -> None:
    # (parent_in_the_way already catches this; make_plan's own ``blocked`` list never decides
    # anything for an archive that passed the member checks.)
    made = plan(member("p", "dir"), member("p/f", data=b"x"), files={"p": VolumeFile("other")})

    assert [(i.path, i.action, i.resolution) for i in made.items] == [
        ("p", "conflict", "skip"),
        ("p/f", "conflict", "skip"),
    ]
    assert only(made, "p/f").detail == "the volume has a other where a parent directory must go"


# -- --replace removals ------------------------------------------------------------------------


def test_replace_removes_only_the_topmost_paths_the_archive_lacks() -> None:
    made = plan(
        member("keep", "dir"),
        member("keep/f", data=b"f"),
        files={
            "keep": vdir(),
            "keep/f": vfile(b"f"),
            "keep/old": vfile(b"old"),
            "gone": vdir(),
            "gone/a": vfile(b"a"),
            "gone/b/c": vfile(b"c"),
            "gone.txt": vfile(b"t"),
        },
        replace=True,
    )

    removals = [(i.path, i.kind, i.detail) for i in made.items if i.action == "delete"]
    assert removals == [
        ("gone", "dir", "not in the archive"),
        ("gone.txt", "file", "not in the archive"),
        ("keep/old", "file", "not in the archive"),
    ]


def test_replace_removes_nothing_below_a_path_the_archive_holds_as_a_file_or_symlink() -> None:
    made = plan(
        member("was-dir", data=b"now a file"),
        member("linked", "symlink", link="was-dir"),
        files={
            "was-dir": vdir(),
            "was-dir/child": vfile(b"c"),
            "linked": vdir(),
            "linked/deep/child": vfile(b"c"),
        },
        replace=True,
    )

    # Replacing each of them removes what was below it already.
    assert decided(made) == {"was-dir": "update", "linked": "update"}


def test_replace_never_removes_containai_bookkeeping_nor_the_parents_of_kept_members() -> None:
    made = plan(
        member("a/b/f", data=b"f"),  # an archive without directory members (tar of files)
        files={
            ".containai": vdir(),
            ".containai/state.json": vfile(b"{}"),
            ".containai/backups/x": vfile(b"x"),
            "a": vdir(),
            "a/b": vdir(),
        },
        replace=True,
    )

    assert decided(made) == {"a/b/f": "add"}


def test_without_replace_nothing_is_removed() -> None:
    made = plan(member("f", data=b"f"), files={"other": vfile(b"o"), "dir": vdir()})

    assert decided(made) == {"f": "add"}


# -- _refresh_parents --------------------------------------------------------------------------


def test_a_directory_whose_contents_change_is_rewritten_to_restore_its_mtime() -> None:
    made = plan(
        member("a", "dir"),
        member("a/new", data=b"n"),
        member("b", "dir"),
        member("b/same", data=b"s"),
        member("c", "dir"),
        member("c/d", "dir"),
        member("c/d/changed", data=b"new"),
        files={
            "a": vdir(),
            "b": vdir(),
            "b/same": vfile(b"s"),
            "c": vdir(),
            "c/d": vdir(),
            "c/d/changed": vfile(b"old"),
        },
    )

    assert decided(made) == {
        "a": "update",
        "a/new": "add",
        "b": "unchanged",
        "b/same": "unchanged",
        "c": "unchanged",  # only the direct parent's mtime moves
        "c/d": "update",
        "c/d/changed": "update",
    }
    assert only(made, "a").detail == only(made, "c/d").detail == "its contents change"


def test_a_directory_a_removal_touches_is_rewritten_too() -> None:
    made = plan(
        member("d", "dir"),
        member("d/kept", data=b"k"),
        files={"d": vdir(), "d/kept": vfile(b"k"), "d/extra": vfile(b"e")},
        replace=True,
    )

    assert decided(made) == {"d": "update", "d/kept": "unchanged", "d/extra": "delete"}


def test_a_skipped_conflict_does_not_touch_its_directory() -> None:
    made = plan(
        member("d", "dir"), member("d/p", "dir"), files={"d": vdir(), "d/p": VolumeFile("other")}
    )

    assert decided(made) == {"d": "unchanged", "d/p": "conflict"}


# -- carried out through the fake engine -------------------------------------------------------


class Members:
    """A restore's content source: each member's bytes, asked in plan order."""

    def __init__(self, data: dict[str, bytes]) -> None:
        self.data = data
        self.asked: list[str] = []

    @contextlib.contextmanager
    def open(self, candidate: Candidate) -> Iterator[tuple[BinaryIO, int]]:
        self.asked.append(candidate.path)
        content = self.data[candidate.path]
        yield io.BytesIO(content), len(content)


def restore(
    volume: FakeVolume, *entries: IndexEntry, replace: bool = False, **data: Any
) -> tuple[Plan, stream.Outcome]:
    helper = FakeHelper(volume)
    names = {e.name for e in entries if e.kind in ("file", "hardlink")}
    state = read_volume(helper.get(""), hash_paths=names)
    made = make_plan(
        "vol", index(*entries), state, replace=replace, private=NO_RULES, owner=(1234, 1235)
    )
    outcome = stream.Outcome()
    content = Members({e.name: data.get(e.name.replace("/", "_"), b"") for e in entries})
    for item in made.items:  # what delete_planned does first (the stream deletes the rest)
        if item.action == "delete" and "/" not in item.path:
            volume.remove(item.path)
    helper.put(stream.stream(made, state, stream.Owner(1000, 1000), outcome, content))
    return made, outcome


def test_a_restore_leaves_members_as_archived_and_owned_by_the_agent() -> None:
    volume = FakeVolume(clock=lambda: T + 10**6)
    volume.add_dir("d", mtime=T - 5)
    volume.add_file("d/old", b"old", mtime=T - 5)
    entries = (
        member("d", "dir", mode=0o750, owner=(1500, 1600), mtime=T + 1),
        member("d/f", data=b"data", mode=0o640, owner=(1500, 1600), mtime=T + 2),
        member("d/h", "hardlink", link="d/f", owner=(1500, 1600)),
        member("d/l", "symlink", link="f", owner=(1500, 1600), mtime=T + 3),
    )

    made, outcome = restore(volume, *entries, replace=True, d_f=b"data")

    assert outcome.failures == {}
    assert decided(made)["d/old"] == "delete"
    # Directory mtimes too: the engine sets them again once the stream has ended.
    expected = {
        "d": ("dir", 0o750, 1234, 1235, T + 1),
        "d/f": ("file", 0o640, 1234, 1235, T + 2),
        "d/h": ("file", 0o640, 1234, 1235, T + 2),
        "d/l": ("symlink", 0o777, 1234, 1235, T + 3),
    }
    found = {
        path: (node.kind, node.mode, node.uid, node.gid, node.mtime)
        for path, node in volume.nodes.items()
        if path.startswith("d")
    }
    assert found == expected
    assert volume.same_file("d/f", "d/h")


def test_a_second_name_whose_target_failed_is_not_left_silently_stale() -> None:
    volume = FakeVolume()
    volume.add_file("a", b"old")
    volume.add_hardlink("b", "a")
    helper = FakeHelper(volume)
    entries = (member("a", data=b"new"), member("b", "hardlink", link="a"))
    state = read_volume(helper.get(""), hash_paths={"a", "b"})
    made = make_plan("vol", index(*entries), state, replace=False, private=NO_RULES)
    outcome = stream.Outcome()

    class Failing(Members):
        @contextlib.contextmanager
        def open(self, candidate: Candidate) -> Iterator[tuple[BinaryIO, int]]:
            raise OSError(5, "Input/output error")
            yield  # pragma: no cover

    helper.put(stream.stream(made, state, stream.Owner(1000, 1000), outcome, Failing({})))

    assert decided(made) == {"a": "update", "b": "update"}
    assert set(outcome.failures) >= {"a"}
    assert "b" in outcome.failures or volume.content("b") == b"new"
