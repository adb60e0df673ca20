"""`cai ls` and `cai rm` against a real engine: what containai manages, found by its labels, and
removed only when it is containai's, confirmed, and not in use."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import one_line
from tests.support.engine import volume_exists
from tests.support.files import new_dir, write_files

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine_cleanup")]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return new_dir(tmp_path / "ws").resolve()


def imported(cai: Any, isolated_env: Path, workspace: Path, *args: str) -> str:
    """The volume a `cai import ARGS` in ``workspace`` made (or used)."""
    write_files(isolated_env, {".gitconfig": "[user]\n\tname = Dev\n"})
    with contextlib.chdir(workspace):  # naming it would hot-reload its container
        result = cai("import", "--json", *args)
    assert result.code == 0, result.err
    name: str = json.loads(result.out)["volume"]["name"]
    return name


def listed(cai: Any) -> dict[str, dict[str, Any]]:
    result = cai("ls", "--json")
    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["version"] == 1
    return {volume["name"]: volume for volume in document["volumes"]}


# -- cai ls ----------------------------------------------------------------------------------


def test_ls_lists_the_test_s_volumes_with_their_workspaces(
    cai: Any, isolated_env: Path, workspace: Path, new_volume: Any
) -> None:
    other = new_dir(workspace.parent / "other")
    first = imported(cai, isolated_env, workspace, "--data-volume", new_volume("ls"))
    second = imported(cai, isolated_env, other, "--data-volume", new_volume("ls"))

    volumes = listed(cai)

    assert volumes[first]["workspace"] == str(workspace)
    assert volumes[second]["workspace"] == str(other)
    assert volumes[first]["workspace_exists"] is True
    assert volumes[first]["created"]
    text = cai("ls").out
    assert any(first in line and str(workspace) in line for line in text.splitlines()), text


def test_ls_marks_the_volume_a_reset_left_behind(
    cai: Any, isolated_env: Path, workspace: Path
) -> None:
    old = imported(cai, isolated_env, workspace)
    new = imported(cai, isolated_env, workspace, "--reset")

    volumes = listed(cai)

    assert old != new
    assert volumes[new]["current"] is True
    assert volumes[old]["current"] is False
    line = next(line for line in cai("ls").out.splitlines() if line.startswith(f"{old} "))
    assert "--reset" in line


def test_ls_leaves_out_what_containai_does_not_manage(cai: Any, docker_client: Any) -> None:
    stranger = docker_client.volumes.create(labels={"containai.workspace": "/somewhere"})
    try:
        assert stranger.name not in listed(cai)
    finally:
        stranger.remove(force=True)


# -- cai rm ----------------------------------------------------------------------------------


def test_rm_volume_with_yes_removes_it(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path, volume: str
) -> None:
    imported(cai, isolated_env, workspace, "--data-volume", volume)

    result = cai("rm", "--volume", volume, "--yes")

    assert result.code == 0, result.err
    assert not volume_exists(docker_client, volume)
    assert volume not in listed(cai)


def test_rm_volume_without_yes_and_without_a_terminal_exits_2_and_keeps_it(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path, volume: str
) -> None:
    imported(cai, isolated_env, workspace, "--data-volume", volume)

    result = cai("rm", "--volume", volume)

    assert result.code == 2
    line = one_line(result.err)
    assert volume in line and "--yes" in line
    assert volume_exists(docker_client, volume)


def test_rm_refuses_a_volume_a_running_container_uses(
    cai: Any,
    docker_client: Any,
    isolated_env: Path,
    workspace: Path,
    volume: str,
    plain_container: Any,
) -> None:
    imported(cai, isolated_env, workspace, "--data-volume", volume)
    user = plain_container(volumes={volume: {"bind": "/data", "mode": "rw"}})

    result = cai("rm", "--volume", volume, "--yes", "--json")

    assert result.code == 1
    line = one_line(result.err)
    assert "running container" in line and user.name in line
    assert json.loads(result.out)["error"]["exit_code"] == 1
    assert volume_exists(docker_client, volume)


@pytest.mark.usefixtures("agent_run_env")
def test_rm_of_a_workspace_and_a_volume_in_use_elsewhere_removes_nothing(
    cai: Any,
    docker_client: Any,
    isolated_env: Path,
    workspace: Path,
    new_volume: Any,
    plain_container: Any,
) -> None:
    imported(cai, isolated_env, workspace)
    started = cai("run", str(workspace))
    assert started.code == 0, started.err
    other = new_volume("other")
    assert cai("import", "--data-volume", other).code == 0
    user = plain_container(volumes={other: {"bind": "/data", "mode": "rw"}})

    result = cai("rm", str(workspace), "--volume", other, "--yes")

    assert result.code == 1 and user.name in one_line(result.err)
    assert docker_client.containers.list(all=True, filters={"name": started.out.strip()})
    assert volume_exists(docker_client, other)


def test_rm_refuses_a_volume_containai_does_not_manage(
    cai: Any, docker_client: Any, volume: str
) -> None:
    docker_client.volumes.create(name=volume)

    result = cai("rm", "--volume", volume, "--yes")

    assert result.code == 2
    assert "not managed by containai" in one_line(result.err)
    assert volume_exists(docker_client, volume)


def test_rm_of_a_volume_that_does_not_exist_says_so(cai: Any, new_volume: Any) -> None:
    missing = new_volume("missing")
    result = cai("rm", "--volume", missing, "--yes")
    assert result.code == 1
    assert one_line(result.err) == f"cai: volume {missing} not found"


@pytest.mark.usefixtures("agent_run_env")
def test_rm_workspace_removes_its_container_and_keeps_its_volume(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    volume = imported(cai, isolated_env, workspace)
    started = cai("run", str(workspace))
    assert started.code == 0, started.err
    name = started.out.strip()
    assert name in listed(cai)[volume]["containers"]

    refused = cai("rm", str(workspace))
    removed = cai("rm", str(workspace), "--yes", "--json")

    assert refused.code == 2 and name in one_line(refused.err)
    assert removed.code == 0, removed.err
    assert json.loads(removed.out)["removed"] == {"containers": [name], "volume": None}
    assert docker_client.containers.list(all=True, filters={"name": name}) == []
    assert volume_exists(docker_client, volume)


@pytest.mark.usefixtures("agent_run_env")
def test_rm_workspace_and_its_volume_together(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    volume = imported(cai, isolated_env, workspace)
    assert cai("run", str(workspace)).code == 0

    alone = cai("rm", "--volume", volume, "--yes")
    both = cai("rm", str(workspace), "--volume", volume, "--yes")

    assert alone.code == 1 and "running container" in one_line(alone.err)
    assert both.code == 0, both.err
    assert not volume_exists(docker_client, volume)
