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
import json
import tarfile
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from types import MappingProxyType
from typing import IO, Any, Final, Literal, Self

from containai.errors import ArchiveError

MANIFEST_NAME: Final = ".containai/export.json"
FORMAT: Final = "containai-export"
FORMAT_VERSION: Final = 1

# Linux limits (PATH_MAX, NAME_MAX); a name beyond them could never be restored anyway.
MAX_NAME_BYTES: Final = 4096
MAX_COMPONENT_BYTES: Final = 255
# The manifest is read into memory; ~150 bytes per file keeps a million files well inside this.
MAX_MANIFEST_BYTES: Final = 256 * 1024 * 1024

_CHUNK: Final = 1024 * 1024
# tarfile reads a member's header chain (PAX records, GNU long names) into memory before we see
# the member, so the decompressed bytes it may pull per member are capped. Real headers are a
# few KiB (a 4096-byte name plus a 4096-byte link target plus xattrs).
_HEADER_BUDGET: Final = 1024 * 1024
# tarfile follows extension headers recursively; a long chain would hit RecursionError.
_MAX_HEADER_CHAIN: Final = 8
# Zero padding after the end-of-archive marker is normal (tar pads to whole records);
# megabytes of it are a gzip bomb hiding where no member is counted.
_MAX_TRAILER_BYTES: Final = 4 * 1024 * 1024
# Names shown in messages are shortened past this many characters.
_SHOW_MAX: Final = 160

MemberKind = Literal["dir", "file", "symlink", "hardlink"]

# CONTTYPE ("contiguous file") is a regular file to every reader that matters.
_KINDS: Final[Mapping[bytes, MemberKind]] = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
}
_FORBIDDEN_TYPES: Final[Mapping[bytes, str]] = {
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.GNUTYPE_SPARSE: "a GNU sparse file",
}
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
_OVERSIZED_HEADERS: Final = f"a member's tar headers exceed {_HEADER_BUDGET} bytes"


# --------------------------------------------------------------------------- errors


class UnsafeMember(ArchiveError):
    """A member that must not be restored: it could escape the volume or is not plain data."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"unsafe archive member '{_show(member)}': {reason}")
        self.member = member
        self.reason = reason


class ManifestError(ArchiveError):
    """An export manifest that is not valid JSON or not the containai-export format."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"invalid containai export manifest: {detail}")
        self.detail = detail


class _Malformed(Exception):
    """Raised from inside tarfile callbacks; turned into an ArchiveError naming the file."""


def _show(text: str) -> str:
    """`text` made safe for a one-line message.

    Member names are attacker-chosen: a newline, terminal escape or undecodable byte must not
    split or forge the message, and a 5000-byte name must not drown it.
    """
    shown = "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text)
    if len(shown) <= _SHOW_MAX:
        return shown
    return f"{shown[: _SHOW_MAX - 40]}...({_byte_len(text)} bytes)"


def _oneline(exc: BaseException) -> str:
    return _show(str(exc) or type(exc).__name__)


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class ManifestFile:
    """What the exporter recorded about one regular file."""

    size: int
    sha256: str
    secret: bool
    mode: int


