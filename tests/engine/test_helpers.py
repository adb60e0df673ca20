"""Helpers a killed command left behind are cleaned up; live ones never are."""

from __future__ import annotations

from typing import Any

import pytest

from containai.engine.client import Engine
from tests.conftest import TEST_IMAGE, helper_containers

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

    assert [c["Id"] for c in helper_containers(docker_client, volume)] == [running]
    assert [c["Id"] for c in helper_containers(docker_client, other)] == [kept_elsewhere]
    docker_client.api.remove_container(running, force=True)
