"""Tar streams in constant memory: write members one at a time, read a chunk iterator as a file."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

BLOCK = tarfile.BLOCKSIZE
CHUNK = 1024 * 1024
END_OF_ARCHIVE = b"\0" * (2 * BLOCK)


class ChangedWhileRead(Exception):
    """A file changed while it was being sent (size or checksum); its staged copy is dropped."""


def member(info: tarfile.TarInfo) -> bytes:
    """The header block(s) of one member: PAX where needed (long or non-ASCII names, big
    numbers), else a plain ustar block built directly (tarfile's general encoder costs tens of
    microseconds per header, which adds up over two headers per file)."""
    return _ustar(info) or info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")


_OCTAL_7 = 8**7
_OCTAL_11 = 8**11


def _ustar(info: tarfile.TarInfo) -> bytes | None:
    """The ustar header tarfile would write for ``info``, or None if it needs PAX."""
    name, link = info.name, info.linkname
    if info.type == tarfile.DIRTYPE and not name.endswith("/"):
        name += "/"  # as tarfile writes directories
    if (
        len(name) > 100
        or len(link) > 100
        or not (name.isascii() and link.isascii())
        or not isinstance(info.mtime, int)
        or not (0 <= info.mtime < _OCTAL_11 and 0 <= info.size < _OCTAL_11)
        or not (0 <= info.uid < _OCTAL_7 and 0 <= info.gid < _OCTAL_7)
        or len(info.uname) > 32
        or len(info.gname) > 32
        or not (info.uname + info.gname).isascii()
        or info.type not in (*_NO_DATA, tarfile.REGTYPE)
    ):
        return None
    header = b"".join(
        (
            name.encode().ljust(100, b"\0"),
            b"%07o\0" % (info.mode & 0o7777),
            b"%07o\0" % info.uid,
            b"%07o\0" % info.gid,
            b"%011o\0" % (0 if info.type in _NO_DATA else info.size),
            b"%011o\0" % info.mtime,
            b"        ",  # checksum, filled in below
            info.type,
            link.encode().ljust(100, b"\0"),
            b"ustar\x0000",
            info.uname.encode().ljust(32, b"\0"),
            info.gname.encode().ljust(32, b"\0"),
            b"\0" * 16,  # device numbers: only for devices, which are never written here
            b"\0" * 155,
        )
    ).ljust(BLOCK, b"\0")
    checksum = b"%06o\0" % sum(header)
    return header[:148] + checksum + header[155:]


_NO_DATA = (tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)


def file_member(
    info: tarfile.TarInfo, source: BinaryIO, on_hash: Callable[[str], None] | None = None
) -> Iterator[bytes]:
    """Header, exactly ``info.size`` bytes of ``source``, and padding; hashes what it sends.

    A file that shrinks while being read would desynchronise the whole stream, so the missing
    bytes are zero-filled and ChangedWhileRead is raised after the member is complete; callers then
    leave that member unused (it was written to a staging name).
    """
    yield member(info)
    digest = hashlib.sha256()
    remaining = info.size
    while remaining:
        chunk = source.read(min(CHUNK, remaining))
        if not chunk:
            break
        digest.update(chunk)
        remaining -= len(chunk)
        yield chunk
    if remaining:
        yield b"\0" * remaining
    yield padding(info.size)
    if remaining:
        raise ChangedWhileRead(f"changed while it was read ({remaining} bytes short)")
    if on_hash is not None:
        on_hash(digest.hexdigest())


def bytes_member(info: tarfile.TarInfo, data: bytes) -> Iterator[bytes]:
    info.size = len(data)
    yield member(info)
    yield data
    yield padding(len(data))


def padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (e.g. the engine's get_archive stream)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class ForgetfulTarFile(tarfile.TarFile):
    """A TarFile that does not keep every TarInfo it has read.

    tarfile remembers all members for random access, which a streaming pass never uses; for a
    million-member archive that doubles the memory of our own index.
    """

    members: list[tarfile.TarInfo]  # real but undocumented, so missing from the type stubs

    def next(self) -> tarfile.TarInfo | None:
        member = super().next()
        self.members.clear()
        return member


def open_stream(chunks: Iterable[bytes]) -> tarfile.TarFile:
    """A tar reader over chunks, in stream mode: members must be read in order, once (and are
    not remembered, so a volume of a million files costs no more than one)."""
    reader = io.BufferedReader(ChunkReader(chunks), buffer_size=CHUNK)
    return ForgetfulTarFile.open(fileobj=reader, mode="r|")
