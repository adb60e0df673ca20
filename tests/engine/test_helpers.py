"""Helper containers against a real engine (issue 7 and 13): they are locked down (no network,
no privileges, only the volume mounted) and never started, and the ones a killed command left
behind are cleaned up; live ones never are."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from containai.engine.client import Engine
from tests.support.cai import run_cai
from tests.support.crash import HostTree
from tests.support.engine import TEST_IMAGE, volume_containers

pytestmark = pytest.mark.engine


def left_helper(client: Any, volume: str, *, start: bool = False) -> str:
    labels = {"containai.role": "helper", "containai.data-volume": volume}
    container = client.containers.create(
        TEST_IMAGE, ["sleep", "30"], labels=labels, network_mode="none"
    )
    if start:
        container.start()
    return str(container.id)


def test_old_never_started_helpers_of_the_volume_are_removed(
    docker_client: Any, new_volume: Any
) -> None:
    volume, other = new_volume("stale"), new_volume("other")
    left_helper(docker_client, volume)
    kept_elsewhere = left_helper(docker_client, other)
    running = left_helper(docker_client, volume, start=True)
    engine = Engine(docker_client)

    assert engine.remove_stale_helpers(volume) == 0  # younger than an hour: maybe in use
    assert engine.remove_stale_helpers(volume, older_than=0) == 1

    assert [c["Id"] for c in volume_containers(docker_client, volume)] == [running]
    assert [c["Id"] for c in volume_containers(docker_client, other)] == [kept_elsewhere]
    docker_client.api.remove_container(running, force=True)


# -- helpers are locked down and never started ------------------------------------------------


@dataclass
class HelperWatch:
    volume: str
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import docker
        import docker.errors

        client = docker.from_env()  # its own connection: this runs in a thread of its own
        while not self.stop.is_set():
            for summary in volume_containers(client, self.volume):
                if summary["Id"] in self.seen:
                    continue
                with contextlib.suppress(docker.errors.NotFound):
                    self.seen[summary["Id"]] = client.api.inspect_container(summary["Id"])
            time.sleep(0.01)


@contextlib.contextmanager
def watching_helpers(volume: str) -> Iterator[HelperWatch]:
    watch = HelperWatch(volume)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join(timeout=30)


def assert_locked_down(attrs: dict[str, Any], volume: str, *, writable: bool) -> None:
    host = attrs["HostConfig"]
    name = attrs["Name"]
    assert host["NetworkMode"] == "none", name
    assert attrs["Config"].get("NetworkDisabled") is True, name
    assert host["Privileged"] is False, name
    assert "ALL" in (host.get("CapDrop") or []), name
    assert not host.get("CapAdd"), name
    assert "no-new-privileges" in (host.get("SecurityOpt") or []), name
    assert not host.get("Devices"), name
    assert attrs["Config"]["User"] == "1000:1000", name
    mounts = attrs["Mounts"]
    assert len(mounts) == 1, mounts
    assert (mounts[0]["Type"], mounts[0]["Name"], mounts[0]["RW"]) == ("volume", volume, writable)
    assert attrs["State"]["Status"] == "created", name
    assert attrs["State"]["StartedAt"].startswith("0001-01-01"), name  # never started


@pytest.mark.slow
def test_helper_containers_are_never_started_and_have_no_network_privileges_or_extra_mounts(
    host_tree: HostTree, docker_client: Any, tmp_path: Path, volume: str
) -> None:
    home = host_tree.home
    host_tree.use("A")

    with watching_helpers(volume) as during_import:
        imported = run_cai(home, "import", "--data-volume", volume)
    with watching_helpers(volume) as during_export:
        exported = run_cai(home, "export", "--data-volume", volume, "-o", str(tmp_path / "x.tgz"))

    assert imported.code == 0, imported.err
    assert exported.code == 0, exported.err
    assert during_import.seen, "no helper container was seen during the import"
    assert during_export.seen, "no helper container was seen during the export"
    for attrs in during_import.seen.values():
        assert_locked_down(attrs, volume, writable=True)
    for attrs in during_export.seen.values():
        assert_locked_down(attrs, volume, writable=False)
    assert volume_containers(docker_client, volume) == []
