"""Read and check `cai export` archives (.tgz) without trusting them.

An export is a gzip-compressed tar of a volume's tree with a JSON manifest member,
`.containai/export.json`, written last. Archives made by other tools (e.g. `tar czf` of an
upstream ContainAI volume) carry no manifest; they are accepted but checked just as hard.

Everything here reads the archive in one streaming pass: memory holds the per-member index and
one chunk of data, never the archive. A hostile archive can try to escape the volume (absolute
names, `..`, writes through symlinks, escaping links), smuggle device nodes, blow up on
decompression, or exhaust memory with giant or endless tar headers; each of those becomes an
ArchiveError whose one-line message names the offending member (or the file).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Final

from containai.archive.comparison import ArchiveIndex, IndexEntry, Scan, VerifyReport, first_problem
from containai.archive.guarded_tar import (
    BudgetReader,
    HeaderLog,
    Malformed,
    logging_tarinfo,
)
from containai.archive.members import KINDS, MemberKind, check_member
from containai.archive.names import normalise, oneline, show
from containai.archive.schema import (
    MANIFEST_NAME,
    MAX_MANIFEST_BYTES,
    ExportManifest,
    ManifestError,
)
from containai.errors import ArchiveError
from containai.transfer.tar import ForgetfulTarFile

_CHUNK: Final = 1024 * 1024
# tarfile reads a member's header chain (PAX records, GNU long names) into memory before we see
# the member, so the decompressed bytes it may pull per member are capped. Real headers are a
# few KiB (a 4096-byte name plus a 4096-byte link target plus xattrs).
_HEADER_BUDGET: Final = 1024 * 1024
# Zero padding after the end-of-archive marker is normal (tar pads to whole records);
# megabytes of it are a gzip bomb hiding where no member is counted.
_MAX_TRAILER_BYTES: Final = 4 * 1024 * 1024
_OVERSIZED_HEADERS: Final = f"a member's tar headers exceed {_HEADER_BUDGET} bytes"


Advance = Callable[[int], None]  # told how many more bytes of the archive file were read


def scan_archive(
    path: Path,
    *,
    max_expanded_bytes: int,
    max_members: int = 1_000_000,
    advance: Advance | None = None,
) -> ArchiveIndex:
    """Check every member and the manifest in one streaming pass; raise ArchiveError on the
    first problem (unsafe member, unreadable archive, or a file that disagrees with the
    manifest)."""
    scan = _scan(
        path, max_expanded_bytes=max_expanded_bytes, max_members=max_members, advance=advance
    )
    report = scan.report()
    problem = first_problem(report, scan)
    if problem is not None:
        raise ArchiveError(problem)
    return report.index


def verify_archive(
    path: Path,
    *,
    max_expanded_bytes: int,
    max_members: int = 1_000_000,
    advance: Advance | None = None,
) -> VerifyReport:
    """Like scan_archive, but manifest mismatches are collected in the report. Unsafe members
    and unreadable archives still raise ArchiveError."""
    scan = _scan(
        path, max_expanded_bytes=max_expanded_bytes, max_members=max_members, advance=advance
    )
    return scan.report()


def _scan(
    path: Path, *, max_expanded_bytes: int, max_members: int, advance: Advance | None
) -> Scan:
    scan = Scan(path, max_expanded_bytes, max_members)
    shown = show(str(path))
    with open_gzip(path) as raw:
        try:
            _read_all(_Counted(raw, advance) if advance else raw, scan)
        except Malformed as exc:
            raise ArchiveError(f"{shown} is corrupt ({scan.where()}): {exc}") from None
        except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, OverflowError) as exc:
            # gzip.BadGzipFile is an OSError; EOFError is gzip's "ended before the end-of-stream
            # marker"; ValueError comes from malformed PAX numbers.
            raise ArchiveError(
                f"{shown} is truncated or corrupt ({scan.where()}): {oneline(exc)}"
            ) from None
    return scan


@contextmanager
def open_gzip(path: Path) -> Iterator[IO[bytes]]:
    """Open `path`, insisting on gzip by content (not by suffix)."""
    shown = show(str(path))
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"cannot read {shown}: {exc.strerror or oneline(exc)}") from None
    with raw:
        try:
            head = raw.read(tarfile.BLOCKSIZE)
            raw.seek(0)
        except OSError as exc:
            raise ArchiveError(f"cannot read {shown}: {exc.strerror or oneline(exc)}") from None
        if not head:
            raise ArchiveError(f"{shown} is empty, not a gzip-compressed tar archive")
        if head[:2] != b"\x1f\x8b":
            hint = " (it is an uncompressed tar)" if head[257:262] == b"ustar" else ""
            raise ArchiveError(f"{shown} is not a gzip-compressed tar archive{hint}")
        yield raw


class _Counted(io.RawIOBase):
    """``raw``, telling ``advance`` how much of it was read (for a progress bar)."""

    def __init__(self, raw: IO[bytes], advance: Advance) -> None:
        self._raw, self._advance = raw, advance

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        self._advance(len(data))
        return len(data)


def _read_all(raw: IO[bytes] | io.RawIOBase, scan: Scan) -> None:
    # gzip.GzipFile rather than tarfile's own "r|gz": tarfile's stream reader never checks the
    # gzip trailer (CRC and length), so an archive cut short at a member boundary would pass.
    with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
        stream = BudgetReader(unzipped)
        stream.allow(_HEADER_BUDGET, _OVERSIZED_HEADERS)
        headers = HeaderLog()
        with ForgetfulTarFile.open(
            fileobj=stream,
            mode="r|",
            tarinfo=logging_tarinfo(headers),
            encoding="utf-8",
            errors="surrogateescape",
        ) as tar:
            while (member := tar.next()) is not None:
                _read_member(tar, stream, member, scan)
                stream.allow(_HEADER_BUDGET, _OVERSIZED_HEADERS)
        headers.check_end()
        # Read to the end so gzip verifies its CRC and length, bounded against a trailing bomb.
        stream.allow(_MAX_TRAILER_BYTES, "too much data after the end of the tar archive")
        while stream.read(_CHUNK):
            pass


def _read_member(
    tar: tarfile.TarFile, stream: BudgetReader, member: tarfile.TarInfo, scan: Scan
) -> None:
    scan.members += 1
    if scan.members > scan.max_members:
        raise ArchiveError(
            f"{show(str(scan.path))} has more than {scan.max_members} members "
            f"(stopped at '{show(member.name)}')"
        )
    name = check_member(member, scan.seen)
    scan.last = member.name
    if name == ".":
        return
    kind = KINDS[member.type]
    digest: str | None = None
    if kind == "file":
        digest = _read_file(tar, stream, member, name, scan)
        if name == MANIFEST_NAME:
            return  # described by ArchiveIndex.manifest, not restored as an entry
    elif kind == "hardlink":
        target = normalise(member.linkname)
        scan.hardlinks[name] = target
        scan.content.pop(name, None)  # an earlier link of the same name pointed elsewhere
        if target in scan.content:
            scan.content[name] = scan.content[target]
    elif kind == "symlink":
        scan.symlinks[name] = member.linkname
    elif kind == "dir":
        scan.dirs.add(name)
    if kind != "dir":
        # A second version of a name: restore writes both, the manifest lists one.
        found = scan.content.get(name) or scan.symlinks.get(name)
        if scan.first.setdefault(name, found) != found:
            scan.duplicate.append(name)
    scan.entries.append(_entry(member, name, kind, digest))


def _read_file(
    tar: tarfile.TarFile, stream: BudgetReader, member: tarfile.TarInfo, name: str, scan: Scan
) -> str | None:
    """Hash a regular file's content and return the digest; the manifest is parsed instead."""
    # Checked against the header's size before decompressing anything: a bomb is refused
    # without being inflated, and tarfile then refuses to read past that size.
    if scan.expanded + member.size > scan.max_expanded_bytes:
        raise ArchiveError(
            f"archive member '{show(member.name)}' takes {show(str(scan.path))} past its "
            f"{scan.max_expanded_bytes}-byte expansion limit (a gzip bomb?)"
        )
    scan.expanded += member.size
    stream.allow(member.size + _HEADER_BUDGET, "member data overruns its size")
    scan.reading = True
    digest: str | None = None
    if name == MANIFEST_NAME:
        scan.manifest = _read_manifest(tar, member)
    else:
        digest = _hash_content(tar, member)
        scan.content[name] = (member.size, digest)
    scan.reading = False
    return digest


