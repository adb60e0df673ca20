"""containai.archive.parallel_gzip: one ordinary gzip member, whatever the block count."""

from __future__ import annotations

import gzip
import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from containai.archive.parallel_gzip import ParallelGzipWriter

TEXT = b"".join(b"line %d of some config text\n" % n for n in range(20_000))


def compress(data: bytes, *, block: int = 1000, writes: int = 777, workers: int = 3) -> bytes:
    out = io.BytesIO()
    with ParallelGzipWriter(out, 6, workers=workers, block=block) as writer:
        for start in range(0, len(data), writes):
            writer.write(data[start : start + writes])
    return out.getvalue()


@pytest.mark.parametrize("size", [0, 1, 999, 1000, 1001, 4000, len(TEXT)])
def test_any_size_comes_back_exactly(size: int) -> None:
    data = (TEXT + os.urandom(5000))[:size]

    assert gzip.decompress(compress(data)) == data


def test_the_output_is_one_member_that_tarfile_stream_mode_reads(tmp_path: Path) -> None:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w|") as archive:
        info = tarfile.TarInfo("a.txt")
        info.size = len(TEXT)
        archive.addfile(info, io.BytesIO(TEXT))
    packed = compress(raw.getvalue())

    # tarfile's stream mode stops after a first member: it must get everything.
    with tarfile.open(fileobj=io.BytesIO(packed), mode="r|gz") as archive:
        member = next(iter(archive))
        handle = archive.extractfile(member)
        assert handle is not None and handle.read() == TEXT
    if shutil.which("gzip"):
        (tmp_path / "x.gz").write_bytes(packed)
        assert subprocess.run(["gzip", "-t", str(tmp_path / "x.gz")]).returncode == 0


def test_it_is_reproducible_and_compresses_as_well_as_one_stream() -> None:
    one_stream = len(gzip.compress(TEXT, 6, mtime=0))

    first, second = compress(TEXT, block=64 * 1024), compress(TEXT, block=64 * 1024, workers=1)

    assert first == second
    assert len(first) <= one_stream * 1.01  # each block is primed with the one before


def test_a_failure_inside_writes_no_trailer() -> None:
    out = io.BytesIO()
    with pytest.raises(RuntimeError), ParallelGzipWriter(out, 6, block=1000) as writer:
        writer.write(TEXT[:5000])
        raise RuntimeError("the volume stream broke")

    with pytest.raises((EOFError, OSError)):
        gzip.decompress(out.getvalue())
    with pytest.raises(ValueError):
        writer.write(b"more")
