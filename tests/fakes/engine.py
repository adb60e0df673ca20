"""An in-memory fake of the engine facade, for testing the pure core without Docker.

``FakeVolume`` is a volume's tree; ``FakeHelper`` reads and writes it through tar streams as a
helper container's archive API does; ``FakeEngine`` holds volumes and hands out helpers.

Observed on this machine's engine (Docker 20.10.24, API 1.41), put_archive and get_archive on a
created, never-started container with a named volume at /data; the fake does the same:

- put applies entries in order. A non-directory entry replaces whatever is at its path: a
  directory goes with everything below it, a symlink goes itself (not what it points to). A
  directory entry over a directory updates its mode, owner and mtime and keeps its children.
  A "." entry is ignored (the volume root keeps its owner). Setuid/setgid bits are kept.
- Missing parents are created 0755, owned by root (0:0), dated now.
- A hard-link entry makes its name share the target's inode (a file's or a symlink's):
  replacing one name later leaves the other as it was. The header's mode and mtime are
  ignored, its uid/gid are applied to the shared inode (lchown). A link to a missing path or
  to a directory fails the put (HTTP 500 "operation not permitted"), and so does a parent
  that is a file ("not a directory"); the entries before it stay applied.
- Creating or removing a name dates its directory now; at the end of a put that succeeded, the
  mtimes of its directory entries are applied again (so they win over that).
- A stream cut inside a file fails the put and leaves that file torn: the bytes received,
  owned 0:0, dated now. One cut inside a header fails too. One that stops between members
  (even before a member's padding), without the end-of-archive blocks, is accepted.
- stat (HEAD) of a path below a file fails ("not a directory"); of a missing path is a 404.
- get yields the tree under the path's basename (``data``, ``data/a``, ...; the root itself
  first), depth first with the names of a directory in byte order. The second name of an
  inode (a symlink's too) is a hard-link entry (size 0) whose linkname is the first name,
  ``data/...`` included. Header modes carry the file type (0o40755, 0o100644, 0o120777).

Left out: writing through a symlinked parent (Docker follows it, the fake refuses), devices
and FIFOs, xattrs, user and group names, sub-second mtimes, disk space, concurrent streams.
"""

from __future__ import annotations

import contextlib
import io
import posixpath
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Literal

from containai.engine.containers import ContainerInfo
from containai.engine.helpers import HelperSpec
from containai.engine.volumes import VolumeInfo
from containai.errors import EngineError

MTIME = 1_600_000_000  # the default date of what a test puts into a volume by hand
NOW = 1_800_000_000  # the clock of the fake volume of the unit tests' ``volume`` fixture
NodeKind = Literal["file", "dir", "symlink"]
_TYPE_BITS = {"dir": 0o40000, "file": 0o100000, "symlink": 0o120000}
_RM = ["sh", "-c", 'cd /data && rm -rf -- "$@"', "sh"]  # what steps.volume.delete_planned runs


def _now() -> int:
    return int(time.time())


@dataclass(eq=False)  # compared by identity: two names holding one Node are hard links
class Node:
    kind: NodeKind
    mode: int
    uid: int
    gid: int
    mtime: int
    content: bytes = b""
    linkname: str = ""


