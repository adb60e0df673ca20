"""The tar headers of a put stream: directories, files, hard links, the volume root.

Docker and Podman unpack them alike, except where a header says more than Docker applies:

- a ``.`` entry: Docker skips it (the volume root keeps its owner and mode); Podman applies
  it, so it must say what the root already is (the agent's, 0700);
- a hard link: both apply its uid and gid to the shared inode (lchown); Podman also applies its
  mode and mtime, which Docker ignores. So a link header always carries its target's own owner,
  mode and mtime: on either engine, linking changes nothing about the file it links to;
- a hard link to a symlink: Docker links the symlink itself, Podman the file it points to. So a
  symlink is never hard-linked: it is written again, as a symlink with the same target.
"""

from __future__ import annotations

import tarfile

from containai.transfer.volume_state import VolumeFile


def directory(name: str, mode: int, uid: int, gid: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = int(mtime)  # whole seconds: what the engine keeps, and a plain ustar header
    return info


def plain_file(name: str, mode: int, uid: int, gid: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = int(mtime)
    return info


def hard_link(
    name: str, target: str, uid: int, gid: int, *, mode: int, mtime: float
) -> tarfile.TarInfo:
    """``name`` becomes a second name of ``target``, whose owner, mode and mtime these are."""
    info = tarfile.TarInfo(name)
    info.type = tarfile.LNKTYPE
    info.linkname = target
    info.uid, info.gid = uid, gid
    info.mode = mode & 0o7777
    info.mtime = int(mtime)
    return info


def link_to(name: str, target: str, found: VolumeFile) -> tarfile.TarInfo:
    """A hard link to a volume path as the volume read found it (a file, or another kind that
    is neither a directory nor a symlink)."""
    return hard_link(name, target, found.uid, found.gid, mode=found.mode, mtime=found.mtime)


def symlink(name: str, target: str, uid: int, gid: int, mtime: float) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    info.mode = 0o777
    info.uid, info.gid = uid, gid
    info.mtime = int(mtime)
    return info


def volume_root(uid: int, gid: int, mtime: float) -> tarfile.TarInfo:
    """The explicit root entry every put stream starts with (see the module docstring)."""
    return directory(".", 0o700, uid, gid, mtime)
