"""Fixtures of the engine tests: the agent image, the compose agent container, clean-up.

- ``volume``: the name of the test's volume (made with ``new_volume``, tests/conftest.py).
- ``agent_image``: ``containai-test/agent:latest`` built from ``tests/engine/agent`` once per
  session with the SDK (busybox, user 1000:1000, a command that runs until SIGTERM).
- ``agent_run_env``: settings for ``cai run`` (that image, network "none": the default bridge
  does not work on the test machines), and clean-up of the containers the test created.
- ``compose_agent``: a long-running agent container from ``docker-compose.yml`` (pytest-docker,
  set up for Debian's docker-compose 1.29), its data volume prepared by ``cai import``.
- ``host_tree``: ~/.claude/skills switched between two versions of a ~60 MB tree (``trees``,
  made once per session); ``engine_relay``: the engine seen through a relay a test can cut or
  freeze (``tests/support/crash.py``, ``tests/support/relay.py``).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import run_program
from tests.support.crash import HostTree, Tree, two_trees
from tests.support.engine import TEST_IMAGE
from tests.support.relay import EngineRelay

HERE = Path(__file__).parent
AGENT_IMAGE = "containai-test/agent:latest"
COMPOSE_VOLUME_VARIABLE = "CAI_COMPOSE_VOLUME"
COMPOSE_SERVICE = "agent"
LABEL_WORKSPACE = "containai.workspace"


@pytest.fixture(scope="session")
def agent_image(docker_client: Any) -> str:
    docker_client.images.build(
        path=str(HERE / "agent"), tag=AGENT_IMAGE, rm=True, forcerm=True, network_mode="none"
    )
    return AGENT_IMAGE


@pytest.fixture
def volume(new_volume: Any) -> str:
    """The name of the test's volume, not created yet (removed after the test)."""
    return str(new_volume("vol"))


# -- clean-up ----------------------------------------------------------------------------------


def _under(path: str, root: Path) -> bool:
    return any(path == str(r) or path.startswith(f"{r}/") for r in {root, root.resolve()})


@pytest.fixture
def engine_cleanup(docker_client: Any, tmp_path: Path) -> Iterator[None]:
    """After the test, even a failed one: remove every container (then volume) whose
    containai.workspace label lies under the test's tmp path."""
    yield
    for container in docker_client.containers.list(all=True, filters={"label": LABEL_WORKSPACE}):
        if _under(container.labels.get(LABEL_WORKSPACE, ""), tmp_path):
            with contextlib.suppress(Exception):
                container.remove(force=True)
    for volume in docker_client.volumes.list(filters={"label": LABEL_WORKSPACE}):
        if _under((volume.attrs.get("Labels") or {}).get(LABEL_WORKSPACE, ""), tmp_path):
            with contextlib.suppress(Exception):
                volume.remove(force=True)


@pytest.fixture
def plain_container(docker_client: Any) -> Iterator[Any]:
    """A factory of started, long-running containers of the test busybox (no containai labels
    unless given); all are removed after the test."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("network_mode", "none")
        container = docker_client.containers.create(
            TEST_IMAGE,
            ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"],
            name=f"cai-test-plain-{uuid.uuid4().hex[:10]}",
            init=True,
            **options,
        )
        made.append(container)
        container.start()
        return container

    yield make
    for container in made:
        with contextlib.suppress(Exception):
            container.remove(force=True)


@pytest.fixture
def agent_run_env(
    agent_image: str,
    engine_cleanup: None,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> str:
    """Settings for `cai run`: the locally built agent image and no network."""
    monkeypatch.setenv("CONTAINAI_RUN__IMAGE", agent_image)
    monkeypatch.setenv("CONTAINAI_RUN__NETWORK", "none")
    return agent_image


# -- pytest-docker with Debian's docker-compose 1.29 ----------------------------------------


def _cai_in(home: Path, cwd: Path, *args: str) -> int:
    """Run `cai ARGS...` in-process with HOME and cwd set, and no containai settings inherited."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        for name in list(os.environ):
            if name.startswith("CONTAINAI_") or name in ("XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL"):
                patch.delenv(name)
        patch.chdir(cwd)
        return run_program(*args)


@pytest.fixture(scope="session")
def compose_volume(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The compose agent's data volume (external to compose), created by `cai import` before
    compose starts, so its root belongs to the agent user as in any containai volume."""
    name = f"cai-test-compose-{uuid.uuid4().hex[:10]}"
    root = tmp_path_factory.mktemp("compose")
    (root / "home").mkdir()
    (root / "work").mkdir()
    patch = pytest.MonkeyPatch()
    try:
        code = _cai_in(root / "home", root / "work", "import", "--data-volume", name)
        if code != 0:
            pytest.fail(f"cai import --data-volume {name} exited {code}")
        patch.setenv(COMPOSE_VOLUME_VARIABLE, name)
        yield name
    finally:
        patch.undo()
        for container in docker_client.containers.list(all=True, filters={"volume": name}):
            with contextlib.suppress(Exception):
                container.remove(force=True)
        with contextlib.suppress(Exception):
            docker_client.volumes.get(name).remove(force=True)


@pytest.fixture(scope="session")
def docker_compose_command() -> str:
    return "docker-compose"


@pytest.fixture(scope="session")
def docker_compose_file() -> str:
    return str(HERE / "docker-compose.yml")


@pytest.fixture(scope="session")
def docker_setup(compose_volume: str) -> Iterator[list[str]]:
    # compose 1.29 does not know `up --wait` (it prints its usage and exits 0), and its build
    # fails when DOCKER_BUILDKIT is exported (no buildx here).
    patch = pytest.MonkeyPatch()
    patch.delenv("DOCKER_BUILDKIT", raising=False)
    yield ["up --build -d"]
    patch.undo()


@pytest.fixture(scope="session")
def docker_cleanup() -> list[str]:
    return ["down -v --rmi local"]


@pytest.fixture(scope="session")
def compose_agent(
    docker_client: Any, docker_services: Any, docker_compose_project_name: str
) -> Any:
    """The running container of the compose service ``agent``."""
    found = docker_client.containers.list(
        filters={
            "label": [
                f"com.docker.compose.project={docker_compose_project_name}",
                f"com.docker.compose.service={COMPOSE_SERVICE}",
            ]
        }
    )
    if len(found) != 1:
        pytest.fail(f"expected one running compose agent container, found {len(found)}")
    return found[0]


# -- the crash, interrupt and engine-fault tests -----------------------------------------------


@pytest.fixture(scope="session")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tree]:
    """Version A and version B of a ~60 MB skills tree, never changed once made."""
    return two_trees(tmp_path_factory.mktemp("trees"))


@pytest.fixture
def host_tree(trees: dict[str, Tree], isolated_env: Path, tmp_path: Path) -> HostTree:
    return HostTree(isolated_env, trees, tmp_path / "versions")


@pytest.fixture
def engine_relay(docker_client: Any) -> Iterator[EngineRelay]:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        pytest.skip(f"the relay needs a unix-socket engine, not {host}")
    relay = EngineRelay(host.removeprefix("unix://"))
    yield relay
    relay.cut()