@dataclass
class FakeVolume:
    """A volume's tree: path (relative; "" is the root, 1000:1000 0700 as containai's helper
    image makes it) -> Node."""

    name: str = "vol"
    labels: dict[str, str] = field(default_factory=dict)
    clock: Callable[[], int] = _now  # "now", for what the engine dates itself
    nodes: dict[str, Node] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.nodes.setdefault("", Node("dir", 0o700, 1000, 1000, self.clock()))

    # -- built by hand: exactly as described, missing parents 0755 (nothing is dated now) -----

    def add_dir(
        self, path: str, *, mode: int = 0o755, uid: int = 1000, gid: int = 1000, mtime: int = MTIME
    ) -> Node:
        return self._add(path, Node("dir", mode, uid, gid, mtime))

    def add_file(
        self,
        path: str,
        content: bytes = b"",
        *,
        mode: int = 0o644,
        uid: int = 1000,
        gid: int = 1000,
        mtime: int = MTIME,
    ) -> Node:
        return self._add(path, Node("file", mode, uid, gid, mtime, content))

    def add_symlink(
        self, path: str, target: str, *, uid: int = 1000, gid: int = 1000, mtime: int = MTIME
    ) -> Node:
        return self._add(path, Node("symlink", 0o777, uid, gid, mtime, linkname=target))

    def add_hardlink(self, path: str, target: str) -> Node:
        return self._add(path, self.nodes[target])

    def _add(self, path: str, node: Node) -> Node:
        for parent in _parents(path):
            self.nodes.setdefault(parent, Node("dir", 0o755, node.uid, node.gid, MTIME))
        self._remove(path)
        self.nodes[path] = node
        return node

    # -- reading --------------------------------------------------------------------------------

    def content(self, path: str) -> bytes:
        node = self.nodes[path]
        assert node.kind == "file", f"{path} is a {node.kind}"
        return node.content

    def same_file(self, a: str, b: str) -> bool:
        return self.nodes[a] is self.nodes[b]

    def walk(self, path: str = "") -> list[str]:
        """``path`` and everything below it, in the engine's order."""
        return sorted((p for p in self.nodes if _under(p, path)), key=_walk_order)

    def tar(self, path: str = "", top: str = "data") -> Iterator[bytes]:
        """The tar stream of ``path`` with names under ``top``, as get_archive makes it."""
        first: dict[int, str] = {}  # id(Node) -> its first name in this stream
        for current in self.walk(path):
            node = self.nodes[current]
            below = current[len(path) :].lstrip("/")
            info = tarfile.TarInfo(f"{top}/{below}" if below else top)
            info.mode, info.uid, info.gid, info.mtime = node.mode, node.uid, node.gid, node.mtime
            data = b""
            if node.kind == "dir":
                info.type = tarfile.DIRTYPE
            elif id(node) in first:  # a second name, of a file or of a symlink
                info.type, info.linkname = tarfile.LNKTYPE, first[id(node)]
            elif node.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, node.linkname
                first[id(node)] = info.name
            else:
                first[id(node)], data, info.size = info.name, node.content, len(node.content)
            header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
            yield _with_type_bits(header, node.mode | _TYPE_BITS[node.kind])
            yield data + b"\0" * (-len(data) % tarfile.BLOCKSIZE)
        yield b"\0" * (2 * tarfile.BLOCKSIZE)

    # -- writing, as the engine does ------------------------------------------------------------

    def apply(self, stream: Iterable[bytes]) -> None:
        """Unpack a tar stream as put_archive does (see the module docstring)."""
        directories: list[tuple[str, int]] = []
        reader, last = _Reader(stream), None
        try:
            with tarfile.open(fileobj=reader, mode="r|") as tar:
                for last in tar:
                    name = last.name.removeprefix("./").strip("/")
                    if name not in ("", "."):
                        self._apply(tar, last, name)
                        if last.isdir():
                            directories.append((name, int(last.mtime)))
        except tarfile.ReadError as error:
            # Go's tar reader takes an empty stream, or one that stops right after a member's
            # data (before its padding), for a finished one; Python's tarfile does not.
            end = 0 if last is None else last.offset_data + last.size
            if reader.total != end or not reader.ended:
                raise EngineError(f"writing to the volume failed: {error}") from None
        else:
            if reader.ended and reader.total % tarfile.BLOCKSIZE:  # tarfile stops silently there
                raise EngineError("writing to the volume failed: unexpected EOF")
        for name, mtime in directories:
            if (node := self.nodes.get(name)) is not None and node.kind == "dir":
                node.mtime = mtime

    def _apply(self, tar: tarfile.TarFile, info: tarfile.TarInfo, name: str) -> None:
        if ".." in name.split("/"):
            raise EngineError(f"writing to the volume failed: {name} is outside the volume")
        for parent in _parents(name):
            found = self.nodes.get(parent)
            if found is None:
                self._touch(parent)
                self.nodes[parent] = Node("dir", 0o755, 0, 0, self.clock())
            elif found.kind != "dir":  # a symlink too: Docker would follow it, the fake refuses
                raise EngineError(f"writing to the volume failed: {parent} is a {found.kind}")
        existing = self.nodes.get(name)
        mode, mtime = info.mode & 0o7777, int(info.mtime)
        if info.isdir() and existing is not None and existing.kind == "dir":
            existing.mode, existing.uid, existing.gid, existing.mtime = mode, *_owner(info), mtime
            return
        self._remove(name)
        self._touch(name)
        if info.isdir():
            self.nodes[name] = Node("dir", mode, *_owner(info), mtime)
        elif info.issym():
            # Docker joins the target to the link's directory (an absolute one too) and
            # refuses a link whose result climbs out of the volume.
            joined = posixpath.normpath(
                posixpath.join(posixpath.dirname(name) or ".", info.linkname.lstrip("/"))
            )
            if joined == ".." or joined.startswith("../"):
                raise EngineError(f"writing to the volume failed: invalid symlink {name!r}")
            self.nodes[name] = Node("symlink", 0o777, *_owner(info), mtime, b"", info.linkname)
        elif info.islnk():
            target = self.nodes.get(info.linkname.removeprefix("./").strip("/"))
            if target is None or target.kind == "dir":
                raise EngineError(f"writing to the volume failed: link {info.linkname} {name}")
            target.uid, target.gid = _owner(info)  # lchown; mode and mtime are not applied
            self.nodes[name] = target
        elif info.isreg():
            node = self.nodes[name] = Node("file", mode, 0, 0, self.clock())
            handle = tar.extractfile(info)
            assert handle is not None
            chunks = []
            try:
                while chunk := handle.read(tarfile.BLOCKSIZE):
                    chunks.append(chunk)
            finally:  # a stream cut inside the file leaves it torn, root's and dated now
                node.content = b"".join(chunks)
            (node.uid, node.gid), node.mtime = _owner(info), mtime
        else:
            raise EngineError(f"the fake engine cannot write {name} (tar type {info.type!r})")

    def remove(self, path: str) -> None:
        """rm -rf, which dates the directory it removed from."""
        if path in self.nodes:
            self._remove(path)
            self._touch(path)

    def _remove(self, path: str) -> None:
        for below in [p for p in self.nodes if _under(p, path)]:
            del self.nodes[below]

    def _touch(self, path: str) -> None:
        if (parent := self.nodes.get(path.rpartition("/")[0])) is not None:
            parent.mtime = self.clock()


