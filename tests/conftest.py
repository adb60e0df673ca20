"""Shared fixtures: an isolated environment for every test, cai in-process, a real engine.

Engine tests are marked ``engine``. Without a reachable engine they are skipped, except under
CI=true, where a missing engine is a failure: CI must never pass by skipping them. The helpers
these fixtures use, and that tests import, live in ``tests/support/``.

The engine is ``DOCKER_HOST``'s, named by ``CAI_TEST_ENGINE`` (docker, podman, tcp, ssh;
``scripts/test --engines`` sets both). On the extra engines scripts/test runs the tests marked
``core``; ``tests.support.engines.engine_name()`` names the engine.
"""

from __future__ import annotations

import contextlib
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import engine as engine_support
from tests.support.cai import Result, reap_unfinished, run_program
from tests.support.engine import volume_containers
from tests.support.engines import archive_by_tar, engine_name, give_ssh_identity, over_ssh


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
    if over_ssh():  # paramiko looks for known_hosts in $HOME
        give_ssh_identity(home)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return home


@pytest.fixture(autouse=True)
def no_cai_left_running() -> Iterator[None]:
    """A test that failed while cai ran in the background leaves no process or pipe behind."""
    yield
    reap_unfinished()


@pytest.fixture(scope="session", autouse=True)
def true_owners_on_podman() -> Iterator[None]:
    """On Podman, volumes are read with tar in a container: its archive API reports every file
    as the container user's, where the tests compare owners with Docker's."""
    if engine_name() != "podman":
        yield
        return
    original = engine_support.archive_of
    patch = pytest.MonkeyPatch()
    for module in list(sys.modules.values()):  # modules that imported it by name too
        if module is not None and getattr(module, "archive_of", None) is original:
            patch.setattr(module, "archive_of", archive_by_tar)
    yield
    patch.undo()


@pytest.fixture
def cai(capsys: pytest.CaptureFixture[str]) -> Callable[..., Result]:
    """Run ``cai ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Result:
        capsys.readouterr()
        code = run_program(*args)
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
    """A factory of uniquely named volume names; every volume created under them is removed,
    after the helper containers that may still hold it."""
    names: list[str] = []

    def make(prefix: str = "t") -> str:
        name = f"cai-test-{prefix}-{uuid.uuid4().hex[:10]}"
        names.append(name)
        return name

    yield make
    for name in names:
        for container in volume_containers(docker_client, name):
            with contextlib.suppress(Exception):
                docker_client.api.remove_container(container["Id"], force=True)
        with contextlib.suppress(Exception):
            docker_client.volumes.get(name).remove(force=True)