@dataclass(frozen=True)
class ExportManifest:
    """The `.containai/export.json` member, flattened; `to_json` writes the nested layout."""

    tool_version: str
    created: str  # ISO-8601, UTC
    volume_name: str
    volume_labels: Mapping[str, str]
    excludes: bool
    secrets: bool
    files: Mapping[str, ManifestFile]

    def __post_init__(self) -> None:
        # Frozen means frozen: callers must not be able to edit a checked manifest in place.
        object.__setattr__(self, "volume_labels", MappingProxyType(dict(self.volume_labels)))
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    def to_json(self) -> bytes:
        """Stable bytes: sorted keys, so the same export always writes the same manifest.

        ASCII-escaped so names that are not valid UTF-8 (surrogate-escaped bytes) survive.
        """
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "created": self.created,
            "volume": {"name": self.volume_name, "labels": dict(self.volume_labels)},
            "options": {"excludes": self.excludes, "secrets": self.secrets},
            "files": {
                name: {"size": f.size, "sha256": f.sha256, "secret": f.secret, "mode": f.mode}
                for name, f in self.files.items()
            },
        }
        # Compact: only then does json use its C encoder (this runs once per file in a volume).
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("ascii")

    @classmethod
    def from_json(cls, data: bytes) -> ExportManifest:
        """Parse and validate; raises ManifestError (an ArchiveError) saying what is wrong."""
        try:
            document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, deep nesting
            raise ManifestError(f"not valid JSON ({_oneline(exc)})") from None
        top = _as_object(document, "the manifest")
        _check_format(top)
        volume = _as_object(top.get("volume"), "volume")
        options = _as_object(top.get("options"), "options")
        return cls(
            tool_version=_as_str(top.get("tool_version"), "tool_version"),
            created=_as_timestamp(top.get("created"), "created"),
            volume_name=_as_str(volume.get("name"), "volume.name"),
            volume_labels=_as_labels(volume.get("labels"), "volume.labels"),
            excludes=_as_bool(options.get("excludes"), "options.excludes"),
            secrets=_as_bool(options.get("secrets"), "options.secrets"),
            files=_as_files(top.get("files")),
        )


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class IndexEntry:
    """One member as restore needs it; `sha256` is set for regular files only."""

    name: str  # normalised: no leading "./"
    kind: MemberKind
    size: int  # content bytes; 0 for dirs, symlinks and hard links
    mode: int  # permission bits only (& 0o7777)
    uid: int
    gid: int
    mtime: float
    linkname: str  # symlink: the target as stored; hard link: normalised target; else ""
    sha256: str | None


@dataclass(frozen=True)
class ArchiveIndex:
    """Result of a full scan. `entries` excludes the root "." entry and the manifest member."""

    manifest: ExportManifest | None
    entries: tuple[IndexEntry, ...]
    expanded_bytes: int  # regular-file content, manifest included


@dataclass(frozen=True)
class VerifyReport:
    """Manifest comparison, collected rather than raised. Names are in archive order, except
    `missing`, which is sorted. Without a manifest nothing can be compared: `no_manifest` is
    True and the three tuples are empty (so `ok` only says no problem was found)."""

    missing: tuple[str, ...]  # in the manifest, not a file in the archive
    extra: tuple[str, ...]  # a regular file in the archive, not in the manifest
    corrupt: tuple[str, ...]  # size or sha256 differ from the manifest
    no_manifest: bool
    index: ArchiveIndex

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.corrupt)


# --------------------------------------------------------------------------- member checks


def check_member(member: tarfile.TarInfo, seen: dict[str, str]) -> str:
    """Validate one member against the members before it; return its normalised name.

    `seen` maps normalised names of earlier members to their kind ("dir", "file", "symlink",
    "hardlink"); on success this member is recorded in it, and so are its parent directories
    (as "dir"), since tar creates those implicitly. The root entry "." is returned as "." and
    not recorded. Raises UnsafeMember.
    """
    name = _normalise(_strip_dir_slash(member))
    if name == ".":
        if member.type != tarfile.DIRTYPE:
            raise UnsafeMember(member.name, "the archive root '.' must be a directory")
        return name
    problem = _name_problem(name)
    if problem is not None:
        raise UnsafeMember(member.name, problem)
    kind = _kind_of(member)
    if name == MANIFEST_NAME and kind != "file":
        raise UnsafeMember(member.name, f"the export manifest must be a regular file, not a {kind}")
    parents = _parents(name)
    problem = _parent_problem(parents, seen) or _duplicate_problem(name, kind, seen)
    if problem is None:
        problem = _kind_problem(member, kind, seen)
    if problem is not None:
        raise UnsafeMember(member.name, problem)
    for parent in parents:
        seen.setdefault(parent, "dir")
    seen[name] = kind
    return name


def _strip_dir_slash(member: tarfile.TarInfo) -> str:
    # tarfile strips "dir/" to "dir" when reading, but a TarInfo built by hand may keep it.
    stripped = member.name.rstrip("/")
    return stripped if member.type == tarfile.DIRTYPE and stripped else member.name


def _normalise(name: str) -> str:
    """Strip the leading "./" that `tar -C dir .` puts on every name (once: "././x" keeps a
    "." component and is refused, like any other non-canonical name)."""
    return name.removeprefix("./")