def _with_type_bits(header: bytes, mode: int) -> bytes:
    """The header with the file type in its mode field, as the engine writes it (0o40755 for a
    directory, 0o100644 for a file): tarfile keeps only the permission bits."""
    block = bytearray(header[-tarfile.BLOCKSIZE :])
    block[100:108] = b"%07o\0" % mode
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return header[: -tarfile.BLOCKSIZE] + bytes(block)


def _owner(info: tarfile.TarInfo) -> tuple[int, int]:
    return info.uid, info.gid


def _parents(path: str) -> Iterator[str]:
    parts = path.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])


def _walk_order(path: str) -> list[bytes]:
    # Depth first, the names of a directory in byte order (Go's filepath.Walk).
    return [part.encode("utf-8", "surrogateescape") for part in path.split("/")] if path else []


def _under(path: str, root: str) -> bool:
    return not root or path == root or path.startswith(f"{root}/")


class _Reader(io.RawIOBase):
    """A file over an iterator of byte chunks."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks, self._pending = iter(chunks), b""
        self.total, self.ended = 0, False  # bytes read; whether there are no more

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if (chunk := next(self._chunks, None)) is None:
                self.ended = True
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        self.total += size
        return size


class FakeHelper:
    """What containai.engine.helpers.Helper offers, over a FakeVolume."""

    def __init__(self, volume: FakeVolume, mount: str = "/data", *, read_only: bool = False):
        self.volume, self.mount, self.read_only = volume, mount, read_only
        self.id = f"fake-helper-{volume.name}"
        self.puts = 0  # streams received: a no-op run sends none
        self.requests: list[tuple[str, str]] = []  # get_if_present and stat calls, in order
        self.closed = False

    def put(self, stream: Iterable[bytes]) -> None:
        self._check_open()
        if self.read_only:
            raise EngineError("writing to the volume failed: mounted volume is marked read-only")
        self.puts += 1
        self.volume.apply(stream)

    def get(self, path: str = "") -> Iterator[bytes]:
        self._check_open()
        path = path.strip("/")
        if path not in self.volume.nodes:
            raise EngineError(f"reading the volume failed: no such file: {path}")
        top = (path or self.mount.rstrip("/")).rpartition("/")[2]
        return self.volume.tar(path, top)

    def get_if_present(self, path: str) -> Iterator[bytes] | None:
        """Like ``get``, or None when the volume has nothing there; below a file, the engine's
        "not a directory" error."""
        self.requests.append(("get", path))
        if self._lookup(path) is None:
            return None
        return self.get(path)

    def stat(self, path: str) -> dict[str, object] | None:
        """The engine's stat (HEAD): Go's FileMode type bits, an RFC 3339 mtime; None: absent."""
        self.requests.append(("head", path))
        node = self._lookup(path)
        if node is None:
            return None
        go_type = {"dir": 1 << 31, "symlink": 1 << 27, "file": 0}[node.kind]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(node.mtime))
        size = len(node.content) if node.kind == "file" else 4096
        # The engine names where a symlink resolves (absolute), not its link text.
        target = f"{self.mount}/{node.linkname}" if node.kind == "symlink" else ""
        return {
            "name": path.rpartition("/")[2],
            "size": size,
            "mode": node.mode | go_type,
            "mtime": stamp,
            "linkTarget": target,
        }

    def _lookup(self, path: str) -> Node | None:
        self._check_open()
        path = path.strip("/")
        for parent in _parents(path):
            found = self.volume.nodes.get(parent)
            if found is not None and found.kind != "dir":
                raise EngineError(f"reading the volume failed: {path}: not a directory")
        return self.volume.nodes.get(path)

    @contextlib.contextmanager
    def open_file(self, path: str) -> Iterator[tuple[IO[bytes], int]]:
        """One regular file of the volume: its content and its size."""
        self._check_open()
        node = self.volume.nodes.get(path.strip("/"))
        if node is None or node.kind != "file":
            raise EngineError(f"{path} is not a regular file in the volume")
        yield io.BytesIO(node.content), len(node.content)

    def read_file(self, path: str) -> bytes:
        """A test's shortcut (the real Helper has only open_file)."""
        with self.open_file(path) as (handle, _):
            return handle.read()

    def close(self) -> None:
        self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise EngineError(f"helper {self.id} was removed")