def _entry(member: tarfile.TarInfo, name: str, kind: MemberKind, digest: str | None) -> IndexEntry:
    linkname = ""
    if kind == "symlink":
        linkname = member.linkname
    elif kind == "hardlink":
        linkname = normalise(member.linkname)
    return IndexEntry(
        name=name,
        kind=kind,
        size=member.size if kind == "file" else 0,
        mode=member.mode & 0o7777,
        uid=member.uid,
        gid=member.gid,
        mtime=float(member.mtime),
        linkname=linkname,
        sha256=digest,
    )


def _member_chunks(tar: tarfile.TarFile, member: tarfile.TarInfo) -> Iterator[bytes]:
    content = tar.extractfile(member)
    if content is None:  # cannot happen for a regular file; keeps the type checker honest
        raise tarfile.ReadError(f"no data for member '{show(member.name)}'")
    while chunk := content.read(_CHUNK):
        yield chunk


def _hash_content(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    for chunk in _member_chunks(tar, member):
        digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> ExportManifest:
    shown = show(member.name)
    if member.size > MAX_MANIFEST_BYTES:
        raise ArchiveError(
            f"archive member '{shown}' is too large for an export manifest ({member.size} bytes)"
        )
    data = b"".join(_member_chunks(tar, member))
    try:
        return ExportManifest.from_json(data)
    except ManifestError as exc:
        raise ArchiveError(
            f"archive member '{shown}' is not a valid export manifest: {exc.detail}"
        ) from None
