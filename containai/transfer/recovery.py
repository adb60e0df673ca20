"""Finishing a rebuild an interrupted run left (see ``transfer/deletion.py``).

A deletion replaces a directory by a file and rebuilds what it kept from hard links stashed in
the staging tree. A run cut short between the two leaves the kept files only in the stash, and
the next run clears the staging tree first thing: so before that, the next run puts back, from
the stash, every kept path that is missing, as the journal describes it.

What the volume holds now wins: a name that exists again is left alone (the agent may have
written it since), nothing is written below a name that is no longer a directory, and a
directory that is no longer the empty file the deletion left there (the agent replaced or
removed it) is not rebuilt: had the run finished, the agent's change would have removed the
kept paths just the same.
"""

from __future__ import annotations

from collections.abc import Iterator

from containai.transfer.headers import directory, hard_link, symlink
from containai.transfer.rebuilds import Put, Rebuild
from containai.transfer.tar import member
from containai.transfer.volume_state import META_DIR, STAGING_DIR, VolumeFile, VolumeState


def settle(state: VolumeState) -> None:
    """Decide what finishes the rebuilds of ``state`` (``state.recovery``) and show ``state``
    as it will be then, so that a plan made from it is the plan for that volume. Only for a
    complete read (a missing name must really be missing); calling it again does nothing."""
    if state.recovery is not None:
        return
    if state.rebuilds and not state.complete:
        raise ValueError("an interrupted rebuild can only be finished from a complete read")
    state.recovery = [put for rebuild in state.rebuilds for put in _finish(rebuild, state)]


def pending(state: VolumeState) -> bool:
    """Whether a run must write to finish what an interrupted run left: entries to put back,
    or a rebuild that started and has no ``finished`` marker (even with nothing to put back,
    its staging tree must go, or an export keeps refusing the volume)."""
    settle(state)
    files = state.files

    def staged(name: str) -> bool:
        return f"{STAGING_DIR}/{name}" in files

    return bool(state.recovery) or any(rebuild.unfinished(staged) for rebuild in state.rebuilds)


def forget_below(state: VolumeState, deleted: list[str]) -> None:
    """Put nothing back at or below ``deleted``, names a program just deleted from the volume
    root (the rebuild's directory went with them)."""
    if not state.rebuilds:
        return
    settle(state)
    prefixes = tuple(f"{name}/" for name in deleted)
    gone = set(deleted)
    state.recovery = [
        put
        for put in state.recovery or ()
        if put.path not in gone and not put.path.startswith(prefixes)
    ]


def entries(state: VolumeState) -> Iterator[bytes]:
    """The stream entries that finish the rebuilds: they must come before the staging tree,
    which holds the stash, is cleared."""
    settle(state)
    for put in state.recovery or ():
        if put.linkname:
            info = symlink(put.path, put.linkname, put.uid, put.gid, put.mtime)
        elif put.source:
            info = hard_link(put.path, put.source, put.uid, put.gid, mode=put.mode, mtime=put.mtime)
        else:
            info = directory(put.path, put.mode, put.uid, put.gid, put.mtime)
        yield member(info)


def _finish(rebuild: Rebuild, state: VolumeState) -> list[Put]:
    files = state.files
    if f"{STAGING_DIR}/{rebuild.started}" not in files:
        return []  # cut before the directory was replaced: it is whole
    path = rebuild.path
    if path == META_DIR or path.startswith(f"{META_DIR}/") or not _directories_above(path, files):
        return []
    if f"{STAGING_DIR}/{rebuild.finished}" in files:
        return _dated(rebuild, files)  # rebuilt: what is missing now was removed since
    puts: list[Put] = []

    def put(done: Put, found: VolumeFile) -> None:
        puts.append(done)
        files[done.path] = found  # the volume as it will be

    current = files.get(path)
    if current is None or current.kind != "dir":
        if current is None or current.kind != "file" or current.size != 0:
            return []  # not the empty file the deletion left: someone's since
        put(*_directory(path, rebuild.mode, rebuild.uid, rebuild.gid, rebuild.mtime))
    for kept in rebuild.kept:
        # Parents come first: a parent that is not a directory now was not rebuilt.
        parent = files.get(kept.path.rpartition("/")[0])
        if kept.path in files or parent is None or parent.kind != "dir":
            continue
        if kept.is_dir:
            put(*_directory(kept.path, kept.mode, kept.uid, kept.gid, kept.mtime))
            continue
        if kept.is_symlink:  # its target was checked when the journal was read
            shape = VolumeFile("symlink", 0, kept.mtime, 0o777, kept.uid, kept.gid, kept.linkname)
            put(Put(kept.path, "", 0o777, kept.uid, kept.gid, kept.mtime, kept.linkname), shape)
            continue
        source = f"{STAGING_DIR}/{kept.stash}"
        stashed = files.get(source)
        if stashed is None or stashed.kind in ("dir", "symlink"):
            continue  # not a stash of ours (the agent changed the staging tree)
        # The inode's own owner, mode and mtime (never the journal's): linking changes nothing.
        owner = (stashed.uid, stashed.gid)
        put(Put(kept.path, source, stashed.mode, *owner, stashed.mtime), stashed)
    return puts + _dated(rebuild, files)


def _dated(rebuild: Rebuild, files: dict[str, VolumeFile]) -> list[Put]:
    """The rebuild's directories dated again. The entries written below them dated them, and
    a stream cut before its end sets no directory times (the engine sets them last). Only the
    mtime is the journal's: their mode and owner stay what they are."""
    path = rebuild.path
    above = path.rpartition("/")[0]
    dated = [(path, rebuild.mtime), *((k.path, k.mtime) for k in rebuild.kept if k.is_dir)]
    if rebuild.above_mtime is not None and above:
        dated.append((above, rebuild.above_mtime))
    puts = []
    for where, mtime in dated:
        found = files.get(where)
        if found is not None and found.kind == "dir":
            puts.append(Put(where, "", found.mode, found.uid, found.gid, mtime))
    return puts


def _directory(path: str, mode: int, uid: int, gid: int, mtime: int) -> tuple[Put, VolumeFile]:
    # No special bits from a journal anyone could have written.
    mode &= 0o777
    return Put(path, "", mode, uid, gid, mtime), VolumeFile("dir", 0, mtime, mode, uid, gid)


def _directories_above(path: str, files: dict[str, VolumeFile]) -> bool:
    parts = path.split("/")
    for end in range(1, len(parts)):
        found = files.get("/".join(parts[:end]))
        if found is None or found.kind != "dir":
            return False
    return True