class FakeEngine:
    """The parts of containai.engine.Engine that file transfer uses."""

    def __init__(self, run: str = "fake-run") -> None:
        self.run = run  # this command's id: it names the staged files of an import
        self.volumes: dict[str, FakeVolume] = {}
        self.helpers: list[FakeHelper] = []

    def volume(self, name: str) -> VolumeInfo | None:
        found = self.volumes.get(name)
        return None if found is None else VolumeInfo(found.name, dict(found.labels))

    def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        self.volumes.setdefault(name, FakeVolume(name, dict(labels)))  # an existing one stays
        return VolumeInfo(name, dict(self.volumes[name].labels))

    @contextlib.contextmanager
    def helper(
        self, volume: str, spec: HelperSpec, *, read_only: bool = False
    ) -> Iterator[FakeHelper]:
        # A container that mounts a named volume that does not exist creates it.
        self.volumes.setdefault(volume, FakeVolume(volume))
        helper = FakeHelper(self.volumes[volume], spec.mount, read_only=read_only)
        self.helpers.append(helper)
        try:
            yield helper
        finally:
            helper.close()

    def remove_stale_helpers(self, volume: str, *, older_than: float = 3600) -> int:
        return 0

    def containers_using(self, volume: str) -> list[ContainerInfo]:
        return []

    def run_in_volume(
        self, volume: str, image: str, command: list[str], *, mount: str = "/data"
    ) -> tuple[int, str]:
        """Only the ``rm -rf`` that deletes planned paths (steps.volume.delete_planned)."""
        if command[: len(_RM)] != _RM:
            return 127, f"the fake engine cannot run {command!r}"
        for path in command[len(_RM) :]:
            self.volumes[volume].remove(path)
        return 0, ""