def _name_problem(name: str) -> str | None:
    """Why a normalised name is unsafe, or None. Also applied to manifest keys."""
    if not name:
        return "empty name"
    if "\0" in name:
        return "name contains a NUL byte"
    if name.startswith("/"):
        return "absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "name has a '..' component"
    # "a//b" and "a/./b" are harmless on disk but would let one path hide under two names,
    # defeating the duplicate and through-a-symlink checks.
    if "" in parts or "." in parts:
        return "name has an empty or '.' component"
    if _byte_len(name) > MAX_NAME_BYTES:
        return f"name is longer than {MAX_NAME_BYTES} bytes"
    if any(_byte_len(part) > MAX_COMPONENT_BYTES for part in parts):
        return f"a name component is longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def _byte_len(text: str) -> int:
    # tarfile decodes undecodable bytes as lone surrogates; count them as the bytes they were.
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))


def _kind_of(member: tarfile.TarInfo) -> MemberKind:
    kind = _KINDS.get(member.type)
    if kind is None:
        what = _FORBIDDEN_TYPES.get(member.type, f"of unsupported tar type {member.type!r}")
        raise UnsafeMember(member.name, f"it is {what}")
    return kind


def _parents(name: str) -> list[str]:
    """The directories above `name`, outermost first: a/b/c gives a, a/b."""
    return list(accumulate(name.split("/")[:-1], lambda head, part: f"{head}/{part}"))


def _parent_problem(parents: list[str], seen: Mapping[str, str]) -> str | None:
    for parent in parents:
        kind = seen.get(parent)
        if kind == "symlink":
            # Extracting would write wherever the link points, e.g. outside the volume.
            return f"it would be written through the symlink '{_show(parent)}'"
        if kind in _REGULAR_KINDS:
            return f"its parent '{_show(parent)}' is a {kind}, not a directory"
    return None


def _duplicate_problem(name: str, kind: MemberKind, seen: Mapping[str, str]) -> str | None:
    # Same name, same kind: tar overwrites, last wins. A kind change (say, a file replacing a
    # symlink) is how naive extractors get tricked into writing through a link.
    earlier = seen.get(name)
    if earlier is None or earlier == kind:
        return None
    return f"an earlier member made it a {earlier}, this one a {kind}"


def _kind_problem(member: tarfile.TarInfo, kind: MemberKind, seen: Mapping[str, str]) -> str | None:
    if kind == "symlink":
        return _symlink_problem(_normalise(member.name), member.linkname)
    if kind == "hardlink":
        return _hardlink_problem(member.linkname, seen)
    if kind == "file" and member.size < 0:
        return "negative size"
    if kind == "file" and member.sparse is not None:  # PAX-format sparse files
        return "it is a sparse file"
    return None


def _target_problem(what: str, target: str) -> str | None:
    if not target:
        return f"{what} has an empty target"
    if "\0" in target:
        return f"{what} target contains a NUL byte"
    if _byte_len(target) > MAX_NAME_BYTES:
        return f"{what} target is longer than {MAX_NAME_BYTES} bytes"
    if target.startswith("/"):
        return f"{what} target '{_show(target)}' is absolute"
    return None


def symlink_problem(name: str, target: str) -> str | None:
    """Why a restore would refuse a symlink ``name -> target`` (None: it is safe)."""
    return _symlink_problem(name, target)


def _symlink_problem(name: str, target: str) -> str | None:
    """Resolve `target` lexically from the link's directory; it must stay inside the root.

    Only leading ".." components are accepted. "x/../y" would be resolved by the kernel
    through "x", which may itself be a symlink (perhaps one later in the archive), so a
    lexical check of it proves nothing: with `d/up -> ..`, `d/t -> up/..` is lexically `d` but
    really the root's parent. With leading ".." only, the climb runs through the link's own
    ancestors, which are real directories (nothing is written through a symlink), and every
    step down lands on a member that is itself checked.
    """
    problem = _target_problem("symlink", target)
    if problem is not None:
        return problem
    depth = name.count("/")  # directories between the root and the link
    descended = False
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            descended = True
        elif descended:
            return f"symlink target '{_show(target)}' has '..' after a normal component"
        elif depth == 0:
            return f"symlink target '{_show(target)}' escapes the archive root"
        else:
            depth -= 1
    return None


