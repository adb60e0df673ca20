"""The baselines: what the engine, and a plain Python pipeline, do with the same files.

B-floor          the tar B-plain-in builds, prebuilt in memory before the clock starts, then
                 ``put_archive`` into a fresh volume through a created, never-started container
                 (the container's creation and removal are timed): the engine's floor (P1F)
B-plain-in       ``tarfile`` built on the fly from the workload's files -> ``put_archive`` (P1)
B-plain-out      ``get_archive`` of the volume -> zlib level 6 (gzip framing), one thread -> a
                 file (P3)
B-plain-restore  cai's export archive gunzipped and re-tarred in-process by ``tarfile`` ->
                 ``put_archive`` into a fresh volume (P4)
B-cp             ``docker cp TREE/. holder:/data`` into a fresh volume (what a user would type)
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tarfile
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Buffer

TEST_IMAGE = "containai-test/busybox:latest"
MOUNT = "/data"
CHUNK = 1024 * 1024
PREFIX = "cai-bench-"
LABEL = "containai-bench"
AGENT_UID = 1000
VOLUME_LABEL = "cai-bench.volume"  # lets the event count attribute a container to its volume


def new_volume_name(tag: str) -> str:
    return f"{PREFIX}{tag}-{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def holder(client: Any, volume: str, *, read_only: bool = False) -> Iterator[str]:
    """A created, never-started container with ``volume`` at /data; removed afterwards."""
    container = client.api.create_container(
        image=TEST_IMAGE,
        command=["true"],
        labels={LABEL: "holder", VOLUME_LABEL: volume},
        network_disabled=True,
        host_config=client.api.create_host_config(
            binds={volume: {"bind": MOUNT, "mode": "ro" if read_only else "rw"}},
            network_mode="none",
        ),
    )
    try:
        yield str(container["Id"])
    finally:
        client.api.remove_container(container["Id"], force=True)


class _Sink(io.RawIOBase):
    """Where tarfile writes; the generator takes what has accumulated, about 1 MiB at a time."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[bytes] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        chunk = bytes(data)
        self.parts.append(chunk)
        self.size += len(chunk)
        return len(chunk)

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        self.size = 0
        return data


def _agent(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by the agent, whole-second mtime (a float mtime costs a PAX record per file)."""
    info.uid = info.gid = AGENT_UID
    info.uname = info.gname = ""
    info.mtime = int(info.mtime)
    return info


def _tree(tree: Path) -> Iterator[tuple[str, str]]:
    """(path, archive name) of every directory, file and symlink under ``tree``, parents first."""
    for top, dirs, files in os.walk(tree):
        dirs.sort()
        base = os.path.relpath(top, tree)
        prefix = "" if base == "." else f"{base}/"
        for name in (*dirs, *sorted(files)):
            yield os.path.join(top, name), f"{prefix}{name}"


def plain_tar(tree: Path) -> Iterator[bytes]:
    """The plain pipeline: ``tarfile`` adds the workload's files one by one, yielded as built."""
    sink = _Sink()
    with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
        for path, name in _tree(tree):
            tar.add(path, arcname=name, recursive=False, filter=_agent)
            if sink.size >= CHUNK:
                yield sink.take()
    yield sink.take()


def prebuilt_tar(tree: Path) -> bytes:
    """The same tar as ``plain_tar``, whole, in memory (built before B-floor's clock starts)."""
    return b"".join(plain_tar(tree))


def floor(client: Any, data: bytes, volume: str) -> None:
    """B-floor: put_archive of a prebuilt tar into ``volume`` (the engine creates it on use)."""
    with holder(client, volume) as container:
        client.api.put_archive(container, MOUNT, data)


def plain_in(client: Any, tree: Path, volume: str) -> None:
    """B-plain-in: put_archive of ``tree``, the tar built on the fly by ``tarfile``."""
    with holder(client, volume) as container:
        client.api.put_archive(container, MOUNT, plain_tar(tree))


def plain_out(client: Any, volume: str, out: Path, level: int) -> int:
    """B-plain-out: get_archive of the whole volume, zlib at ``level`` (gzip framing, this
    thread) into ``out``."""
    with holder(client, volume, read_only=True) as container:
        stream, _stat = client.api.get_archive(container, MOUNT, chunk_size=CHUNK)
        compressor = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 31: a gzip member
        with open(out, "wb") as raw:
            for chunk in stream:
                raw.write(compressor.compress(chunk))
            raw.write(compressor.flush())
    return out.stat().st_size


def _retar(archive: Path) -> Iterator[bytes]:
    """Every member of the gzipped ``archive``, re-tarred by ``tarfile`` as it is read."""
    sink = _Sink()
    with (
        tarfile.open(archive, mode="r|gz") as source,
        tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar,
    ):
        for member in source:
            tar.addfile(member, source.extractfile(member) if member.isreg() else None)
            if sink.size >= CHUNK:
                yield sink.take()
    yield sink.take()


def plain_restore(client: Any, archive: Path, volume: str) -> None:
    """B-plain-restore: cai's export archive gunzipped and re-tarred in-process -> put_archive."""
    with holder(client, volume) as container:
        client.api.put_archive(container, MOUNT, _retar(archive))


def docker_cp(client: Any, tree: Path, volume: str) -> None:
    """B-cp: the docker CLI copies ``tree`` into the volume through a created container."""
    with holder(client, volume) as container:
        subprocess.run(
            ["docker", "cp", f"{tree}/.", f"{container}:{MOUNT}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


def remove_volume(client: Any, volume: str) -> None:
    with contextlib.suppress(Exception):
        client.api.remove_volume(volume, force=True)
