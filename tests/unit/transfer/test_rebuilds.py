"""The rebuild journal (containai.transfer.rebuilds) read as hostile input, how a volume read
takes it, and what a three-way import reads for a deletion (partial_read.read_trees)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from containai.transfer import partial_read
from containai.transfer.plan import DELETE, Item, Plan
from containai.transfer.rebuilds import DamagedJournal, Kept, Rebuild, decode, encode
from containai.transfer.records import new_records
from containai.transfer.volume_state import (
    REBUILD_FILE,
    STATE_FILE,
    Record,
    VolumeState,
    encode_records,
)
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import FakeHelper, FakeVolume

GOOD = Rebuild(
    "a/b",
    0o750,
    1234,
    1235,
    1_600_000_000,
    "r-0-started",
    "r-0-finished",
    (Kept("a/b/d", "", 0o700, 0, 0, 7), Kept("a/b/d/f", "r-keep-0")),
)


def test_a_journal_reads_back_as_written() -> None:
    assert decode(encode([GOOD])) == [GOOD]


def test_a_kept_symlink_reads_back_with_its_target() -> None:
    kept = (
        Kept("a/b/l", "", 0o777, 1000, 1000, 9, "../x"),
        Kept("a/b/m", "", 0o777, 0, 0, 9, "/abs"),
    )
    rebuild = Rebuild("a/b", 0o700, 0, 0, 1, "r-started", "r-finished", kept, above_mtime=7)
    assert decode(encode([rebuild])) == [rebuild]


def forged(**changes: Any) -> bytes:
    body = json.loads(encode([GOOD]))
    body["rebuilds"][0].update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    "data",
    [
        b'{"format": "containai-rebu',  # torn by a cut
        b"[]",
        b'{"format": "something else", "rebuilds": []}',
        forged(path="/etc"),
        forged(path="a/../../x"),
        forged(path="a//b"),
        forged(kept=[["elsewhere/f", "r-keep-0"]]),  # not below the rebuilt directory
        forged(kept=[["a/b/f", "../../state.json"]]),  # a stash outside the staging tree
        forged(kept=[["a/b/f", "sub/name"]]),
        forged(kept=[["a/b/d", -1, 0, 0, 0]]),
        forged(kept=[["a/b/d", True, 0, 0, 0]]),
        forged(kept=[["a/b/d", "0700", 0, 0, 0]]),
        forged(meta=[1, 2, 3]),
        forged(started=".."),
        forged(kept=[["a/b/l", "symlink", "../../../etc", 0, 0, 0]]),  # out of the volume
        forged(kept=[["a/b/l", "symlink", "", 0, 0, 0]]),
        forged(kept=[["a/b/l", "symlink", 7, 0, 0, 0]]),
        forged(kept=[["a/b/l", "symlink", "/../../../x", 0, 0, 0]]),  # absolute, still out
        forged(kept=[[]]),
        forged(meta=[0o700, 0, 0, 8**11]),  # more than a tar header holds
        forged(above=-1),
        forged(above="1600000000"),
    ],
)
def test_anything_else_is_a_damaged_journal(data: bytes) -> None:
    with pytest.raises(DamagedJournal):
        decode(data)


def staging_dir(volume: FakeVolume) -> None:
    """What an interrupted run leaves: the staging tree is a directory."""
    volume.add_dir(".containai/staging", mode=0o700)


def test_a_volume_read_takes_the_journal_and_warns_of_a_damaged_one() -> None:
    volume = FakeVolume()
    staging_dir(volume)
    volume.add_file(REBUILD_FILE, encode([GOOD]))
    assert read_volume(FakeHelper(volume).get(""), hash_paths=set()).rebuilds == [GOOD]

    volume.add_file(REBUILD_FILE, b'{"format": "containai-rebuild", "rebu')
    state = read_volume(FakeHelper(volume).get(""), hash_paths=set())

    assert state.rebuilds == [] and not state.blocked
    [warning] = state.warnings
    assert warning.startswith(f"{REBUILD_FILE} is not a rebuild journal (")
    assert warning.endswith("): ignored")


def test_a_journal_too_large_to_read_blocks_every_write() -> None:
    # Clearing the staging tree could lose what only its stash holds: the run must refuse.
    volume = FakeVolume()
    staging_dir(volume)
    volume.add_file(REBUILD_FILE, encode([GOOD]))
    helper = FakeHelper(volume)

    full = read_volume(helper.get(""), hash_paths=set(), max_record_bytes=100)
    partial = partial_read.read_records(helper.get_if_present, helper.stat, max_record_bytes=100)

    for state in (full, partial):
        assert "raise that limit" in state.blocked
        assert state.rebuilds == []


def test_a_three_way_read_learns_of_an_interrupted_rebuild() -> None:
    volume = FakeVolume()
    volume.add_file(STATE_FILE, encode_records({}))
    staging_dir(volume)
    volume.add_file(REBUILD_FILE, encode([GOOD]))
    helper = FakeHelper(volume)

    state = partial_read.read_records(helper.get_if_present, helper.stat)

    assert state.rebuilds == [GOOD]  # (steps.volume.read_volume then reads everything)


def test_a_tree_read_lists_a_directory_whole_with_its_owners() -> None:
    volume = FakeVolume()
    volume.add_dir("m", uid=0, gid=0)
    volume.add_dir("m/d", mode=0o700, uid=1234, gid=1235)
    volume.add_file("m/d/f", b"f", uid=0, gid=0)
    volume.add_file("m/d/g", b"g")
    volume.add_file("outside", b"o")
    helper = FakeHelper(volume)
    state = VolumeState(exists=True, complete=False)

    requests = partial_read.read_trees(state, {"m/d"}, {"m/d/g"}, helper.get_if_present)

    assert requests == 1
    assert sorted(state.files) == ["m/d", "m/d/f", "m/d/g"]
    assert (state.files["m/d"].mode, state.files["m/d"].uid, state.files["m/d"].gid) == (
        0o700,
        1234,
        1235,
    )
    assert state.files["m/d/f"].uid == 0
    assert state.files["m/d/g"].sha256 is not None and state.files["m/d/f"].sha256 is None


def test_a_deletion_that_failed_stays_in_the_record() -> None:
    record = Record(1, 1, "0" * 64)
    state = VolumeState(True, record={"a/x": record, "a/y": record})
    plan = Plan("vol", True, [Item("a/x", DELETE, "file"), Item("a/y", DELETE, "file")])

    records, _ = new_records(plan, state, {}, {}, {"a/y": "could not"})

    assert records == {"a/y": record}  # it is deleted the next time


def test_a_state_record_with_numbers_out_of_range_reads_as_no_record() -> None:
    from containai.transfer.volume_state import parse_records

    document = b'{"format": "containai-state", "version": 1, "files": {"a": {"size": Infinity}}}'
    assert parse_records(document) == ({}, {})
