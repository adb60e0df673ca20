"""containai.transfer.recovery: a deletion's stream cut anywhere loses nothing, and the next run
finishes the rebuild before it clears the staging tree (the fake engine)."""

from __future__ import annotations

import contextlib
import copy

from containai.errors import EngineError
from containai.transfer import recovery, stream
from containai.transfer.plan import DELETE, Item, Plan
from containai.transfer.rebuilds import Put
from containai.transfer.stream import Outcome, Owner
from containai.transfer.volume_state import REBUILD_FILE, STAGING_DIR, VolumeState
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import NOW, FakeHelper, FakeVolume, Node
from tests.unit.transfer.test_deletion import skills

OWNER = Owner(1000, 1000)
P = ".claude/skills/review"
GONE = f"{P}/gone.md"


def read(helper: FakeHelper) -> VolumeState:
    state = read_volume(helper.get(""), hash_paths=set())
    recovery.settle(state)
    return state


def next_run(helper: FakeHelper, *deleted: str, run: str = "two") -> VolumeState:
    """A run as read_volume and apply_plan make it: the deletions still to do, if any."""
    state = read(helper)
    items = [Item(path, DELETE, state.files[path].kind) for path in deleted if path in state.files]
    if items or recovery.pending(state):
        helper.put(stream.stream(Plan("vol", True, items), state, OWNER, Outcome(), run=run))
    return state


def chunks_of_a_deletion(volume: FakeVolume) -> list[bytes]:
    state = read(FakeHelper(volume))
    plan = Plan("vol", True, [Item(GONE, DELETE, "file")])
    return list(stream.stream(plan, state, OWNER, Outcome(), run="one"))


def cut_after(chunks: list[bytes], name: str) -> int:
    """How many chunks reach just past the header of the (last) member ``name``."""
    found = [n for n, c in enumerate(chunks) if c[:100].rstrip(b"\0") == name.encode()]
    assert found, f"{name} is not in the stream"
    return found[-1] + 1


def shape(node: Node) -> tuple[object, ...]:
    return node.kind, node.mode, node.uid, node.gid


def test_a_deletion_cut_anywhere_loses_nothing_and_the_next_run_finishes_it() -> None:
    base = FakeVolume(clock=lambda: NOW)
    skills(base)
    chunks = chunks_of_a_deletion(base)
    assert len(chunks) > 30

    for cut in range(len(chunks) + 1):
        volume = copy.deepcopy(base)
        before = {path: node for path, node in volume.nodes.items() if path != GONE}
        with contextlib.suppress(EngineError):
            FakeHelper(volume).put(chunks[:cut])

        # Every kept inode still has a name (in place, or in the stash; a symlink is copied).
        reachable = {id(node) for node in volume.nodes.values()}
        lost = [p for p, n in before.items() if n.kind == "file" and id(n) not in reachable]
        assert lost == [], f"cut after {cut} chunks"

        next_run(FakeHelper(volume), GONE)

        assert GONE not in volume.nodes, f"cut after {cut} chunks"
        for path, node in before.items():
            now = volume.nodes.get(path)
            assert now is not None, f"cut after {cut} chunks: {path} is missing"
            if node.kind == "dir":  # mode, owner and mtime
                assert (*shape(now), now.mtime) == (*shape(node), node.mtime), f"cut {cut}: {path}"
            elif node.kind == "symlink":  # written again, never hard-linked
                assert (now.kind, now.linkname, now.uid, now.gid, now.mtime) == (
                    "symlink",
                    node.linkname,
                    node.uid,
                    node.gid,
                    node.mtime,
                ), f"cut after {cut} chunks: {path}"
            else:
                assert now is node, f"cut after {cut} chunks: {path} is another inode"
        assert not recovery.pending(read(FakeHelper(volume))), f"cut after {cut} chunks"


