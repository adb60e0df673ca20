"""Deleting through the archive API alone: no program runs, no image is needed.

The engine cannot remove a name, but an archive entry that is not a directory replaces whatever
is at its path, a directory with everything below it. So to delete paths below a directory P,
one put stream (inside the import's, once its staging tree is fresh):

1. stashes a hard link of every other non-directory below P in the staging tree (the inode,
   with its content, owner, mode and mtime, survives P; a symlink is not stashed but written
   again from the journal, see ``transfer/headers.py``);
2. writes the rebuild journal: what P held, its directories' modes, owners and mtimes, and
   which stash name holds each other path (``transfer/rebuilds.py``);
3. per P: writes its ``started`` marker, replaces P by an empty file (the deletion), recreates
   P, its directories and, as hard links from the stash, everything else it kept; restores the
   mtime of P's parent (it is set again when the stream ends); writes its ``finished`` marker.

The stash goes with the staging tree at the end of the stream. A stream cut between 3's
replacement and its ``finished`` marker leaves kept paths only in the stash: the next run
finishes the rebuild before it clears the staging tree (``transfer/recovery.py``). A stash link
to a path that has gone since the read fails the put before anything was replaced.

P is the deepest directory holding the deleted path (one P for deletions nested below another
P): the fewest entries rebuilt, the shortest time the directory is away. Names directly in the
volume root cannot be deleted so (the root cannot be replaced): they are left to the caller.

The race: what someone else (an agent, during a hot-reload import) creates below P between the
volume read and P's replacement is not in the rebuild, and is lost. The window is the time from
the read to the start of the stream, plus the stash entries: deletions come first in the stream.
"""

from __future__ import annotations

import bisect
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from containai.transfer.headers import directory, link_to, plain_file, symlink
from containai.transfer.plan import DELETE, Plan
from containai.transfer.rebuilds import Kept, Rebuild, encode, escapes
from containai.transfer.tar import bytes_member, member
from containai.transfer.volume_state import (
    META_DIR,
    REBUILD_FILE,
    STAGING_DIR,
    VolumeFile,
    VolumeState,
)


@dataclass
class Deletions:
    """The rebuilds that carry out a plan's deletions below the root, and what cannot be."""

    rebuilds: list[Rebuild] = field(default_factory=list)
    stash: list[tuple[str, str]] = field(default_factory=list)  # (stash name, kept path)
    failures: dict[str, str] = field(default_factory=dict)
    journal: bytes = b""  # the rebuild journal, encoded

    @property
    def kept(self) -> int:
        """The paths below the rebuilt directories that are put back (their cost)."""
        return sum(len(rebuild.kept) for rebuild in self.rebuilds)


def at_root(path: str) -> bool:
    """A name directly in the volume root: this module cannot delete it."""
    return "/" not in path


def rebuilt_directories(paths: list[str]) -> set[str]:
    """The directories whose deletion rebuilds would delete ``paths``: the deepest holding
    each, none below another (a partial read must list them whole)."""
    chosen: set[str] = set()
    deleted = set(paths)
    parents = {p.rpartition("/")[0] for p in paths if not at_root(p) and not below(p, deleted)}
    for parent in sorted(parents, key=lambda p: p.count("/")):  # the shallowest first
        if not below(parent, chosen) and parent not in chosen:
            chosen.add(parent)
    return chosen


