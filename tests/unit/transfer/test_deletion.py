"""containai.transfer.deletion: deleting through the archive API alone, in the fake engine.

A directory holding deleted paths is replaced by a file and rebuilt from hard links stashed in
the staging tree: what it kept is the same inode (content, owner, mode, mtime), and nothing
runs in the volume (the fake engine's run_in_volume is never called).
"""

from __future__ import annotations

import io
import tarfile

import pytest

from containai.errors import EngineError
from containai.transfer import deletion, stream
from containai.transfer.plan import DELETE, UPDATE, Item, Plan
from containai.transfer.stream import Outcome, Owner
from containai.transfer.volume_state import REBUILD_FILE, STAGING_DIR, VolumeState
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import NOW, FakeHelper, FakeVolume, Node
from tests.unit.transfer.test_stream import generated

OWNER = Owner(1000, 1000)
T = 1_600_000_000
REVIEW = ".claude/skills/review"


def skills(volume: FakeVolume) -> None:
    """A mirrored directory as an import leaves it, with what an agent added beside it."""
    volume.add_dir(".claude", mtime=T + 1)
    volume.add_dir(".claude/skills", mode=0o750, mtime=T + 2)
    volume.add_dir(".claude/skills/review", mode=0o700, uid=1234, gid=1235, mtime=T + 3)
    volume.add_file(".claude/skills/review/SKILL.md", b"review\n", mtime=T + 4)
    volume.add_file(".claude/skills/review/gone.md", b"gone\n", mtime=T + 5)
    volume.add_file(".claude/skills/review/root.md", b"root's\n", mode=0o600, uid=0, gid=0)
    volume.add_symlink(".claude/skills/review/latest", "SKILL.md", uid=1234, gid=1235, mtime=T + 6)
    volume.add_dir(".claude/skills/review/notes", mode=0o755, uid=0, gid=0, mtime=T + 7)
    volume.add_file(".claude/skills/review/notes/a.txt", b"a\n", mode=0o640, mtime=T + 8)
    volume.add_dir(".claude/skills/review/empty", mtime=T + 9)
    volume.add_hardlink(".claude/skills/review/notes/second", ".claude/skills/review/SKILL.md")
    volume.add_file(".claude/skills/other.md", b"other\n", mtime=T + 10)


def delete(
    helper: FakeHelper, *paths: str, max_record_bytes: int = 1 << 20
) -> tuple[Outcome, VolumeState]:
    """A run whose plan deletes ``paths`` and writes nothing, carried out by the stream."""
    state = read_volume(helper.get(""), hash_paths=set())
    items = [Item(path, DELETE, state.files[path].kind) for path in paths]
    outcome = Outcome()
    chunks = stream.stream(
        Plan("vol", True, items), state, OWNER, outcome, max_record_bytes=max_record_bytes
    )
    helper.put(chunks)
    return outcome, state


def described(volume: FakeVolume, below: str) -> dict[str, tuple[object, ...]]:
    return {
        path: (node.kind, node.mode, node.uid, node.gid, node.mtime, node.content, node.linkname)
        for path, node in volume.nodes.items()
        if path.startswith(f"{below}/") or path == below
    }


def test_a_deleted_file_goes_and_everything_beside_it_stays_as_it_was() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    before = described(volume, ".claude")
    # A symlink is written again rather than linked (see transfer/headers.py): files keep inodes.
    inodes = {path: id(node) for path, node in volume.nodes.items() if node.kind == "file"}
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, ".claude/skills/review/gone.md")

    assert outcome.failures == {}
    del before[".claude/skills/review/gone.md"]
    # Kinds, modes, owners, mtimes, contents, link targets: and the same inodes.
    assert described(volume, ".claude") == before
    for path, inode in inodes.items():
        if path in volume.nodes:
            assert id(volume.nodes[path]) == inode, path
    assert volume.same_file(".claude/skills/review/SKILL.md", ".claude/skills/review/notes/second")
    assert (outcome.rebuilt, outcome.kept) == (1, 7)
    # The stash, the journal and the markers went with the staging tree.
    assert volume.nodes[STAGING_DIR].kind == "file"


def test_a_deep_relative_symlink_beside_a_deleted_file_is_kept_as_it_was() -> None:
    # From its own directory it stays in the volume; from the staging tree, two levels below
    # the root, the same target would climb out of it (an engine refuses such a link).
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    top = f"{REVIEW}/notes/top"
    volume.add_symlink(top, "../../../../top.md", uid=1000, gid=1000, mtime=T + 11)
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, f"{REVIEW}/gone.md")

    assert outcome.failures == {}
    found = volume.nodes[top]
    assert (found.kind, found.linkname, found.uid, found.mtime) == (
        "symlink",
        "../../../../top.md",
        1000,
        T + 11,
    )


def test_a_symlink_out_of_the_volume_beside_a_deleted_file_fails_that_deletion_only() -> None:
    # The agent's link could not be written back (the engine refuses it): nothing is replaced.
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    volume.add_symlink(f"{REVIEW}/out", "../../../../etc/passwd")
    volume.add_dir(".other", mtime=T)
    volume.add_file(".other/gone.md", b"gone\n")
    before = described(volume, REVIEW)
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, f"{REVIEW}/gone.md", ".other/gone.md")

    assert list(outcome.failures) == [f"{REVIEW}/gone.md"]
    assert "symlink out of the volume" in outcome.failures[f"{REVIEW}/gone.md"]
    assert described(volume, REVIEW) == before
    assert ".other/gone.md" not in volume.nodes


