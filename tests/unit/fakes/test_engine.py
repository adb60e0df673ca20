"""The fake engine behaves as the real one was seen to (tests/fakes/engine.py tells what)."""

from __future__ import annotations

import contextlib
import io
import tarfile
from typing import Any

import pytest

from containai.engine.helpers import HelperSpec
from containai.errors import EngineError
from containai.transfer import volume_state
from tests.fakes.engine import MTIME, NOW, FakeEngine, FakeHelper, FakeVolume

SPEC = HelperSpec("containai/helper", "/data", ["/never"], "1000:1000", 1000, 1000, 0o700)


def entry(
    name: str,
    kind: bytes = tarfile.REGTYPE,
    data: bytes = b"",
    *,
    mode: int = 0o644,
    owner: tuple[int, int] = (1000, 1000),
    mtime: int = MTIME,
    link: str = "",
) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime, info.linkname = kind, mode, mtime, link
    info.uid, info.gid = owner
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    return info, data


def tar(*entries: tuple[tarfile.TarInfo, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def chunks(raw: bytes, size: int = 700) -> list[bytes]:
    return [raw[start : start + size] for start in range(0, len(raw), size)]


def listing(stream: Any) -> list[tuple[str, str, int, int, int, int, str, bytes]]:
    """Every member of a get stream: name, type, mode, uid, gid, mtime, linkname, content."""
    rows = []
    with tarfile.open(fileobj=io.BytesIO(b"".join(stream)), mode="r:") as archive:
        for info in archive:
            handle = archive.extractfile(info) if info.isreg() else None
            kind = {b"0": "file", b"5": "dir", b"2": "symlink", b"1": "hardlink"}[info.type]
            data = handle.read() if handle else b""
            rows.append(
                (
                    info.name,
                    kind,
                    info.mode,
                    info.uid,
                    info.gid,
                    int(info.mtime),
                    info.linkname,
                    data,
                )
            )
    return rows


def test_a_put_then_a_get_gives_the_tree_back_in_the_engines_order(helper: FakeHelper) -> None:
    helper.put(
        chunks(
            tar(
                entry("a", tarfile.DIRTYPE, mode=0o750),
                entry("a/x", data=b"xx", mtime=MTIME + 1),
                entry("a.txt", data=b"top", mode=0o600, mtime=MTIME + 2),
                entry("b", tarfile.SYMTYPE, owner=(1001, 1002), mtime=MTIME + 3, link="a/x"),
                entry("c", tarfile.LNKTYPE, link="a/x"),
                entry("A", data=b"upper", mtime=MTIME + 4),
            )
        )
    )

    # As the engine listed the same tree: the root first, depth first, names in byte order
    # ("A" < "a" < "a/x" < "a.txt"), the second name of an inode as a hard link to the first,
    # and the file type in every mode.
    assert listing(helper.get("")) == [
        ("data", "dir", 0o40700, 1000, 1000, NOW, "", b""),
        ("data/A", "file", 0o100644, 1000, 1000, MTIME + 4, "", b"upper"),
        ("data/a", "dir", 0o40750, 1000, 1000, MTIME, "", b""),
        ("data/a/x", "file", 0o100644, 1000, 1000, MTIME + 1, "", b"xx"),
        ("data/a.txt", "file", 0o100600, 1000, 1000, MTIME + 2, "", b"top"),
        ("data/b", "symlink", 0o120777, 1001, 1002, MTIME + 3, "a/x", b""),
        ("data/c", "hardlink", 0o100644, 1000, 1000, MTIME + 1, "data/a/x", b""),
    ]


def test_a_get_below_the_root_names_members_under_the_paths_basename(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("a/b/x", b"1")
    volume.add_file("a/b/y", b"2")

    assert [row[0] for row in listing(helper.get("a/b"))] == ["b", "b/x", "b/y"]
    assert [row[0] for row in listing(helper.get("a/b/x"))] == ["x"]
    assert helper.read_file("a/b/y") == b"2"
    with pytest.raises(EngineError, match="not a regular file"):
        helper.read_file("a/b")
    with pytest.raises(EngineError):
        helper.get("nowhere")


def test_missing_parents_are_made_root_owned_0755_and_dated_now(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    helper.put([tar(entry("deep/er/file", data=b"d"))])

    for parent in ("deep", "deep/er"):
        node = volume.nodes[parent]
        assert (node.kind, node.mode, node.uid, node.gid, node.mtime) == ("dir", 0o755, 0, 0, NOW)
    assert volume.content("deep/er/file") == b"d"


def test_a_file_replaces_a_directory_with_everything_below_it(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("d/sub/x", b"x")
    volume.add_symlink("d/l", "sub")
    volume.add_file("d2", b"neighbour")

    helper.put([tar(entry("d", data=b"was a dir", mtime=MTIME + 7))])

    assert sorted(volume.nodes) == ["", "d", "d2"]
    assert volume.content("d") == b"was a dir"
    assert volume.nodes["d"].mtime == MTIME + 7
    assert volume.content("d2") == b"neighbour"


def test_a_directory_replaces_a_file_or_a_symlink_but_not_what_it_points_to(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("f", b"file")
    volume.add_dir("target")
    volume.add_file("target/kept", b"kept")
    volume.add_symlink("s", "target")

    helper.put([tar(entry("f", tarfile.DIRTYPE, mode=0o700), entry("s", tarfile.DIRTYPE))])

    assert volume.nodes["f"].kind == volume.nodes["s"].kind == "dir"
    assert volume.nodes["f"].mode == 0o700
    assert volume.content("target/kept") == b"kept"


def test_a_directory_over_a_directory_changes_its_metadata_and_keeps_its_children(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_dir("a", mode=0o750)
    volume.add_file("a/x", b"x")

    helper.put([tar(entry("a", tarfile.DIRTYPE, mode=0o711, owner=(1500, 1600), mtime=MTIME + 9))])

    node = volume.nodes["a"]
    assert (node.mode, node.uid, node.gid, node.mtime) == (0o711, 1500, 1600, MTIME + 9)
    assert volume.content("a/x") == b"x"


def test_a_root_entry_is_ignored(volume: FakeVolume, helper: FakeHelper) -> None:
    helper.put([tar(entry(".", tarfile.DIRTYPE, mode=0o777, owner=(42, 42)))])

    root = volume.nodes[""]
    assert (root.mode, root.uid, root.gid) == (0o700, 1000, 1000)


def test_setuid_and_setgid_bits_are_kept(volume: FakeVolume, helper: FakeHelper) -> None:
    helper.put(
        [tar(entry("suid", data=b"s", mode=0o4755), entry("sgid", tarfile.DIRTYPE, mode=0o2775))]
    )

    assert volume.nodes["suid"].mode == 0o4755
    assert volume.nodes["sgid"].mode == 0o2775


# -- hard links --------------------------------------------------------------------------------


def test_a_hard_link_shares_the_inode_and_takes_only_the_owner_of_its_header(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("a.txt", b"top", mode=0o644, mtime=MTIME + 2)

    helper.put(
        [tar(entry("c2", tarfile.LNKTYPE, mode=0o600, owner=(1234, 4321), mtime=1, link="a.txt"))]
    )

    # Observed: the link's uid/gid land on the shared inode (lchown); its mode and mtime do not.
    assert volume.same_file("a.txt", "c2")
    node = volume.nodes["a.txt"]
    assert (node.mode, node.uid, node.gid, node.mtime) == (0o644, 1234, 4321, MTIME + 2)


def test_a_hard_link_to_a_symlink_is_a_second_name_of_the_symlink(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("f", b"x")
    helper.put(
        [
            tar(
                entry("a-sym", tarfile.SYMTYPE, link="f"),
                entry("z-hard", tarfile.LNKTYPE, owner=(1234, 1234), link="a-sym"),
            )
        ]
    )

    # As the engine listed it (what cp -al makes of a symlink).
    assert listing(helper.get(""))[1:] == [
        ("data/a-sym", "symlink", 0o120777, 1234, 1234, MTIME, "f", b""),
        ("data/f", "file", 0o100644, 1000, 1000, MTIME, "", b"x"),
        ("data/z-hard", "hardlink", 0o120777, 1234, 1234, MTIME, "data/a-sym", b""),
    ]


def test_replacing_one_name_of_a_hard_link_leaves_the_other_alone(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("a/x", b"xx")
    volume.add_hardlink("c", "a/x")

    helper.put([tar(entry("c", data=b"new c"))])

    assert volume.content("a/x") == b"xx"
    assert volume.content("c") == b"new c"
    assert not volume.same_file("a/x", "c")
    # The only name left of the old inode is listed as a regular file again.
    assert [(r[0], r[1]) for r in listing(helper.get("a"))] == [("a", "dir"), ("a/x", "file")]


def test_a_directory_replacing_one_name_of_a_hard_link_keeps_the_content_under_the_other(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("h/one", b"shared")
    volume.add_hardlink("two", "h/one")

    helper.put([tar(entry("h", data=b"now a file"))])

    assert volume.content("two") == b"shared"
    assert volume.content("h") == b"now a file"


@pytest.mark.parametrize(
    ("link", "message"), [("nowhere", "link nowhere"), ("dir", "link dir")], ids=["missing", "dir"]
)
def test_a_hard_link_to_nothing_or_to_a_directory_fails_after_the_entries_before_it(
    volume: FakeVolume, helper: FakeHelper, link: str, message: str
) -> None:
    volume.add_dir("dir")

    with pytest.raises(EngineError, match=message):
        helper.put(
            [
                tar(
                    entry("first", data=b"1"),
                    entry("broken", tarfile.LNKTYPE, link=link),
                    entry("after", data=b"2"),
                )
            ]
        )

    assert volume.content("first") == b"1"
    assert "broken" not in volume.nodes and "after" not in volume.nodes


def test_a_file_under_a_file_or_a_symlink_fails(volume: FakeVolume, helper: FakeHelper) -> None:
    volume.add_file("top", b"t")
    volume.add_dir("real")
    volume.add_symlink("link", "real")

    with pytest.raises(EngineError, match="top is a file"):
        helper.put([tar(entry("top/x", data=b"x"))])
    # Docker would write through the link (into real/x); the fake refuses instead of guessing.
    with pytest.raises(EngineError, match="link is a symlink"):
        helper.put([tar(entry("link/x", data=b"x"))])
    assert sorted(volume.nodes) == ["", "link", "real", "top"]


# -- interrupted streams and directory times ---------------------------------------------------


def test_a_stream_cut_inside_a_file_fails_and_leaves_it_torn_and_root_owned(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    big = b"z" * 5000
    raw = tar(entry("first", data=b"ok"), entry("torn", data=big, mode=0o600))

    with pytest.raises(EngineError):
        helper.put([raw[: raw.find(big) + 1200]])

    assert volume.content("first") == b"ok"
    torn = volume.nodes["torn"]
    assert big.startswith(torn.content) and len(torn.content) < len(big)
    assert (torn.uid, torn.gid, torn.mtime) == (0, 0, NOW)


def test_a_stream_that_stops_between_members_is_accepted(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    raw = tar(entry("whole", data=b"ok"), entry("never", data=b"no"))

    helper.put([raw[:1024]])  # the first header and its data block, no end-of-archive blocks

    assert volume.content("whole") == b"ok"
    assert "never" not in volume.nodes


def test_a_stream_cut_before_a_members_padding_is_accepted_but_not_inside_a_header(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    raw = tar(entry("whole", data=b"ok", mtime=MTIME + 1), entry("next", data=b"no"))

    helper.put([raw[: 512 + 2]])  # Go's reader sees the data end, then a clean EOF
    with pytest.raises(EngineError, match="unexpected EOF"):
        helper.put([raw[: 1024 + 100]])  # the next header cut short

    assert volume.content("whole") == b"ok"
    assert "next" not in volume.nodes


def test_creating_or_removing_a_name_dates_its_directory_now(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("d/old", b"o")
    volume.add_dir("e")
    volume.add_file("e/gone", b"g")

    helper.put([tar(entry("d/new", data=b"n"))])
    volume.remove("e/gone")

    assert volume.nodes["d"].mtime == NOW
    assert volume.nodes["e"].mtime == NOW
    assert volume.nodes[""].mtime == NOW


def test_directory_entries_get_their_mtime_back_once_the_stream_has_ended(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    # Observed: a child written after its directory's entry does not leave the directory dated
    # now: the engine sets the mtimes of directory entries again at the end.
    helper.put([tar(entry("a", tarfile.DIRTYPE, mtime=MTIME + 11), entry("a/new", data=b"n"))])

    assert volume.nodes["a"].mtime == MTIME + 11


def test_a_failed_stream_does_not_set_directory_mtimes_again(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    data = b"n" * 2000
    raw = tar(entry("a", tarfile.DIRTYPE, mtime=MTIME + 11), entry("a/new", data=data))

    with pytest.raises(EngineError):
        helper.put([raw[: raw.find(data) + 500]])

    assert volume.nodes["a"].mtime == NOW


def test_an_exception_from_the_stream_propagates_after_the_entries_already_received(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    class Interrupted(Exception):
        pass

    def interrupted() -> Any:
        yield tar(entry("a", data=b"a"))[:1024]
        raise Interrupted

    with pytest.raises(Interrupted):
        helper.put(interrupted())

    assert volume.content("a") == b"a"


# -- read by the product's own reader ----------------------------------------------------------


def test_the_volume_reader_sees_a_second_name_as_the_same_file(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file("first", b"shared", mode=0o640, mtime=MTIME + 5)
    volume.add_hardlink("second", "first")
    volume.add_symlink("link", "first")

    state = volume_state.read(helper.get(""), hash_paths={"first"})

    assert state.files["second"] == state.files["first"]
    assert state.files["first"].sha256 is not None
    assert state.files["first"].mode == 0o640 and state.files["first"].mtime == MTIME + 5
    assert state.files["link"].linkname == "first"
    assert "" not in state.files


def test_every_chunking_of_a_stream_gives_the_same_tree() -> None:
    raw = tar(
        entry("a", tarfile.DIRTYPE),
        entry("a/x", data=b"x" * 3000),
        entry("a/y", tarfile.LNKTYPE, link="a/x"),
    )
    trees = []
    for size in (1, 511, 512, 4096):
        target = FakeVolume(clock=lambda: NOW)
        FakeHelper(target).put(chunks(raw, size))
        trees.append(listing(target.tar()))

    assert all(tree == trees[0] for tree in trees)
    assert [row[0] for row in trees[0]] == ["data", "data/a", "data/a/x", "data/a/y"]


# -- the engine facade -------------------------------------------------------------------------


def test_the_engine_creates_volumes_and_hands_out_helpers_it_removes_afterwards() -> None:
    engine = FakeEngine()
    assert engine.volume("v") is None

    info = engine.create_volume("v", {"containai.managed": "true"})
    again = engine.create_volume("v", {"other": "labels"})

    assert info.name == "v" and info.labels == {"containai.managed": "true"}
    assert again.labels == info.labels  # an existing volume keeps its labels
    with engine.helper("v", SPEC) as helper:
        helper.put([tar(entry("x", data=b"x"))])
        assert helper.read_file("x") == b"x"
    assert helper.closed
    with pytest.raises(EngineError, match="removed"):
        helper.put([tar(entry("y", data=b"y"))])
    assert engine.remove_stale_helpers("v") == 0
    assert engine.containers_using("v") == []


def test_a_read_only_helper_refuses_to_write() -> None:
    engine = FakeEngine()
    engine.create_volume("v", {})

    with engine.helper("v", SPEC, read_only=True) as helper, pytest.raises(EngineError):
        helper.put([tar(entry("x", data=b"x"))])

    assert sorted(engine.volumes["v"].nodes) == [""]


def test_the_engine_runs_only_the_rm_of_planned_deletions() -> None:
    engine = FakeEngine()
    engine.create_volume("v", {})
    volume = engine.volumes["v"]
    volume.add_file("a/x", b"x")
    volume.add_file("b", b"b")

    code, _ = engine.run_in_volume(
        "v", "busybox", ["sh", "-c", 'cd /data && rm -rf -- "$@"', "sh", "a", "b", "missing"]
    )
    refused, output = engine.run_in_volume("v", "busybox", ["sh", "-c", "reboot"])

    assert code == 0 and sorted(volume.nodes) == [""]
    assert refused != 0 and "cannot run" in output


def test_cut_streams_never_apply_a_later_entry_before_an_earlier_one() -> None:
    raw = tar(*(entry(f"f{number}", data=bytes([65 + number]) * 600) for number in range(4)))
    for cut in range(256, len(raw), 256):
        target = FakeVolume(clock=lambda: NOW)
        with contextlib.suppress(EngineError):
            FakeHelper(target).put([raw[:cut]])
        names = sorted(name for name in target.nodes if name)
        assert names == [f"f{n}" for n in range(len(names))], cut
        # Only the last member can be short: the ones before it arrived whole.
        assert all(len(target.content(name)) == 600 for name in names[:-1]), cut