def _hardlink_problem(target: str, seen: Mapping[str, str]) -> str | None:
    # Hard-link targets are archive names (relative to the root, not to the link).
    problem = _target_problem("hard link", target)
    if problem is not None:
        return problem
    normalised = _normalise(target)
    if _escapes_root(normalised):
        return f"hard link target '{_show(target)}' escapes the archive root"
    if normalised == MANIFEST_NAME:  # restore does not write the manifest into the volume
        return "hard link to the export manifest"
    if seen.get(normalised) not in _REGULAR_KINDS:
        return f"hard link target '{_show(target)}' is not an earlier regular file in the archive"
    return None


def _escapes_root(path: str) -> bool:
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


# --------------------------------------------------------------------------- scanning


def scan_archive(
    path: Path, *, max_expanded_bytes: int, max_members: int = 1_000_000
) -> ArchiveIndex:
    """Check every member and the manifest in one streaming pass; raise ArchiveError on the
    first problem (unsafe member, unreadable archive, or a file that disagrees with the
    manifest)."""
    scan = _scan(path, max_expanded_bytes=max_expanded_bytes, max_members=max_members)
    report = scan.report()
    problem = _first_problem(report, scan)
    if problem is not None:
        raise ArchiveError(problem)
    return report.index


def verify_archive(
    path: Path, *, max_expanded_bytes: int, max_members: int = 1_000_000
) -> VerifyReport:
    """Like scan_archive, but manifest mismatches are collected in the report. Unsafe members
    and unreadable archives still raise ArchiveError."""
    return _scan(path, max_expanded_bytes=max_expanded_bytes, max_members=max_members).report()


def manifest_tarinfo(data: bytes, *, mtime: float, uid: int, gid: int) -> tarfile.TarInfo:
    """The header the exporter writes in front of the manifest bytes `data`."""
    info = tarfile.TarInfo(MANIFEST_NAME)
    info.type = tarfile.REGTYPE
    info.size = len(data)
    info.mode = 0o644
    info.mtime = mtime
    info.uid = uid
    info.gid = gid
    return info


@dataclass
class _Scan:
    """Mutable state of one pass; `report()` freezes it."""

    path: Path
    max_expanded_bytes: int
    max_members: int
    entries: list[IndexEntry] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    # Regular-file content by name (last one wins, as in tar); hard links carry their target's
    # content as it was when the link was made.
    content: dict[str, tuple[int, str]] = field(default_factory=dict)
    hardlinks: set[str] = field(default_factory=set)
    manifest: ExportManifest | None = None
    expanded: int = 0
    members: int = 0
    last: str | None = None  # the last member read, for "after member ..." messages
    reading: bool = False  # inside `last`'s data

    def where(self) -> str:
        if self.last is None:
            return "at the start"
        return f"{'in' if self.reading else 'after'} member '{_show(self.last)}'"

    def report(self) -> VerifyReport:
        index = ArchiveIndex(self.manifest, tuple(self.entries), self.expanded)
        if self.manifest is None:
            return VerifyReport((), (), (), no_manifest=True, index=index)
        listed = self.manifest.files
        missing = tuple(sorted(name for name in listed if name not in self.content))
        extra = tuple(
            name for name in self.content if name not in listed and name not in self.hardlinks
        )
        corrupt = tuple(
            name
            for name, (size, sha256) in self.content.items()
            if name in listed and (listed[name].size, listed[name].sha256) != (size, sha256)
        )
        return VerifyReport(missing, extra, corrupt, no_manifest=False, index=index)


def _first_problem(report: VerifyReport, scan: _Scan) -> str | None:
    """The message scan_archive raises: corrupt first, then missing, then extra."""
    if scan.manifest is None:
        return None
    problems = [
        _corrupt_message(name, scan.content[name], scan.manifest) for name in report.corrupt
    ]
    problems += [
        f"archive member '{_show(n)}' is in the manifest but not in the archive"
        for n in report.missing
    ]
    problems += [f"archive member '{_show(n)}' is not listed in the manifest" for n in report.extra]
    if not problems:
        return None
    if len(problems) == 1:
        return problems[0]
    return f"{problems[0]} (and {len(problems) - 1} more manifest mismatches)"


def _corrupt_message(name: str, content: tuple[int, str], manifest: ExportManifest) -> str:
    what = "size mismatch" if content[0] != manifest.files[name].size else "sha256 mismatch"
    return f"archive member '{_show(name)}' is corrupt: {what}"