def test_deleting_a_directory_removes_everything_below_it() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    helper = FakeHelper(volume)

    delete(helper, ".claude/skills/review/notes")

    assert not any(p.startswith(".claude/skills/review/notes") for p in volume.nodes)
    assert volume.content(".claude/skills/review/SKILL.md") == b"review\n"
    assert volume.nodes[".claude/skills/review"].mtime == T + 3


def test_the_deepest_directories_are_rebuilt_and_none_inside_another() -> None:
    assert deletion.rebuilt_directories(["a/b/c/x", "a/b/y", "d/e/f", "root.txt"]) == {
        "a/b",
        "d/e",
    }
    # A path below a deleted one goes with it: its own directory is not rebuilt.
    assert deletion.rebuilt_directories(["a/b", "a/b/c/x"]) == {"a"}


def test_nested_deletions_are_one_rebuild() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, ".claude/skills/other.md", ".claude/skills/review/notes/a.txt")

    assert outcome.rebuilt == 1
    assert ".claude/skills/other.md" not in volume.nodes
    assert ".claude/skills/review/notes/a.txt" not in volume.nodes
    assert volume.content(".claude/skills/review/notes/second") == b"review\n"


def test_names_in_the_volume_root_are_left_to_the_caller() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    volume.add_file("top.txt", b"top")
    volume.add_file("dir/inner", b"inner")
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, "top.txt", "dir/inner")

    assert volume.content("top.txt") == b"top"
    assert "dir/inner" not in volume.nodes
    assert outcome.failures == {}  # steps.volume.delete_planned deletes top.txt (or says why)


def test_a_journal_the_next_run_could_not_read_deletes_nothing() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    before = described(volume, ".claude")
    helper = FakeHelper(volume)

    outcome, _ = delete(helper, ".claude/skills/review/gone.md", max_record_bytes=100)

    assert outcome.failures == {
        ".claude/skills/review/gone.md": "too many paths to rebuild around it (limits.record_bytes)"
    }
    assert described(volume, ".claude") == before


def test_a_kept_file_gone_since_the_read_fails_the_stream_before_anything_is_replaced() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    helper = FakeHelper(volume)
    state = read_volume(helper.get(""), hash_paths=set())
    volume.remove(".claude/skills/review/root.md")  # the agent, meanwhile
    before = described(volume, ".claude")
    plan = Plan("vol", True, [Item(".claude/skills/review/gone.md", DELETE, "file")])

    with pytest.raises(EngineError):
        helper.put(stream.stream(plan, state, OWNER, Outcome()))

    assert described(volume, ".claude") == before
    assert REBUILD_FILE not in volume.nodes  # nothing the next run must finish


def test_a_deletion_beside_a_file_this_run_updates() -> None:
    # The rebuild comes first (the old file is put back), the new file is put in place after.
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    helper = FakeHelper(volume)
    state = read_volume(helper.get(""), hash_paths=set())
    new = generated(f"{REVIEW}/SKILL.md", b"review, better\n")
    items = [
        Item(f"{REVIEW}/gone.md", DELETE, "file"),
        Item(new.path, UPDATE, "file", candidate=new),
    ]
    outcome = Outcome()

    helper.put(stream.stream(Plan("vol", True, items), state, OWNER, outcome))

    assert outcome.failures == {}
    assert f"{REVIEW}/gone.md" not in volume.nodes
    assert volume.content(f"{REVIEW}/SKILL.md") == b"review, better\n"
    assert volume.content(f"{REVIEW}/notes/second") == b"review\n"  # the old inode's other name
    assert volume.content(f"{REVIEW}/root.md") == b"root's\n"


# -- what the stream says, entry by entry (for engines that apply more than Docker does) -------


def entries_of(chunks: list[bytes]) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(b"".join(chunks)), mode="r|") as tar:
        return list(tar)


def test_every_stream_starts_with_the_volume_root_owned_by_the_agent() -> None:
    helper = FakeHelper(FakeVolume(clock=lambda: NOW))
    state = read_volume(helper.get(""), hash_paths=set())

    first = entries_of(list(stream.stream(Plan("vol", True, []), state, OWNER, Outcome())))[0]

    assert (first.name, first.type, first.mode, first.uid, first.gid) == (
        ".",
        tarfile.DIRTYPE,
        0o700,
        1000,
        1000,
    )


def test_every_hard_link_carries_its_targets_owner_mode_and_mtime() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    helper = FakeHelper(volume)
    state = read_volume(helper.get(""), hash_paths=set())
    plan = Plan("vol", True, [Item(".claude/skills/review/gone.md", DELETE, "file")])

    entries = entries_of(list(stream.stream(plan, state, OWNER, Outcome())))

    def meta(node: Node) -> tuple[int, int, int, int]:
        return node.uid, node.gid, node.mode, node.mtime

    will_be: dict[str, tuple[int, int, int, int]] = {}  # what each name will hold
    links = symlinks = 0
    for entry in entries:
        if entry.issym():  # a kept symlink is written again, as it was
            symlinks += 1
            found = volume.nodes[".claude/skills/review/latest"]
            assert (entry.linkname, entry.uid, entry.gid, entry.mtime) == (
                found.linkname,
                found.uid,
                found.gid,
                found.mtime,
            )
        elif entry.isreg():
            will_be[entry.name] = (entry.uid, entry.gid, entry.mode, int(entry.mtime))
        elif entry.islnk():
            links += 1
            target = will_be.get(entry.linkname) or meta(volume.nodes[entry.linkname])
            assert (entry.uid, entry.gid, entry.mode, entry.mtime) == target, entry.name
            will_be[entry.name] = target
    # 4 kept files, there and back, and the state record; the kept symlink, written again.
    assert (links, symlinks) == (2 * 4 + 1, 1)
