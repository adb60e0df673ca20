"""What the volume holds now, and what containai recorded writing there last time."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from containai.transfer.rebuilds import DamagedJournal, Put, Rebuild, decode
from containai.transfer.tar import CHUNK, open_stream

# containai's own bookkeeping inside the volume. Nothing outside this folder is ours alone.
META_DIR = ".containai"
STATE_FILE = f"{META_DIR}/state.json"
STAGING_DIR = f"{META_DIR}/staging"
JOURNAL_FILE = f"{STAGING_DIR}/journal.json"
# What an earlier interrupted run had put in place, carried over by the next run before it
# stages anything (its own staging tree replaced the one that held the old journal).
CARRIED_FILE = f"{STAGING_DIR}/carried.json"
JOURNALS = (JOURNAL_FILE, CARRIED_FILE)
# What the directories a deletion replaced held (transfer/rebuilds.py): the next run finishes
# a rebuild that was cut short, from the stash beside it, before it clears the staging tree.
REBUILD_FILE = f"{STAGING_DIR}/rebuild.json"
RECORDS = (STATE_FILE, *JOURNALS, REBUILD_FILE)
BACKUP_DIR = f"{META_DIR}/backups"
STATE_FORMAT = "containai-state"
# The default cap on containai's own records read back from a volume (settings: limits).
MAX_RECORD_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class Record:
    """What containai wrote at a path: enough to tell later whether someone changed it."""

    size: int
    mtime: int  # whole seconds: the engine's archive API drops sub-second precision
    sha256: str
    # The host file's own mtime, at full precision: a file saved again within the same second
    # (same size) must not pass the host-side quick check.
    source_mtime: float | None = None
    mode: int | None = None  # the permission bits written (None in records of containai 0.1)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"size": self.size, "mtime": self.mtime, "sha256": self.sha256}
        if self.source_mtime is not None:
            data["source_mtime"] = self.source_mtime
        if self.mode is not None:
            data["mode"] = self.mode
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        source, mode = data.get("source_mtime"), data.get("mode")
        return cls(
            int(data["size"]),
            int(data["mtime"]),
            str(data["sha256"]),
            float(source) if source is not None else None,
            int(mode) if mode is not None else None,
        )


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class VolumeFile:
    kind: str  # file, dir, symlink, other
    size: int = 0
    mtime: int = 0
    mode: int = 0
    uid: int = 0
    gid: int = 0
    linkname: str = ""
    sha256: str | None = None  # only for paths the caller asked to hash

    def matches(self, record: Record) -> bool:
        """Whether this file is still what containai recorded writing."""
        if self.kind != "file" or self.size != record.size:
            return False
        if self.sha256 is not None:  # hashed: the content decides
            return self.sha256 == record.sha256
        return self.mtime == record.mtime  # the quick check, as rsync does


@dataclass(frozen=True, slots=True)  # one per directory or symlink: keep them small
class Shape:
    """A directory or symlink containai wrote: what an import compares the host with."""

    kind: str  # dir, symlink
    mode: int = 0
    linkname: str = ""


@dataclass
class VolumeState:
    exists: bool
    # What the volume holds: everything (complete), or the paths an import had to look at.
    files: dict[str, VolumeFile] = field(default_factory=dict)
    record: dict[str, Record] = field(default_factory=dict)
    # Records of a run that was interrupted before it finished: its files may be in place.
    journal: dict[str, Record] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)  # the directories and symlinks
    warnings: list[str] = field(default_factory=list)  # records too large or damaged
    complete: bool = True
    # An interrupted run's rebuilds (transfer/recovery.py settles them into ``files`` and the
    # entries that finish them, ``recovery``); why the volume must not be written, if it must
    # not (a rebuild journal too large to read: clearing the staging tree could lose files).
    rebuilds: list[Rebuild] = field(default_factory=list)
    recovery: list[Put] | None = None
    blocked: str = ""

    def ours(self, path: str) -> list[Record]:
        return [r for r in (self.record.get(path), self.journal.get(path)) if r is not None]


def empty() -> VolumeState:
    return VolumeState(exists=False)


def read(
    stream: Iterable[bytes],
    *,
    hash_paths: set[str],
    max_record_bytes: int = MAX_RECORD_BYTES,
    into: VolumeState | None = None,
    under: str = "",
) -> VolumeState:
    """Parse a tar stream of the volume (``under`` nothing: its root, whose names start with
    the mount point's basename; else the directory ``under``, added to ``into``).

    The agent owns the volume: containai's own records there are read only up to
    ``max_record_bytes`` (a larger one is ignored, with a warning), and every other file is
    hashed as it streams by, never held in memory.
    """
    state = into if into is not None else VolumeState(exists=True)
    parent = under.rpartition("/")[0]
    with open_stream(stream) as tar:
        for info in tar:
            path = _volume_path(info.name, parent, whole=not under)
            if not path:
                continue
            if info.isreg():
                digest = None
                keep = path in RECORDS and info.size <= max_record_bytes
                if path in RECORDS and not keep:
                    refuse_large(state, path, info.size, max_record_bytes)
                if path in hash_paths or keep:
                    digest, data = read_member(tar, info, keep=keep)
                    if keep:
                        take_record(state, path, data)
                state.files[path] = file_of(info, "file", digest)
            elif info.islnk():
                # The engine stores the second name of a shared inode as a hard link.
                linked = _volume_path(info.linkname, parent, whole=not under)
                original = state.files.get(linked)
                # (A hard link to a symlink, as `cp -al` makes, is that symlink.)
                state.files[path] = original or file_of(info, "file", None)
            elif info.isdir():
                state.files[path] = file_of(info, "dir", None)
            elif info.issym():
                state.files[path] = file_of(info, "symlink", None)
            else:
                state.files[path] = file_of(info, "other", None)
    return state


def take_record(state: VolumeState, path: str, data: bytes) -> None:
    """Parse one of containai's records (``RECORDS``) into ``state``."""
    if path == STATE_FILE:
        state.record, state.shapes = parse_records(data)
    elif path == REBUILD_FILE:
        try:
            state.rebuilds = decode(data)
        except DamagedJournal as error:
            # Torn by a cut (before any directory was replaced: it is written first), or not
            # containai's: nothing to finish.
            state.warnings.append(f"{path} is not a rebuild journal ({error}): ignored")
    else:
        state.journal.update(parse_records(data)[0])


def refuse_large(state: VolumeState, path: str, size: int, limit: int) -> None:
    message = too_large(path, size, limit)
    state.warnings.append(message)
    if path == REBUILD_FILE:
        state.blocked = (
            f"an interrupted run left {path}, {size} bytes, more than limits.record_bytes "
            f"({limit}): raise that limit so that the next run can finish its work"
        )


def too_large(path: str, size: int, limit: int) -> str:
    return (
        f"{path} is {size} bytes, more than containai's records may be "
        f"({limit}, limits.record_bytes): ignored"
    )


def _volume_path(name: str, parent: str = "", *, whole: bool = True) -> str:
    if whole:  # the volume's root: its first component is the mount point's basename
        _, _, rest = name.partition("/")
        return rest.strip("/")
    name = name.strip("/")
    return f"{parent}/{name}" if parent and name else name


def file_of(info: tarfile.TarInfo, kind: str, digest: str | None) -> VolumeFile:
    return VolumeFile(
        kind=kind,
        size=info.size if kind == "file" else 0,
        mtime=int(info.mtime),
        mode=info.mode & 0o7777,
        uid=info.uid,
        gid=info.gid,
        linkname=info.linkname if kind == "symlink" else "",
        sha256=digest,
    )


def read_member(tar: tarfile.TarFile, info: tarfile.TarInfo, *, keep: bool) -> tuple[str, bytes]:
    handle = tar.extractfile(info)
    assert handle is not None
    digest = hashlib.sha256()
    kept = bytearray()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        if keep:
            kept += chunk
    return digest.hexdigest(), bytes(kept)


def parse_records(data: bytes) -> tuple[dict[str, Record], dict[str, Shape]]:
    # A damaged record only costs precision (files look changed and get backed up), never data.
    try:
        parsed = json.loads(data)
        records = {path: Record.from_json(item) for path, item in parsed["files"].items()}
        shapes = {
            path: Shape(str(item["kind"]), int(item.get("mode", 0)), str(item.get("link", "")))
            for path, item in parsed.get("shapes", {}).items()
        }
        return records, shapes
    except (ValueError, LookupError, TypeError, AttributeError, ArithmeticError, RecursionError):
        return {}, {}


def encode_records(records: dict[str, Record], shapes: dict[str, Shape] | None = None) -> bytes:
    body: dict[str, Any] = {
        "format": STATE_FORMAT,
        "version": 1,  # version 1 readers ignore the shapes (they only cost them precision)
        "files": {path: records[path].to_json() for path in sorted(records)},
    }
    if shapes:
        body["shapes"] = {
            path: {"kind": s.kind, "mode": s.mode, **({"link": s.linkname} if s.linkname else {})}
            for path, s in sorted(shapes.items())
        }
    # Compact: only then does json use its C encoder (a record per file in the volume).
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"
