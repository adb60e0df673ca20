"""Ctrl-C and SIGTERM against a real engine (issues 7 and 13): a clean stop (exit 130, or 143
for SIGTERM), ``cai: interrupted`` as the last line, and no container of the volume left behind,
wherever the signal lands: while the helper is created, while the volume is read, mid-transfer.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import Cai, Result, cai_env, run_cai
from tests.support.crash import (
    ONE_MIB,
    TREE,
    HostTree,
    Point,
    converges_to,
    interrupt_at,
    mountpoint,
    snapshot,
)
from tests.support.engine import put_archive, volume_containers
from tests.support.files import write_files
from tests.support.relay import EngineRelay
from tests.support.tars import file_member, tar_bytes

pytestmark = pytest.mark.engine

# Enough files that an import is still running when its helper appears.
COMMANDS = {f".claude/commands/c{n}.md": "x\n" * 1000 for n in range(200)}


def assert_interrupted(result: Result) -> None:
    assert result.code == 130, result.err
    assert result.err.strip().splitlines()[-1] == "cai: interrupted"
    assert "Traceback" not in result.err


def signal_when_a_helper_appears(client: Any, home: Path, volume: str, how: int) -> Result:
    """`cai import` into ``volume``, sent ``how`` as soon as its helper container exists."""
    run = Cai(home, "import", "--data-volume", volume)
    run.wait_until(lambda: bool(volume_containers(client, volume)), "no helper appeared")
    run.process.send_signal(how)
    return run.finish(timeout=60)


def test_sigint_right_after_the_helper_appears_leaves_nothing(
    isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    write_files(isolated_env, COMMANDS)
    interrupted = 0
    for round_ in range(10):
        volume = new_volume(f"sigint-{round_}")

        result = signal_when_a_helper_appears(docker_client, isolated_env, volume, signal.SIGINT)

        if result.code != 0:  # 0: it finished before the signal landed
            assert_interrupted(result)
            interrupted += 1
        left = volume_containers(docker_client, volume, role=None)
        assert left == [], f"round {round_}: {[c['Names'] for c in left]}"
    assert interrupted > 0, "every import finished before its SIGINT: nothing was tested"


def test_sigterm_cleans_up_like_sigint(isolated_env: Path, docker_client: Any, volume: str) -> None:
    write_files(isolated_env, COMMANDS)

    result = signal_when_a_helper_appears(docker_client, isolated_env, volume, signal.SIGTERM)

    assert result.code in (0, 143), result.err
    assert volume_containers(docker_client, volume, role=None) == []
    assert "Traceback" not in result.err


@pytest.mark.slow
def test_sigint_mid_transfer_stops_cleanly_with_exit_130_and_releases_everything(
    host_tree: HostTree, docker_client: Any, volume: str
) -> None:
    home = host_tree.home
    old = host_tree.imported(volume, "A")
    tree = host_tree.use("B")
    run = Cai(home, "import", "--data-volume", volume)
    point = Point("30% staged", staged=0.3)
    assert interrupt_at(
        run, point, client=docker_client, volume=volume, total=tree.total, how=signal.SIGINT
    )

    result = run.finish(timeout=60)

    assert_interrupted(result)
    assert volume_containers(docker_client, volume) == []
    root = mountpoint(docker_client, volume)
    for path, node in snapshot(root).items():
        if path.startswith(f"{TREE}/") and node.kind == "file":
            relative = path.removeprefix(f"{TREE}/")
            assert node.sha256 in (old.digests[relative], tree.digests[relative]), path
    converges_to(tree, home, root, volume)


def full_import_through(relay: EngineRelay, home: Path, volume: str) -> Cai:
    """`cai import --force` in the background through ``relay``: --force reads the whole
    volume (a three-way re-import reads only its records)."""
    env = cai_env(home, DOCKER_HOST=relay.url)
    return Cai(home, "import", "--force", "--data-volume", volume, env=env)


def test_sigint_while_the_helper_is_being_created_leaves_no_helper_behind(
    engine_relay: EngineRelay, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    """The engine has created the helper container but its answer has not reached cai yet when
    Ctrl-C comes: the container must not be left behind (its name is known before the call)."""
    home = isolated_env
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    # Held after the helper's creation (the volume's lock container is created first).
    engine_relay.hold_after(lambda request: b"/containers/create?name=containai-helper" in request)
    run = full_import_through(engine_relay, home, volume)
    run.wait_until(
        lambda: engine_relay.held.is_set() and bool(volume_containers(docker_client, volume)),
        "the helper was never created",
    )
    assert run.running()
    run.process.send_signal(signal.SIGINT)

    try:
        result = run.finish(timeout=60)
    finally:
        engine_relay.cut()  # the engine lets go of whatever it was still sending

    assert_interrupted(result)
    assert volume_containers(docker_client, volume) == []


def put_many_files(client: Any, volume: str, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes under .many/ in the volume (random, so that the
    engine's stream of the volume stays large even if it is compressed on the way)."""
    data = os.urandom(count * size)
    files = [file_member(f".many/f{n:05d}", data[n * size : (n + 1) * size]) for n in range(count)]
    put_archive(client, volume, tar_bytes(files))


@pytest.mark.slow
def test_sigint_while_the_volume_is_being_read_stops_promptly(
    engine_relay: EngineRelay, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    """Ctrl-C while cai reads the volume and the engine is still sending it: cai must close that
    stream before it removes the helper, or the engine (still holding the container for the
    stream) makes the removal wait for the engine timeout, 120 s by default."""
    home = isolated_env
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    assert run_cai(home, "import", "--data-volume", volume).code == 0
    # 30,000 small files: cai spends its time parsing their tar headers in Python, so that
    # Ctrl-C comes while it is busy with the stream, not while it waits for more of it.
    put_many_files(docker_client, volume, 30_000, 1024)
    # cai gets the answer and its first megabytes; then the engine seems to stall, mid-stream.
    engine_relay.hold_after(
        lambda request: request.startswith(b"GET ") and b"/archive" in request, allow=10 * ONE_MIB
    )
    run = full_import_through(engine_relay, home, volume)
    run.wait_until(lambda: engine_relay.passed >= 3 * ONE_MIB, "the volume was never read")
    assert run.running()
    run.process.send_signal(signal.SIGINT)
    started = time.monotonic()

    try:
        result = run.finish(timeout=20)
    finally:
        engine_relay.cut()  # the engine lets go of whatever it was still sending
        stopped = time.monotonic() - started
        # A helper stuck in removal keeps the volume; wait for it so that the volume can be
        # removed after the test (this only takes long while cai leaves the stream open).
        left = volume_containers(docker_client, volume)
        for _ in range(120):
            if not volume_containers(docker_client, volume):
                break
            time.sleep(1)

    assert_interrupted(result)
    assert stopped < 10, f"cai took {stopped:.0f}s to stop"
    assert left == []
