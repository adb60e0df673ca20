"""tarfile, hardened for hostile input: bounded header memory, honest end-of-archive, and no
list of every member kept.

tarfile reads a member's header chain (PAX records, GNU long names) into memory before the
caller sees the member, and ends iteration silently on a missing end marker or a garbage
header; the classes below close both holes for the archive reader.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass
from typing import Final, Self

from containai.archive.names import oneline

# tarfile follows extension headers recursively; a long chain would hit RecursionError.
_MAX_HEADER_CHAIN: Final = 8
# Header types that describe the member after them rather than being members themselves.
_EXTENSION_TYPES: Final = frozenset(
    {
        tarfile.XHDTYPE,
        tarfile.XGLTYPE,
        tarfile.SOLARIS_XHDTYPE,
        tarfile.GNUTYPE_LONGNAME,
        tarfile.GNUTYPE_LONGLINK,
    }
)
_REGULAR_KINDS: Final = frozenset({"file", "hardlink"})


class Malformed(Exception):
    """Raised from inside tarfile callbacks; turned into an ArchiveError naming the file."""


class BudgetReader:
    """The decompressed stream, refusing to yield more than the budget last allowed.

    tarfile buffers whole PAX/GNU headers in memory and walks their chains before it hands us
    a member, so without this a single header could claim gigabytes of memory.
    """

    def __init__(self, inner: gzip.GzipFile) -> None:
        self._inner = inner
        self._total = 0
        self._limit = 0
        self._complaint = ""

    def allow(self, nbytes: int, complaint: str) -> None:
        """Permit `nbytes` more; reading beyond raises Malformed(complaint)."""
        self._limit = self._total + nbytes
        self._complaint = complaint

    def read(self, size: int = -1, /) -> bytes:
        room = self._limit - self._total
        # Ask for one byte past the budget: only data that really exists breaks it.
        data = self._inner.read(room + 1 if size < 0 else min(size, room + 1))
        self._total += len(data)
        if self._total > self._limit:
            raise Malformed(self._complaint)
        return data

    def tell(self) -> int:
        return self._total

    def write(self, data: bytes, /) -> int:
        raise io.UnsupportedOperation("read-only stream")

    def seek(self, offset: int, /) -> int:
        raise io.UnsupportedOperation("unseekable stream")

    def close(self) -> None:
        """The gzip file is closed by its owner."""


@dataclass
class HeaderLog:
    """What tarfile's header parser saw, since it hides both problems below.

    tarfile ends iteration *silently* on a missing end-of-archive marker or a garbage header
    after the first member, so "ended cleanly" must be checked here.
    """

    clean_end: bool = False
    last_problem: str = "no end-of-archive marker"
    chain: int = 0

    def note(self, buf: bytes | bytearray) -> None:
        self.clean_end = len(buf) == tarfile.BLOCKSIZE and not any(buf)
        if not buf:
            self.last_problem = "the tar data ends without an end-of-archive marker (truncated?)"
        elif len(buf) < tarfile.BLOCKSIZE:
            self.last_problem = "the tar data ends inside a header"

    def note_type(self, kind: bytes) -> None:
        self.chain = self.chain + 1 if kind in _EXTENSION_TYPES else 0
        if self.chain > _MAX_HEADER_CHAIN:
            raise Malformed(f"more than {_MAX_HEADER_CHAIN} chained extension headers")

    def check_end(self) -> None:
        if not self.clean_end:
            raise Malformed(self.last_problem)


def logging_tarinfo(log: HeaderLog) -> type[tarfile.TarInfo]:
    """A TarInfo class whose header parser reports to `log` (one class per scan)."""

    class _LoggingTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            log.note(buf)
            try:
                info = super().frombuf(buf, encoding, errors)
            except tarfile.HeaderError as exc:
                if len(buf) == tarfile.BLOCKSIZE and any(buf):
                    log.last_problem = f"invalid tar header ({oneline(exc)})"
                raise
            log.note_type(info.type)
            return info

    return _LoggingTarInfo
