"""write_archive on an engine whose downloads carry no owners (Podman reports its helper's user
for every file): ExportRequest.owner gives every member containai's owner instead."""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from containai.archive.writer import ExportRequest, write_archive
from containai.host.excludes import Excludes

T = 1_600_000_000


def volume_stream() -> bytes:
    """A download of the volume as Docker names it: the mount point's basename first."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, owner, data in (
            ("data", (1000, 1000), None),
            ("data/mine.txt", (1000, 1000), b"mine\n"),
            ("data/roots.txt", (0, 0), b"root's\n"),
            ("data/sub", (1234, 5678), None),
        ):
            info = tarfile.TarInfo(name)
            info.uid, info.gid, info.mtime = *owner, T
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@contextlib.contextmanager
def no_fetch(name: str) -> Iterator[tuple[IO[bytes], int]]:
    raise AssertionError(f"nothing is fetched again here ({name})")
    yield  # pragma: no cover


def owners(path: Path) -> dict[str, tuple[int, int]]:
    with tarfile.open(path) as archive:
        return {m.name: (m.uid, m.gid) for m in archive if not m.name.startswith(".containai")}


@pytest.mark.parametrize(
    ("owner", "expected"),
    [
        (None, {"mine.txt": (1000, 1000), "roots.txt": (0, 0), "sub": (1234, 5678)}),
        ((1000, 1000), {"mine.txt": (1000, 1000), "roots.txt": (1000, 1000), "sub": (1000, 1000)}),
    ],
    ids=["owners-reported", "owners-not-reported"],
)
def test_members_carry_the_downloads_owners_unless_the_request_names_one(
    tmp_path: Path, owner: tuple[int, int] | None, expected: dict[str, tuple[int, int]]
) -> None:
    request = ExportRequest(
        volume="v",
        labels={},
        excludes=Excludes([]),
        include_secrets=True,
        is_secret=lambda path: False,
        compression_level=1,
        owner=owner,
    )
    out = tmp_path / "x.tgz"
    with out.open("wb") as handle:
        summary = write_archive([volume_stream()], handle, request, no_fetch)
    assert summary.files == 2
    assert owners(out) == expected
