"""The engine the tests run against (``scripts/test --engines``), and what the test bed must do
differently there.

``CAI_TEST_ENGINE`` names it: ``docker`` (the local dockerd, the default), ``podman``, ``tcp``
(a dockerd over TCP) or ``ssh`` (that dockerd through sshd). ``DOCKER_HOST`` says where it is.

- **Podman** reports every file of an archive download as owned by the container's user, so the
  test bed reads volumes with ``tar`` in a started container instead (``archive_by_tar``).
- **SSH**: paramiko (the SDK's SSH transport) reads ``~/.ssh/known_hosts`` and ``~/.ssh/config``
  of ``$HOME``, which every test fakes; those two files are copied into each fake home.
"""

from __future__ import annotations

import io
import os
import posixpath
import pwd
import shutil
import tarfile
import uuid
from pathlib import Path
from typing import Any

ENGINE_VARIABLE = "CAI_TEST_ENGINE"
ENGINES = ("docker", "podman", "tcp", "ssh")
TEST_IMAGE = "containai-test/busybox:latest"


def engine_name() -> str:
    """The engine under test (``docker`` unless scripts/test chose another)."""
    name = os.environ.get(ENGINE_VARIABLE, "docker")
    if name not in ENGINES:
        raise ValueError(f"{ENGINE_VARIABLE}={name}: not one of {', '.join(ENGINES)}")
    return name


def is_podman(client: Any) -> bool:
    """Whether ``client`` talks to Podman (its /_ping names a libpod API version)."""
    api = client.api
    return bool(api._get(api._url("/_ping", versioned_api=False)).headers.get("Libpod-Api-Version"))


def over_ssh() -> bool:
    return (os.environ.get("DOCKER_HOST") or "").startswith("ssh://")


def give_ssh_identity(home: Path) -> None:
    """Copy the real user's known_hosts and ssh config into a fake home (paramiko looks in
    $HOME); never the keys, never a link (a test writing to ~/.ssh must not reach the real one)."""
    real = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".ssh"
    target = home / ".ssh"
    target.mkdir(mode=0o700, exist_ok=True)
    for name in ("known_hosts", "config"):
        if (real / name).is_file():
            shutil.copy2(real / name, target / name)


def archive_by_tar(client: Any, volume: str, path: str = "/v/.") -> bytes:
    """The tar of ``path`` (under the volume's mount point /v) as ``tar`` in a container writes
    it: the real owners on every engine, with the names get_archive gives (``./x`` below
    ``/v/.``, ``v/x`` below ``/v``)."""
    if path.endswith("/."):
        directory, base = path[:-2], "."
    else:
        directory, base = posixpath.split(path.rstrip("/"))
    name = f"cai-test-tar-{uuid.uuid4().hex[:10]}"
    container = client.containers.create(
        TEST_IMAGE,
        ["tar", "-cf", "/volume.tar", "-C", directory or "/", base],
        name=name,
        volumes={volume: {"bind": "/v", "mode": "ro"}},
        network_mode="none",
    )
    try:
        container.start()
        status = container.wait()
        assert status.get("StatusCode") == 0, container.logs()
        chunks, _ = container.get_archive("/volume.tar")
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as outer:
            member = outer.extractfile("volume.tar")
            assert member is not None
            return member.read()
    finally:
        container.remove(force=True)