def _scan(path: Path, *, max_expanded_bytes: int, max_members: int) -> _Scan:
    scan = _Scan(path, max_expanded_bytes, max_members)
    shown = _show(str(path))
    with _open_gzip(path) as raw:
        try:
            _read_all(raw, scan)
        except _Malformed as exc:
            raise ArchiveError(f"{shown} is corrupt ({scan.where()}): {exc}") from None
        except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError, OverflowError) as exc:
            # gzip.BadGzipFile is an OSError; EOFError is gzip's "ended before the end-of-stream
            # marker"; ValueError comes from malformed PAX numbers.
            raise ArchiveError(
                f"{shown} is truncated or corrupt ({scan.where()}): {_oneline(exc)}"
            ) from None
    return scan


@contextmanager
def _open_gzip(path: Path) -> Iterator[IO[bytes]]:
    """Open `path`, insisting on gzip by content (not by suffix)."""
    shown = _show(str(path))
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise ArchiveError(f"cannot read {shown}: {exc.strerror or _oneline(exc)}") from None
    with raw:
        try:
            head = raw.read(tarfile.BLOCKSIZE)
            raw.seek(0)
        except OSError as exc:
            raise ArchiveError(f"cannot read {shown}: {exc.strerror or _oneline(exc)}") from None
        if not head:
            raise ArchiveError(f"{shown} is empty, not a gzip-compressed tar archive")
        if head[:2] != b"\x1f\x8b":
            hint = " (it is an uncompressed tar)" if head[257:262] == b"ustar" else ""
            raise ArchiveError(f"{shown} is not a gzip-compressed tar archive{hint}")
        yield raw


def _read_all(raw: IO[bytes], scan: _Scan) -> None:
    # gzip.GzipFile rather than tarfile's own "r|gz": tarfile's stream reader never checks the
    # gzip trailer (CRC and length), so an archive cut short at a member boundary would pass.
    with gzip.GzipFile(fileobj=raw, mode="rb") as unzipped:
        stream = _BudgetReader(unzipped)
        stream.allow(_HEADER_BUDGET, _OVERSIZED_HEADERS)
        headers = _HeaderLog()
        with _ForgetfulTarFile.open(
            fileobj=stream,
            mode="r|",
            tarinfo=_logging_tarinfo(headers),
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
    tar: tarfile.TarFile, stream: _BudgetReader, member: tarfile.TarInfo, scan: _Scan
) -> None:
    scan.members += 1
    if scan.members > scan.max_members:
        raise ArchiveError(
            f"{_show(str(scan.path))} has more than {scan.max_members} members "
            f"(stopped at '{_show(member.name)}')"
        )
    name = check_member(member, scan.seen)
    scan.last = member.name
    if name == ".":
        return
    kind = _KINDS[member.type]
    digest: str | None = None
    if kind == "file":
        digest = _read_file(tar, stream, member, name, scan)
        if name == MANIFEST_NAME:
            return  # described by ArchiveIndex.manifest, not restored as an entry
    elif kind == "hardlink":
        target = _normalise(member.linkname)
        scan.hardlinks.add(name)
        scan.content.pop(name, None)  # an earlier link of the same name pointed elsewhere
        if target in scan.content:
            scan.content[name] = scan.content[target]
    scan.entries.append(_entry(member, name, kind, digest))


