"""What the volume holds now, and what containai recorded writing there last time."""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from containai.transfer.tar import CHUNK, open_stream

# containai's own bookkeeping inside the volume. Nothing outside this folder is ours alone.
META_DIR = ".containai"
STATE_FILE = f"{META_DIR}/state.json"
STAGING_DIR = f"{META_DIR}/staging"
JOURNAL_FILE = f"{STAGING_DIR}/journal.json"
# What an earlier interrupted run had put in place, carried over by the next run before it
# stages anything (its own staging tree replaced the one that held the old journal).
CARRIED_FILE = f"{STAGING_DIR}/carried.json"
_JOURNALS = (JOURNAL_FILE, CARRIED_FILE)
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

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"size": self.size, "mtime": self.mtime, "sha256": self.sha256}
        if self.source_mtime is not None:
            data["source_mtime"] = self.source_mtime
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        source = data.get("source_mtime")
        return cls(
            int(data["size"]),
            int(data["mtime"]),
            str(data["sha256"]),
            float(source) if source is not None else None,
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
        if self.mtime == record.mtime:
            return True  # the quick check, as rsync does
        return self.sha256 == record.sha256


@dataclass
class VolumeState:
    exists: bool
    files: dict[str, VolumeFile] = field(default_factory=dict)
    record: dict[str, Record] = field(default_factory=dict)
    # Records of a run that was interrupted before it finished: its files may be in place.
    journal: dict[str, Record] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # records too large or damaged

    def ours(self, path: str) -> list[Record]:
        return [r for r in (self.record.get(path), self.journal.get(path)) if r is not None]


def empty() -> VolumeState:
    return VolumeState(exists=False)


def read(
    stream: Iterable[bytes], *, hash_paths: set[str], max_record_bytes: int = MAX_RECORD_BYTES
) -> VolumeState:
    """Parse the volume's tar stream (names start with the mount point's basename).

    The agent owns the volume: containai's own records there are read only up to
    ``max_record_bytes`` (a larger one is ignored, with a warning), and every other file is
    hashed as it streams by, never held in memory.
    """
    state = VolumeState(exists=True)
    kept = (STATE_FILE, *_JOURNALS)
    with open_stream(stream) as tar:
        for info in tar:
            path = _volume_path(info.name)
            if not path:
                continue
            if info.isreg():
                digest = None
                keep = path in kept and info.size <= max_record_bytes
                if path in kept and not keep:
                    state.warnings.append(
                        f"{path} is {info.size} bytes, more than containai's records may be "
                        f"({max_record_bytes}, limits.record_bytes): ignored"
                    )
                if path in hash_paths or keep:
                    digest, data = _read_member(tar, info, keep=keep)
                    if path == STATE_FILE and keep:
                        state.record = _records(data)
                    elif keep:
                        state.journal.update(_records(data))
                state.files[path] = _file(info, "file", digest)
            elif info.islnk():
                # The engine stores the second name of a shared inode as a hard link.
                linked = _volume_path(info.linkname)
                original = state.files.get(linked)
                # (A hard link to a symlink, as `cp -al` makes, is that symlink.)
                state.files[path] = original or _file(info, "file", None)
            elif info.isdir():
                state.files[path] = _file(info, "dir", None)
            elif info.issym():
                state.files[path] = _file(info, "symlink", None)
            else:
                state.files[path] = _file(info, "other", None)
    return state


def _volume_path(name: str) -> str:
    _, _, rest = name.partition("/")
    return rest.strip("/")


def _file(info: tarfile.TarInfo, kind: str, digest: str | None) -> VolumeFile:
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


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo, *, keep: bool) -> tuple[str, bytes]:
    handle = tar.extractfile(info)
    assert handle is not None
    digest = hashlib.sha256()
    kept = bytearray()
    while chunk := handle.read(CHUNK):
        digest.update(chunk)
        if keep:
            kept += chunk
    return digest.hexdigest(), bytes(kept)


def _records(data: bytes) -> dict[str, Record]:
    # A damaged record only costs precision (files look changed and get backed up), never data.
    try:
        parsed = json.loads(data)
        return {path: Record.from_json(item) for path, item in parsed["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return {}


def encode_records(records: dict[str, Record]) -> bytes:
    body = {
        "format": STATE_FORMAT,
        "version": 1,
        "files": {path: records[path].to_json() for path in sorted(records)},
    }
    # Compact: only then does json use its C encoder (a record per file in the volume).
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"