def prepare(plan: Plan, state: VolumeState, *, run: str, max_record_bytes: int) -> Deletions:
    """How this run deletes what the plan deletes below the root (``state`` must hold every
    path below the directories it rebuilds: a complete read, or ``rebuilt_directories`` read
    whole)."""
    done = Deletions()
    deleted = sorted(i.path for i in plan.items if i.action == DELETE and not at_root(i.path))
    gone = {path for path in deleted if path in state.files}
    names = sorted(state.files)
    for number, parent in enumerate(sorted(rebuilt_directories(sorted(gone)))):
        found = state.files.get(parent)
        if found is None or found.kind != "dir" or parent.split("/")[0] == META_DIR:
            for path in deleted:
                if path.startswith(f"{parent}/"):
                    done.failures[path] = "its directory was not read"
            continue
        kept: list[Kept] = []
        refused = ""
        stashed = len(done.stash)
        start = bisect.bisect_left(names, f"{parent}/")
        for path in names[start:]:
            if not path.startswith(f"{parent}/"):
                break
            if path in gone or below(path, gone):
                continue
            current = state.files[path]
            if current.kind == "dir":
                kept.append(Kept(path, "", current.mode, current.uid, current.gid, current.mtime))
            elif current.kind == "symlink":  # written again, never hard-linked (headers.py)
                if escapes(path, current.linkname):
                    refused = f"{path} beside it is a symlink out of the volume the engine refuses"
                    break
                owner = (current.uid, current.gid)
                kept.append(Kept(path, "", 0o777, *owner, current.mtime, current.linkname))
            else:
                stash = f"{run}-keep-{len(done.stash)}"
                done.stash.append((stash, path))
                kept.append(Kept(path, stash))
        if refused:  # the rebuild could not be written: nothing of it is
            del done.stash[stashed:]
            for path in gone:
                if path.startswith(f"{parent}/"):
                    done.failures[path] = f"cannot delete: {refused}"
            continue
        marker = f"{run}-rebuild-{number}"
        done.rebuilds.append(
            Rebuild(
                parent,
                found.mode,
                found.uid,
                found.gid,
                found.mtime,
                f"{marker}-started",
                f"{marker}-finished",
                tuple(kept),
                _mtime_above(parent, state),
            )
        )
    done.journal = encode(done.rebuilds) if done.rebuilds else b""
    if len(done.journal) > max_record_bytes:
        # The next run could not read it back, and must: no deletion rather than a risk.
        why = "too many paths to rebuild around it (limits.record_bytes)"
        done.failures.update(dict.fromkeys(gone, why))
        done.rebuilds, done.stash, done.journal = [], [], b""
    return done


def entries(
    done: Deletions, state: VolumeState, owner: tuple[int, int], now: float
) -> Iterator[bytes]:
    """The stream entries of the deletions (see the module docstring), after the staging tree
    was made afresh."""
    if not done.rebuilds:
        return
    files = state.files
    for stash, path in done.stash:
        yield member(link_to(f"{STAGING_DIR}/{stash}", path, files[path]))
    yield from bytes_member(plain_file(REBUILD_FILE, 0o600, *owner, now), done.journal)
    for rebuild in done.rebuilds:
        yield from _marker(rebuild.started, owner, now)
        # The deletion: the directory and everything below it go.
        yield from bytes_member(plain_file(rebuild.path, 0o600, *owner, now), b"")
        yield member(_directory(rebuild.path, files[rebuild.path]))
        for kept in rebuild.kept:
            found = files[kept.path]
            if kept.is_dir:
                yield member(_directory(kept.path, found))
            elif kept.is_symlink:
                yield member(symlink(kept.path, kept.linkname, kept.uid, kept.gid, kept.mtime))
            else:
                yield member(link_to(kept.path, f"{STAGING_DIR}/{kept.stash}", found))
        # Replacing the directory dated its parent: set its mtime again (known only from a
        # complete read: a stat tells no owner, and a directory entry sets one).
        if rebuild.above_mtime is not None:
            parent = rebuild.path.rpartition("/")[0]
            yield member(_directory(parent, files[parent]))
        yield from _marker(rebuild.finished, owner, now)


def _mtime_above(path: str, state: VolumeState) -> int | None:
    """The mtime of the directory holding ``path``, as the stream restores it (only from a
    complete read: see ``entries``)."""
    above = state.files.get(path.rpartition("/")[0])
    if not state.complete or above is None or above.kind != "dir" or "/" not in path:
        return None
    return above.mtime


def _marker(name: str, owner: tuple[int, int], now: float) -> Iterator[bytes]:
    yield from bytes_member(plain_file(f"{STAGING_DIR}/{name}", 0o600, *owner, now), b"")


def _directory(path: str, found: VolumeFile) -> tarfile.TarInfo:
    return directory(path, found.mode, found.uid, found.gid, found.mtime)


def below(path: str, roots: set[str]) -> bool:
    """Whether a proper ancestor of ``path`` is one of ``roots``."""
    cut = path.rfind("/")
    while cut > 0:
        path = path[:cut]
        if path in roots:
            return True
        cut = path.rfind("/")
    return False
