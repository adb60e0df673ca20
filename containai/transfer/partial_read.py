"""What a three-way import reads from the volume: containai's records, then only the paths the
host changed (the rest of the volume, however large, is never streamed).

A few paths are asked one by one (the engine's stat, and the content of a file whose size or
mtime is not what containai recorded); many paths below one synced directory are read with one
listing of that directory.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from typing import Any

from containai.transfer.tar import open_stream
from containai.transfer.volume_state import (
    MAX_RECORD_BYTES,
    RECORDS,
    STAGING_DIR,
    STATE_FILE,
    VolumeFile,
    VolumeState,
    file_of,
    read,
    read_member,
    refuse_large,
    take_record,
)

Get = Callable[[str], "Iterable[bytes] | None"]  # a path's tar stream, None when it is absent
Stat = Callable[[str], "dict[str, Any] | None"]  # the engine's stat of a path, or None

# Below one directory, more changed paths than this are read with one listing of it.
LISTING_FROM = 8


def read_records(get: Get, stat: Stat, *, max_record_bytes: int = MAX_RECORD_BYTES) -> VolumeState:
    """Only containai's own records (state, journals): what a three-way import starts from.
    ``complete`` is False: the files an import must look at are added by ``read_paths``
    (when ``rebuilds`` is not empty, an interrupted run must be finished: read everything)."""
    state = VolumeState(exists=True, complete=False)
    # A finished run leaves a plain file where the staging tree was: journals only exist below
    # a directory there, left by an interrupted run.
    staging = stat(STAGING_DIR)
    interrupted = staging is not None and _from_stat(staging).kind == "dir"
    for path in RECORDS if interrupted else (STATE_FILE,):
        stream = get(path)
        if stream is None:
            continue
        with open_stream(stream) as tar:
            info = next((member for member in tar if member.isreg()), None)
            if info is None:
                continue
            if info.size > max_record_bytes:
                refuse_large(state, path, info.size, max_record_bytes)
                continue
            digest, data = read_member(tar, info, keep=True)
            state.files[path] = file_of(info, "file", digest)
            take_record(state, path, data)
    return state


def unfinished_rebuilds(get: Get, stat: Stat, *, max_record_bytes: int) -> list[str]:
    """The directories an interrupted deletion left half rebuilt: what they kept is only in the
    staging tree until the next import or restore finishes them (transfer/recovery.py)."""
    staging = stat(STAGING_DIR)
    if staging is None or _from_stat(staging).kind != "dir":
        return []  # no interrupted run (the usual case: one request)
    state = read_records(get, stat, max_record_bytes=max_record_bytes)

    def staged(name: str) -> bool:
        return stat(f"{STAGING_DIR}/{name}") is not None

    return [rebuild.path for rebuild in state.rebuilds if rebuild.unfinished(staged)]


def read_trees(
    state: VolumeState, directories: Iterable[str], hash_paths: set[str], get: Get
) -> int:
    """Add everything below each of ``directories`` to a partial ``state``, with the owners a
    stat does not tell (a deletion rebuilds these directories whole); hashes ``hash_paths``.
    Returns the number of requests made."""
    requests = 0
    for directory in sorted(directories):
        if _below_a_non_directory(directory, state):
            continue
        requests += 1
        stream = get(directory)
        if stream is not None:
            read(stream, hash_paths=hash_paths, into=state, under=directory)
    return requests


def read_paths(
    state: VolumeState, paths: Collection[str], directories: Iterable[str], get: Get, stat: Stat
) -> int:
    """Add what the volume holds at ``paths`` to a partial ``state``; returns the number of
    requests made. ``directories`` are those that may be listed whole (the synced ones)."""
    requests = 0
    listed = {
        d: below for d, below in _groups(paths, directories).items() if len(below) >= LISTING_FROM
    }
    covered = {path for d, below in listed.items() for path in (d, *below)}
    for path in sorted(set(paths) - covered | listed.keys()):  # parents first
        if _below_a_non_directory(path, state):
            continue  # the engine cannot look there (nor would an import write there)
        requests += 1
        if path in listed:
            stream = get(path)
            if stream is not None:
                read(stream, hash_paths=listed[path], into=state, under=path)
            continue
        found = stat(path)
        if found is None:
            continue
        current = _from_stat(found)
        # containai sets whole seconds: a sub-second mtime is someone else's write, whatever
        # its second and size.
        quick = not _sub_second(found) and any(current.matches(r) for r in state.ours(path))
        if current.kind == "file" and not quick:
            requests += 1
            current = replace(current, sha256=_digest(get(path)))
        elif current.kind == "symlink":  # the stat names where it resolves, not the link
            requests += 1
            current = replace(current, linkname=_linkname(get(path)))
        state.files[path] = current
    return requests


def _below_a_non_directory(path: str, state: VolumeState) -> bool:
    cut = path.rfind("/")
    while cut > 0:
        path = path[:cut]
        found = state.files.get(path)
        if found is not None and found.kind != "dir":
            return True
        cut = path.rfind("/")
    return False


def _groups(paths: Iterable[str], directories: Iterable[str]) -> dict[str, set[str]]:
    """Each path under the deepest of ``directories`` that holds it."""
    deepest_first = sorted(set(directories), key=lambda d: -d.count("/"))
    groups: dict[str, set[str]] = {}
    for path in paths:
        for directory in deepest_first:
            if path.startswith(f"{directory}/"):
                groups.setdefault(directory, set()).add(path)
                break
    return groups


def _digest(stream: Iterable[bytes] | None) -> str | None:
    if stream is None:
        return None
    with open_stream(stream) as tar:
        for info in tar:
            return read_member(tar, info, keep=False)[0] if info.isreg() else None
    return None


def _linkname(stream: Iterable[bytes] | None) -> str:
    if stream is None:
        return ""
    with open_stream(stream) as tar:
        for info in tar:
            return info.linkname if info.issym() else ""
    return ""


# Go's os.FileMode, in which the engine's stat reports a path's type.
_GO_DIR, _GO_SYMLINK, _GO_TYPE = 1 << 31, 1 << 27, 0xFF << 24 | 1 << 19


def _from_stat(found: dict[str, Any]) -> VolumeFile:
    mode = int(found.get("mode", 0))
    if mode & _GO_DIR:
        kind = "dir"
    elif mode & _GO_SYMLINK:
        kind = "symlink"
    else:
        kind = "other" if mode & _GO_TYPE else "file"
    return VolumeFile(
        kind=kind,
        size=int(found.get("size", 0)) if kind == "file" else 0,
        mtime=_epoch(str(found.get("mtime", ""))),
        mode=mode & 0o777,
    )


def _sub_second(found: dict[str, Any]) -> bool:
    fraction = re.search(r"\.(\d+)", str(found.get("mtime", "")))
    return fraction is not None and int(fraction.group(1)) != 0


def _epoch(stamp: str) -> int:
    """Whole seconds of the engine's RFC 3339 time ("2026-12-06T01:23:45.123456789Z")."""
    # Go writes nanoseconds; Python reads at most microseconds.
    stamp = re.sub(r"\.(\d{1,6})\d*", r".\1", stamp)
    try:
        return int(dt.datetime.fromisoformat(stamp).timestamp())
    except ValueError:
        return 0