def _read_file(
    tar: tarfile.TarFile, stream: _BudgetReader, member: tarfile.TarInfo, name: str, scan: _Scan
) -> str | None:
    """Hash a regular file's content and return the digest; the manifest is parsed instead."""
    # Checked against the header's size before decompressing anything: a bomb is refused
    # without being inflated, and tarfile then refuses to read past that size.
    if scan.expanded + member.size > scan.max_expanded_bytes:
        raise ArchiveError(
            f"archive member '{_show(member.name)}' takes {_show(str(scan.path))} past its "
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
        linkname = _normalise(member.linkname)
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
        raise tarfile.ReadError(f"no data for member '{_show(member.name)}'")
    while chunk := content.read(_CHUNK):
        yield chunk


def _hash_content(tar: tarfile.TarFile, member: tarfile.TarInfo) -> str:
    digest = hashlib.sha256()
    for chunk in _member_chunks(tar, member):
        digest.update(chunk)
    return digest.hexdigest()


def _read_manifest(tar: tarfile.TarFile, member: tarfile.TarInfo) -> ExportManifest:
    shown = _show(member.name)
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


class _ForgetfulTarFile(tarfile.TarFile):
    """A TarFile that does not keep every TarInfo it has read.

    tarfile remembers all members for random access, which a streaming pass never uses; for a
    million-member archive that doubles the memory of our own index.
    """

    members: list[tarfile.TarInfo]  # real but undocumented, so missing from the type stubs

    def next(self) -> tarfile.TarInfo | None:
        member = super().next()
        self.members.clear()
        return member


class _BudgetReader:
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
        """Permit `nbytes` more; reading beyond raises _Malformed(complaint)."""
        self._limit = self._total + nbytes
        self._complaint = complaint

    def read(self, size: int = -1, /) -> bytes:
        room = self._limit - self._total
        # Ask for one byte past the budget: only data that really exists breaks it.
        data = self._inner.read(room + 1 if size < 0 else min(size, room + 1))
        self._total += len(data)
        if self._total > self._limit:
            raise _Malformed(self._complaint)
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
class _HeaderLog:
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
            raise _Malformed(f"more than {_MAX_HEADER_CHAIN} chained extension headers")

    def check_end(self) -> None:
        if not self.clean_end:
            raise _Malformed(self.last_problem)


def _logging_tarinfo(log: _HeaderLog) -> type[tarfile.TarInfo]:
    """A TarInfo class whose header parser reports to `log` (one class per scan)."""

    class _LoggingTarInfo(tarfile.TarInfo):
        @classmethod
        def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
            log.note(buf)
            try:
                info = super().frombuf(buf, encoding, errors)
            except tarfile.HeaderError as exc:
                if len(buf) == tarfile.BLOCKSIZE and any(buf):
                    log.last_problem = f"invalid tar header ({_oneline(exc)})"
                raise
            log.note_type(info.type)
            return info

    return _LoggingTarInfo


# --------------------------------------------------------------------------- manifest fields


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys; a manifest listing a file twice is forged.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestError(f"duplicate key '{_show(key)}'")
        result[key] = value
    return result


def _check_format(top: Mapping[str, Any]) -> None:
    if top.get("format") != FORMAT:
        raise ManifestError(f"format is {_show(repr(top.get('format')))}, not '{FORMAT}'")
    version = top.get("format_version")
    # `true` and `1.0` compare equal to 1 in Python; only the integer 1 is version 1.
    if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
        raise ManifestError(
            f"unsupported format_version {_show(repr(version))} "
            f"(this containai reads version {FORMAT_VERSION})"
        )


def _as_object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be a JSON object")
    return value


def _as_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"{where} must be a string")
    return value


def _as_bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ManifestError(f"{where} must be true or false")
    return value


def _as_int(value: object, where: str, *, maximum: int | None = None) -> int:
    # bool is an int in Python, but `true` is not a size.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{where} must be a non-negative integer")
    if maximum is not None and value > maximum:
        raise ManifestError(f"{where} must be at most {maximum:#o}")
    return value


def _as_timestamp(value: object, where: str) -> str:
    text = _as_str(value, where)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ManifestError(f"{where} is not an ISO-8601 timestamp") from None
    return text


def _as_labels(value: object, where: str) -> dict[str, str]:
    labels = _as_object(value, where)
    for key, label in labels.items():
        _as_str(label, f"{where}['{_show(key)}']")
    return labels


def _as_files(value: object) -> dict[str, ManifestFile]:
    files = _as_object(value, "files")
    return {name: _as_file(name, entry) for name, entry in files.items()}


def _as_file(name: str, value: object) -> ManifestFile:
    where = f"files['{_show(name)}']"
    problem = _name_problem(name)
    if problem is not None:
        raise ManifestError(f"{where}: {problem}")
    if name == MANIFEST_NAME:
        raise ManifestError(f"{where}: the manifest cannot list itself")
    entry = _as_object(value, where)
    sha256 = _as_str(entry.get("sha256"), f"{where}.sha256")
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise ManifestError(f"{where}.sha256 must be 64 lowercase hex digits")
    return ManifestFile(
        size=_as_int(entry.get("size"), f"{where}.size"),
        sha256=sha256,
        secret=_as_bool(entry.get("secret"), f"{where}.secret"),
        mode=_as_int(entry.get("mode"), f"{where}.mode", maximum=0o7777),
    )
