"""Shared fixtures: an isolated environment for every test, and real-engine helpers.

Engine tests are marked ``engine``. Without a reachable engine they are skipped, except under
CI=true, where a missing engine is a failure: CI must never pass by skipping them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from containai.cli import make_program

TEST_IMAGE = "containai-test/busybox:latest"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake HOME and cwd per test, and no settings leaking in from the real environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in list(os.environ):
        if (
            name.startswith("CONTAINAI_")
            or name.endswith("_FOR_DYNACONF")
            or name
            in (
                "XDG_CONFIG_HOME",
                "XDG_STATE_HOME",
                "XDG_CACHE_HOME",
                "GIT_CONFIG_GLOBAL",
                "SSH_AUTH_SOCK",
                "DOCKER_BUILDKIT",
            )
        ):
            monkeypatch.delenv(name)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


def trust(workspace: Path) -> Any:
    """What `cai trust WORKSPACE` does: trust the project's files as they are now."""
    from containai import project

    project.record_trust(project.load(workspace.resolve()))
    return project.load(workspace.resolve())


@dataclass
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cai(capsys: pytest.CaptureFixture[str]) -> Any:
    """Run ``cai ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = 0
        try:
            make_program().run(["cai", *args], exit=True)
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


# -- real engine -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def docker_client() -> Any:
    import docker

    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a Docker engine (run scripts/docker-up): {error}")
        pytest.skip(f"no Docker engine: {error}")
    return client


@pytest.fixture
def new_volume(docker_client: Any) -> Iterator[Any]:
    """A factory of uniquely named volume names; every volume created under them is removed."""
    names: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"cai-test-{prefix}-{uuid.uuid4().hex[:10]}"
        names.append(name)
        return name

    yield make
    # The raw listing: the high-level one inspects every container and fails when another
    # process removes one in between.
    helpers = docker_client.api.containers(all=True, filters={"label": "containai.role=helper"})
    for container in helpers:
        if (container.get("Labels") or {}).get("containai.data-volume") in names:
            with contextlib.suppress(Exception):
                docker_client.api.remove_container(container["Id"], force=True)
    for name in names:
        with contextlib.suppress(Exception):
            docker_client.volumes.get(name).remove(force=True)


@dataclass(frozen=True)
class Node:
    kind: str  # file, dir, symlink
    mode: int
    uid: int
    gid: int
    mtime: int
    data: bytes = b""
    linkname: str = ""


def read_volume(client: Any, volume: str) -> dict[str, Node]:
    """Everything in a volume, read through a throw-away container of the test image."""
    container = client.containers.create(
        TEST_IMAGE, ["true"], volumes={volume: {"bind": "/v", "mode": "ro"}}, network_mode="none"
    )
    try:
        chunks, _ = container.get_archive("/v/.")
        raw = b"".join(chunks)
    finally:
        container.remove(force=True)
    nodes: dict[str, Node] = {}
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for info in tar:
            if info.name in (".", "./"):
                continue
            name = info.name.removeprefix("./")
            kind = "dir" if info.isdir() else "symlink" if info.issym() else "file"
            data = b""
            if info.isreg():
                handle = tar.extractfile(info)
                data = handle.read() if handle else b""
            elif info.islnk():
                kind = "file"
                data = nodes[info.linkname.removeprefix("./")].data
            nodes[name] = Node(
                kind,
                info.mode & 0o7777,
                info.uid,
                info.gid,
                int(info.mtime),
                data,
                info.linkname if info.issym() else "",
            )
    return nodes


def volume_checksum(client: Any, volume: str) -> dict[str, tuple[Any, ...]]:
    """A comparable snapshot of a volume: path -> (kind, mode, owner, mtime, content)."""
    return {
        path: (node.kind, node.mode, node.uid, node.gid, node.mtime, node.data, node.linkname)
        for path, node in read_volume(client, volume).items()
    }


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


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
            "label": [f"containai.data-volume={volume}", f"containai.role={role}"],
        },
    )
    return {event["id"] for event in events}


def helper_containers(client: Any, volume: str) -> list[Any]:
    """The helper containers of ``volume``, from the raw listing (the high-level one inspects
    each container and races with another process removing one)."""
    labels = ["containai.role=helper", f"containai.data-volume={volume}"]
    return list(client.api.containers(all=True, filters={"label": labels}))