def test_a_cut_after_the_replacement_is_finished_with_every_mode_owner_and_mtime() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    before = {p: copy.copy(n) for p, n in volume.nodes.items() if p.startswith(f"{P}/")}
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    helper.put(chunks[: cut_after(chunks, P)])
    assert volume.nodes[P].kind == "file"  # the kept paths are only in the stash now

    state = next_run(helper)

    assert state.files[P].kind == "dir"  # the plan saw the volume as recovery leaves it
    assert (volume.nodes[P].mode, volume.nodes[P].uid, volume.nodes[P].mtime) == (
        0o700,
        1234,
        before[f"{P}/SKILL.md"].mtime - 1,
    )
    del before[GONE]
    for path, node in before.items():
        now = volume.nodes[path]
        assert (now.kind, now.mode, now.uid, now.gid, now.mtime, now.content) == (
            node.kind,
            node.mode,
            node.uid,
            node.gid,
            node.mtime,
            node.content,
        ), path
    assert REBUILD_FILE not in volume.nodes


def test_what_the_agent_wrote_since_the_cut_stays() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    helper.put(chunks[: cut_after(chunks, P)])
    # The agent made the directory again, with a file of its own at a kept name.
    volume.add_dir(P, mode=0o755)
    volume.add_file(f"{P}/SKILL.md", b"the agent's\n")

    next_run(helper)

    assert volume.content(f"{P}/SKILL.md") == b"the agent's\n"
    assert volume.nodes[P].mode == 0o755
    assert volume.content(f"{P}/notes/second") == b"review\n"  # the rest is put back


def test_a_directory_the_agent_replaced_by_its_own_file_since_the_cut_is_not_rebuilt() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    helper.put(chunks[: cut_after(chunks, P)])
    volume.add_file(P, b"the agent's file\n")

    state = read(helper)

    assert state.recovery == []  # nothing is put back; the next run only clears the staging tree
    next_run(helper)
    assert volume.content(P) == b"the agent's file\n"
    assert not recovery.pending(read(helper))


def test_nothing_is_put_back_once_the_rebuild_finished() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    finished = next(n for n, c in enumerate(chunks) if b"-finished" in c[:100]) + 3
    helper.put(chunks[:finished])
    volume.remove(f"{P}/notes")  # the agent, since: had the run ended, it would stay gone too

    next_run(helper)

    assert f"{P}/notes" not in volume.nodes  # its directories dated again, nothing put back
    assert volume.nodes[STAGING_DIR].kind == "file"  # and the staging tree cleared


def test_a_cut_before_the_replacement_needs_nothing_put_back() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    helper.put(chunks[: cut_after(chunks, REBUILD_FILE) + 2])

    state = read(helper)

    assert state.rebuilds and state.recovery == []


def test_a_link_put_back_takes_the_owner_mode_and_mtime_of_the_stashed_inode() -> None:
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    helper = FakeHelper(volume)
    helper.put(chunks[: cut_after(chunks, P)])
    assert f"{P}/root.md" not in volume.nodes

    state = read(helper)

    [put] = [p for p in state.recovery or [] if p.path == f"{P}/root.md"]
    stash = volume.nodes[put.source]
    assert put == Put(f"{P}/root.md", put.source, stash.mode, stash.uid, stash.gid, stash.mtime)
    assert (put.uid, put.mode) == (0, 0o600)
    assert put.source.startswith(f"{STAGING_DIR}/one-keep-")


def test_a_cut_just_before_the_finished_marker_is_cleared_by_the_next_run() -> None:
    # Nothing is left to put back, yet the staging tree (journal, stash) must go: an export
    # refuses a volume while a rebuild has started and not finished.
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    finished = next(n for n, c in enumerate(chunks) if b"-finished" in c[:100])
    FakeHelper(volume).put(chunks[:finished])
    state = read(FakeHelper(volume))
    assert recovery.pending(state)
    assert all(not put.source and not put.linkname for put in state.recovery or ())  # dates only

    next_run(FakeHelper(volume))

    assert volume.nodes[STAGING_DIR].kind == "file"
    assert not recovery.pending(read(FakeHelper(volume)))


def test_nothing_is_put_back_below_a_root_name_the_run_deleted() -> None:
    # A restore --replace deletes the root directory .claude with a program, before its stream:
    # the interrupted rebuild below it must not recreate .claude/skills/review/... afterwards.
    volume = FakeVolume(clock=lambda: NOW)
    skills(volume)
    chunks = chunks_of_a_deletion(volume)
    FakeHelper(volume).put(chunks[: cut_after(chunks, P) + 2])
    state = read(FakeHelper(volume))
    assert state.recovery

    recovery.forget_below(state, [".claude"])

    assert state.recovery == []
