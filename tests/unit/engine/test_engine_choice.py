"""Which engine containai reaches and how (engine/errors.py, flavour.py, ssh.py), without one:
DOCKER_HOST, Docker contexts, Docker or Podman from /_ping, the ssh command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from requests.structures import CaseInsensitiveDict

from containai.engine import ssh
from containai.engine.errors import endpoint, endpoint_settings
from containai.engine.flavour import from_ping
from containai.errors import EngineError


def test_a_podman_ping_names_its_differences_and_a_docker_one_none() -> None:
    podman = from_ping(CaseInsensitiveDict({"api-version": "1.41", "Libpod-Api-Version": "4.3.1"}))
    docker = from_ping(CaseInsensitiveDict({"Api-Version": "1.43", "Server": "Docker/24"}))
    assert (podman.name, podman.api_version, podman.podman) == ("podman", "1.41", True)
    assert (podman.copies_up_at_create, podman.follows_symlinks, podman.reports_owners) == (
        False,
        True,
        False,
    )
    assert (docker.name, docker.api_version, docker.podman) == ("docker", "1.43", False)
    assert (docker.copies_up_at_create, docker.follows_symlinks, docker.reports_owners) == (
        True,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("ssh://box", ["--", "box"]),
        ("ssh://me@box", ["-l", "me", "--", "box"]),
        ("ssh://me@box:2222", ["-l", "me", "-p", "2222", "--", "box"]),
        ("ssh://me@[::1]:22", ["-l", "me", "-p", "22", "--", "::1"]),
    ],
)
def test_the_ssh_client_runs_dial_stdio_in_batch_mode(host: str, expected: list[str]) -> None:
    dial = "docker system dial-stdio"
    assert ssh.command(host) == ["ssh", "-o", "BatchMode=yes", *expected, dial]


def test_a_host_that_is_not_ssh_is_refused_by_the_ssh_transport() -> None:
    with pytest.raises(ValueError, match="not an ssh://"):
        ssh.command("tcp://box:2375")


@pytest.fixture(autouse=True)
def docker_config_in_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """The Docker CLI's config (its contexts) is the fake home's ~/.docker."""
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)


def write_context(home: Path, name: str, host: str, current: bool = True) -> None:
    """A Docker CLI context as `docker context create NAME --docker host=HOST` stores it."""
    import hashlib

    meta = home / ".docker/contexts/meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    document = {"Name": name, "Metadata": {}, "Endpoints": {"docker": {"Host": host}}}
    (meta / "meta.json").write_text(json.dumps(document))
    if current:
        (home / ".docker/config.json").write_text(json.dumps({"currentContext": name}))


def test_docker_host_wins_over_the_current_context(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_context(isolated_env, "box", "tcp://box.example:2375")
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/other.sock")
    assert endpoint() == "unix:///run/other.sock"
    assert endpoint_settings()["base_url"] == "unix:///run/other.sock"


def test_without_docker_host_the_current_context_is_the_engine(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    write_context(isolated_env, "box", "ssh://me@box.example")
    assert endpoint() == "ssh://me@box.example"
    assert endpoint_settings() == {"base_url": "ssh://me@box.example"}
    monkeypatch.setenv("DOCKER_CONTEXT", "default")  # the environment's choice comes first
    assert endpoint() == "unix:///var/run/docker.sock"


def test_a_context_that_does_not_exist_is_an_error_not_the_local_engine(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setenv("DOCKER_CONTEXT", "typo")
    with pytest.raises(EngineError, match="Docker context 'typo' does not exist"):
        endpoint()


def test_a_context_in_the_current_directory_is_never_looked_up(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With no ~/.docker/config.json the SDK would read ./contexts/...: a cloned repository's.
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    repository = isolated_env.parent / "repository"
    write_context(repository, "remote", "tcp://attacker.invalid:2375", current=False)
    (repository / ".docker").rename(repository / "planted")
    (repository / "planted/contexts").rename(repository / "contexts")
    monkeypatch.chdir(repository)
    monkeypatch.setenv("DOCKER_CONTEXT", "remote")
    with pytest.raises(EngineError, match="Docker context 'remote' does not exist: no Docker"):
        endpoint()


def test_no_context_and_no_docker_host_is_the_local_socket(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    assert endpoint() == "unix:///var/run/docker.sock"


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("false", False)])
def test_engine_ssh_client_and_timeout_reach_the_connection(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch, value: str | None, expected: bool
) -> None:
    from containai import settings
    from containai.engine import Engine

    if value is not None:
        monkeypatch.setenv("CONTAINAI_ENGINE__SSH_CLIENT", value)
    monkeypatch.setenv("CONTAINAI_ENGINE__TIMEOUT", "7")
    asked: list[tuple[int, bool]] = []

    def connect(cls: type[Engine], timeout: int = 120, *, ssh_client: bool = False) -> Any:
        asked.append((timeout, ssh_client))
        return None

    monkeypatch.setattr(Engine, "connect", classmethod(connect))
    Engine.from_settings(settings.load(isolated_env))
    assert asked == [(7, expected)]
