"""What a real engine holds, read and changed through throw-away containers of the test image.

A volume is always mounted at ``/v`` of a container that is created and removed here. The
containers of a volume are listed from the raw listing (the high-level one inspects each
container and fails when another process removes one in between).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from typing import Any

TEST_IMAGE = "containai-test/busybox:latest"
AGENT = (1000, 1000)  # the agent user's uid and gid, owner of all containai writes
ROLE = "containai.role"
DATA_VOLUME = "containai.data-volume"


@dataclass(frozen=True)
class Node:
    kind: str  # file, dir, symlink
    mode: int
    uid: int
    gid: int
    mtime: int
    data: bytes = b""
    linkname: str = ""


def archive_of(client: Any, volume: str, path: str = "/v/.") -> bytes:
    """The engine's tar of ``path`` (under the volume's mount point /v), read-only."""
    container = client.containers.create(
        TEST_IMAGE, ["true"], volumes={volume: {"bind": "/v", "mode": "ro"}}, network_mode="none"
    )
    try:
        chunks, _ = container.get_archive(path)
        return b"".join(chunks)
    finally:
        container.remove(force=True)


def put_archive(client: Any, volume: str, data: bytes, path: str = "/v") -> None:
    """Unpack the tar ``data`` at ``path`` through a container that is never started."""
    container = client.containers.create(
        TEST_IMAGE, ["true"], volumes={volume: {"bind": "/v", "mode": "rw"}}, network_mode="none"
    )
    try:
        assert container.put_archive(path, data)
    finally:
        container.remove(force=True)


def in_volume(client: Any, volume: str, script: str) -> None:
    """Run ``script`` as root with the volume at /v: what an agent in its container could do
    between two host commands."""
    client.containers.run(
        TEST_IMAGE,
        ["sh", "-c", script],
        volumes={volume: {"bind": "/v", "mode": "rw"}},
        network_mode="none",
        remove=True,
    )


def _node(info: tarfile.TarInfo, data: bytes) -> Node:
    kind = "dir" if info.isdir() else "symlink" if info.issym() else "file"
    linkname = info.linkname if info.issym() else ""
    return Node(kind, info.mode & 0o7777, info.uid, info.gid, int(info.mtime), data, linkname)


def read_volume(client: Any, volume: str) -> dict[str, Node]:
    """Everything in a volume; a second name of a file (a hard link) carries its content."""
    nodes: dict[str, Node] = {}
    with tarfile.open(fileobj=io.BytesIO(archive_of(client, volume))) as tar:
        for info in tar:
            if info.name in (".", "./"):
                continue
            data = b""
            if info.isreg():
                handle = tar.extractfile(info)
                data = handle.read() if handle else b""
            elif info.islnk():
                data = nodes[info.linkname.removeprefix("./")].data
            nodes[info.name.removeprefix("./")] = _node(info, data)
    return nodes


def volume_root(client: Any, volume: str) -> Node:
    """The volume's root directory itself (its mode and owner)."""
    with tarfile.open(fileobj=io.BytesIO(archive_of(client, volume, "/v"))) as tar:
        first = tar.next()
    assert first is not None and first.name.rstrip("/") == "v", first
    return _node(first, b"")


def volume_checksum(client: Any, volume: str) -> dict[str, tuple[Any, ...]]:
    """A comparable snapshot of a volume: path -> (kind, mode, owner, mtime, content)."""
    return {
        path: (node.kind, node.mode, node.uid, node.gid, node.mtime, node.data, node.linkname)
        for path, node in read_volume(client, volume).items()
    }


def assert_private(files: dict[str, Node], path: str, where: str = "") -> None:
    """``path`` is a secret as containai writes one: a 0600 file of the agent's, in a 0700
    folder of the agent's (a file at the volume root has the root as parent: not ours)."""
    node = files[path]
    assert (node.kind, node.mode, node.uid, node.gid) == ("file", 0o600, *AGENT), (
        f"{where}{path}: {node.kind} {node.mode:o} {node.uid}:{node.gid}"
    )
    parent = path.rpartition("/")[0]
    if parent:
        holder = files[parent]
        assert (holder.mode, holder.uid, holder.gid) == (0o700, *AGENT), (
            f"{where}{parent}/: {holder.mode:o} {holder.uid}:{holder.gid}"
        )


def volume_exists(client: Any, volume: str) -> bool:
    return any(v.name == volume for v in client.volumes.list(filters={"name": volume}))


def volume_containers(client: Any, volume: str, role: str | None = "helper") -> list[Any]:
    """The containers containai made for ``volume``: its helpers, those of another ``role``
    ("lock"), or every one of them with ``role=None``. Raw summaries: ``Id``, ``Names``, ..."""
    labels = [f"{DATA_VOLUME}={volume}"] + ([f"{ROLE}={role}"] if role else [])
    return list(client.api.containers(all=True, filters={"label": labels}))


def containers_created(
    client: Any, volume: str, start: int, end: int, role: str = "helper"
) -> set[str]:
    """Ids of the containers of ``role`` ("helper" or "lock") created for ``volume`` (by label)
    between two times, from the events."""
    events = client.events(
        since=start,
        until=end,
        decode=True,
        filters={
            "type": "container",
            "event": "create",
            "label": [f"{DATA_VOLUME}={volume}", f"{ROLE}={role}"],
        },
    )
    return {event["id"] for event in events}
