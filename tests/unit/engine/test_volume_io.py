"""The pieces of engine/volume_io.py that make Podman's answers Docker's, without an engine (the
whole of it runs against both engines in tests/engine/test_engine_facade.py)."""

from __future__ import annotations

import io
import tarfile

import pytest

from containai.engine import volume_io
from containai.transfer.tar import open_stream


def tar_of(*names: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in names:
            info = tarfile.TarInfo(name)
            data = name.encode() * 200  # several blocks each
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_a_peek_reads_the_first_header_and_gives_back_the_whole_stream() -> None:
    raw = tar_of("first", "second")
    chunks = [raw[i : i + 300] for i in range(0, len(raw), 300)]
    first, stream = volume_io._peek(iter(chunks))
    assert first is not None and first.name == "first"
    assert b"".join(stream) == raw


def test_a_peek_at_nothing_is_none() -> None:
    first, stream = volume_io._peek(iter([b""]))
    assert first is None and b"".join(stream) == b""


@pytest.mark.parametrize(
    ("name", "path", "same"),
    [("f", "f", True), ("d/", "x/d", True), ("d/g", "d", True), ("target", "link", False)],
)
def test_a_download_named_after_another_basename_gives_a_symlink_away(
    name: str, path: str, same: bool
) -> None:
    assert volume_io._named_as(tarfile.TarInfo(name), path) is same


@pytest.mark.parametrize(
    ("name", "parent", "below"),
    [
        ("data/x", "", "x"),  # Docker, the volume root
        ("/x", "", "x"),  # Podman, the volume root
        ("", "", ""),  # Podman's root entry
        ("/x/y", "", "x/y"),
        ("d/x", "d", "x"),  # both engines below a directory
        ("d", "d", ""),
    ],
)
def test_an_entry_is_found_by_its_path_below_the_listed_directory(
    name: str, parent: str, below: str
) -> None:
    assert volume_io._below(name, parent) == below


def test_a_symlink_entry_is_rebuilt_under_its_own_name() -> None:
    link = tarfile.TarInfo("/skills/current")
    link.type, link.linkname, link.mtime, link.uid, link.gid = tarfile.SYMTYPE, "v2", 1.7e9, 1, 2
    with open_stream([volume_io._symlink_tar(link)]) as tar:
        members = [(m.name, m.issym(), m.linkname, m.mtime, m.uid, m.gid) for m in tar]
    assert members == [("current", True, "v2", 1_700_000_000, 1, 2)]


def test_a_time_is_given_as_the_engines_stat_gives_it() -> None:
    assert volume_io._rfc3339(1_700_000_000.9) == "2023-11-14T22:13:20Z"
