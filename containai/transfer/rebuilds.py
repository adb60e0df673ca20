"""The rebuild journal: what a directory held before a deletion replaced it, so that a run cut
short in the middle of rebuilding it can be finished by the next one (``transfer.deletion``
writes it, ``transfer.recovery`` finishes what it describes).

It lies in the staging tree, which the agent can write too: it is read as hostile input (every
name checked, every number an integer, every symlink target one the engine accepts), and
recovery takes an owner from it only for a directory (mode and mtime too, no special bits) or a
symlink (mtime too): what a file is comes from its stash, never from the journal.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from containai.archive.names import name_problem

REBUILD_FORMAT = "containai-rebuild"
SYMLINK_TAG = "symlink"


def escapes(path: str, linkname: str) -> bool:
    """Whether the symlink ``path -> linkname`` points out of the volume as the engine reads it
    (from the link's own directory, lexically): Docker refuses to write such a link."""
    if not linkname or "\0" in linkname:
        return True
    # Docker joins even an absolute target to the link's directory ("/../../x" climbs out).
    base = posixpath.dirname(path) or "."
    resolved = posixpath.normpath(posixpath.join(base, linkname.lstrip("/")))
    return resolved == ".." or resolved.startswith("../")


@dataclass(frozen=True, slots=True)  # one per kept path: keep them small
class Kept:
    """One path below a rebuilt directory: a directory (recreated with its mode, owner and
    mtime), a symlink (written again: ``linkname``, owner, mtime) or anything else (a hard link
    back from its stash name, which keeps the inode)."""

    path: str
    stash: str = ""  # the staging name holding it (its basename); "" for a directory, symlink
    mode: int = 0
    uid: int = 0
    gid: int = 0
    mtime: int = 0
    linkname: str = ""  # a symlink's target

    @property
    def is_dir(self) -> bool:
        return not self.stash and not self.linkname

    @property
    def is_symlink(self) -> bool:
        return bool(self.linkname)


@dataclass(frozen=True)
class Rebuild:
    """A directory replaced by a file (which removed the deleted paths below it) and rebuilt.

    ``started`` and ``finished`` name empty files of the staging tree, written just before the
    directory is replaced and just after it is rebuilt: only a rebuild that started and did not
    finish needs finishing. The directories' mtimes (its own, its kept directories', the one
    above it) let that finishing date them again: a cut stream applies no directory times.
    """

    path: str
    mode: int
    uid: int
    gid: int
    mtime: int
    started: str
    finished: str
    kept: tuple[Kept, ...]
    above_mtime: int | None = None  # the mtime of the directory holding it, when known

    def unfinished(self, staged: Callable[[str], bool]) -> bool:
        """Whether it started and did not finish; ``staged`` says whether a name is in the
        staging tree."""
        return staged(self.started) and not staged(self.finished)


@dataclass(frozen=True, slots=True)
class Put:
    """One entry that finishes an interrupted rebuild: a directory (``source`` empty), or a
    second name of a stashed inode (``source``, its path in the volume) with that inode's own
    owner, mode and mtime, or a copy of a stashed symlink (``linkname``)."""

    path: str
    source: str
    mode: int
    uid: int
    gid: int
    mtime: int
    linkname: str = ""  # a stashed symlink's target: it is written again, never hard-linked


def encode(rebuilds: list[Rebuild]) -> bytes:
    body = {
        "format": REBUILD_FORMAT,
        "version": 1,
        "rebuilds": [
            {
                "path": r.path,
                "meta": [r.mode, r.uid, r.gid, r.mtime],
                "started": r.started,
                "finished": r.finished,
                # Compact rows: a rebuilt directory may hold many thousand paths.
                "kept": [_row(k) for k in r.kept],
                **({} if r.above_mtime is None else {"above": r.above_mtime}),
            }
            for r in rebuilds
        ],
    }
    return json.dumps(body, separators=(",", ":")).encode() + b"\n"


def _row(kept: Kept) -> list[Any]:
    if kept.is_symlink:
        return [kept.path, SYMLINK_TAG, kept.linkname, kept.uid, kept.gid, kept.mtime]
    if kept.is_dir:
        return [kept.path, kept.mode, kept.uid, kept.gid, kept.mtime]
    return [kept.path, kept.stash]


class DamagedJournal(ValueError):
    """Not a rebuild journal containai wrote (torn by a cut, or written by someone else)."""


def decode(data: bytes) -> list[Rebuild]:
    """The rebuilds a journal describes; DamagedJournal if it is not one containai wrote."""
    try:
        body = json.loads(data)
        if not isinstance(body, dict) or body.get("format") != REBUILD_FORMAT:
            raise DamagedJournal("not a rebuild journal")
        return [_rebuild(item) for item in _list(body.get("rebuilds"))]
    except (ValueError, TypeError, LookupError, ArithmeticError, RecursionError) as error:
        raise DamagedJournal(str(error) or type(error).__name__) from None


def _rebuild(item: Any) -> Rebuild:
    if not isinstance(item, dict):
        raise DamagedJournal("a rebuild is not an object")
    path = _name(item["path"])
    mode, uid, gid, mtime = (_int(value) for value in _list(item["meta"], 4))
    kept = tuple(_kept(row, path) for row in _list(item["kept"]))
    above = None if item.get("above") is None else _int(item["above"])
    started, finished = _stash(item["started"]), _stash(item["finished"])
    return Rebuild(path, mode, uid, gid, mtime, started, finished, kept, above)


def _kept(row: Any, parent: str) -> Kept:
    row = _list(row)
    path = _name(row[0])
    if not path.startswith(f"{parent}/"):
        raise DamagedJournal(f"{path!r} is not below {parent!r}")
    if len(row) == 2:
        return Kept(path, _stash(row[1]))
    if len(row) == 6 and row[1] == SYMLINK_TAG:
        linkname = row[2]
        # Written by anyone who can write the staging tree: only a target the engine accepts.
        if not isinstance(linkname, str) or escapes(path, linkname):
            raise DamagedJournal(f"{path!r} has no acceptable symlink target")
        uid, gid, mtime = (_int(value) for value in row[3:])
        return Kept(path, "", 0o777, uid, gid, mtime, linkname)
    mode, uid, gid, mtime = (_int(value) for value in _list(row[1:], 4))
    return Kept(path, "", mode, uid, gid, mtime)


def _list(value: Any, length: int | None = None) -> list[Any]:
    if not isinstance(value, list) or (length is not None and len(value) != length):
        raise DamagedJournal("a list was expected")
    return value


def _int(value: Any) -> int:
    # Below 8**11: what a plain tar header holds (ids, modes, whole-second mtimes).
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 8**11:
        raise DamagedJournal("an integer of a tar header was expected")
    return value


def _name(value: Any) -> str:
    if not isinstance(value, str) or name_problem(value) is not None:
        raise DamagedJournal("a volume path was expected")
    return value


def _stash(value: Any) -> str:
    # A name directly in the staging tree.
    if not isinstance(value, str) or "/" in value or name_problem(value) is not None:
        raise DamagedJournal("a staging name was expected")
    return value
