"""One command at a time on a volume, against a real engine (issue 7).

Parallel commands on one volume are serialised; a waiting command says so, gives up after
``lock.timeout`` naming the holder, and a killed holder leaves no stale lock.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from containai.engine import Engine
from containai.locking import volume_lock
from tests.support.cai import Cai
from tests.support.crash import TREE, engine_view
from tests.support.engine import read_volume, volume_exists
from tests.support.files import write_files

pytestmark = pytest.mark.engine


def small_tree(version: str) -> dict[str, str | bytes]:
    """A few hundred small files whose content starts with the version (versions of different
    lengths give different sizes: test_host_sources.py's same-second test says why that
    matters)."""
    return {
        f"{TREE}/s{i // 50}/f{i:03d}.md": f"{version} file {i}\n" + "x" * (i * 37 % 1500)
        for i in range(300)
    } | {".claude/CLAUDE.md": f"{version} notes\n", ".vimrc": "set nu\n"}


def archive_versions(path: Path) -> set[bytes]:
    """The version prefixes of the tree files an archive holds."""
    found: set[bytes] = set()
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.name.startswith(f"{TREE}/"):
                handle = archive.extractfile(member)
                assert handle is not None
                found.add(handle.read(2))
    return found


@pytest.mark.slow
def test_parallel_imports_and_exports_on_one_volume_are_serialised(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    volume = new_volume("parallel")
    reference = new_volume("parallel-ref")
    write_files(isolated_env, small_tree("v1"))
    assert cai("import", "--data-volume", volume).code == 0  # exports need the volume
    write_files(isolated_env, small_tree("v2-new"))
    archives = [tmp_path / f"export-{n}.tgz" for n in range(2)]
    commands = [
        ("import", "--data-volume", volume),
        ("export", "--data-volume", volume, "-o", str(archives[0])),
        ("import", "--data-volume", volume),
        ("import", "--data-volume", volume),
        ("export", "--data-volume", volume, "-o", str(archives[1])),
        ("import", "--data-volume", volume),
    ]

    runs = [Cai(isolated_env, *command) for command in commands]
    results = [run.finish() for run in runs]

    for command, result in zip(commands, results, strict=True):
        assert result.code == 0, f"{' '.join(command)}: {result.err}"
    assert any("waiting for" in result.err for result in results), [r.err for r in results]
    for archive in archives:
        verified = cai("export", "--verify", str(archive))
        assert verified.code == 0, verified.out + verified.err
        # An export runs wholly before or wholly after an import: never a mix of versions.
        assert archive_versions(archive) in ({b"v1"}, {b"v2"}), archive
    assert cai("import", "--data-volume", reference).code == 0
    assert engine_view(docker_client, volume) == engine_view(docker_client, reference)


@contextlib.contextmanager
def engine_lock(client: Any, volume: str, command: str) -> Iterator[None]:
    """The volume's lock, held by this test process as a command would hold it."""
    with volume_lock(
        Engine(client),
        volume,
        command=command,
        timeout=0,
        stale_after=3600,
        on_wait=print,
        on_break=print,
    ):
        yield


@pytest.fixture
def volume(new_volume: Any, isolated_env: Path) -> str:
    """A volume not created yet, and notes in the fake home to import into it."""
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})
    return str(new_volume("lock"))


@pytest.fixture
def lock_timeout(monkeypatch: pytest.MonkeyPatch) -> Callable[[int], None]:
    """Set ``lock.timeout`` for the commands the test runs (and keep locks in the fake home)."""

    def set_timeout(seconds: int) -> None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", str(seconds))

    return set_timeout


@pytest.mark.core
def test_a_second_command_waits_for_the_holder_and_then_proceeds(
    isolated_env: Path, docker_client: Any, volume: str
) -> None:
    with engine_lock(docker_client, volume, "export"):
        waiting = Cai(isolated_env, "import", "--data-volume", volume)
        line = waiting.wait_for_stderr("waiting for")
        time.sleep(0.5)
        assert waiting.running(), "the second command did not wait for the lock"
        assert not volume_exists(docker_client, volume)  # it waits before touching anything
    result = waiting.finish()

    assert f"'cai export' (pid {os.getpid()} of " in line and socket.gethostname() in line
    assert volume in line
    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/CLAUDE.md"].data == b"notes\n"


@pytest.mark.parametrize(
    "command",
    [("import",), ("import", "--dry-run"), ("export", "-o", "out.tgz"), ("export", "--json")],
    ids=["import", "import-dry-run", "export", "export-json"],
)
def test_a_command_gives_up_after_the_lock_timeout_naming_the_holder(
    command: tuple[str, ...], cai: Any, docker_client: Any, volume: str, lock_timeout: Any
) -> None:
    lock_timeout(1)

    with engine_lock(docker_client, volume, "restore"):
        started = time.monotonic()
        result = cai(*command, "--data-volume", volume)
        waited = time.monotonic() - started

    assert result.code == 1, result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(f"cai: volume {volume} is busy: 'cai restore' (pid {os.getpid()} of ")
    assert socket.gethostname() in last
    assert "after 1s" in last
    assert "Traceback" not in result.err
    assert 1 <= waited < 15
    assert not volume_exists(docker_client, volume)
    assert not (Path.cwd() / "out.tgz").exists()


HOLDER = """
import sys, time
from containai.engine import Engine
from containai.locking import volume_lock
with volume_lock(Engine.connect(), sys.argv[1], command="import", timeout=0, stale_after=3600,
                 on_wait=print, on_break=print):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_holder_leaves_no_stale_lock(
    cai: Any, docker_client: Any, volume: str, lock_timeout: Any
) -> None:
    lock_timeout(0)  # no waiting at all
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, volume],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        blocked = cai("import", "--data-volume", volume)
        assert blocked.code == 1
        assert f"'cai import' (pid {holder.pid} of " in blocked.err
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

    started = time.monotonic()
    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert "waiting for" not in result.err
    assert f"broke the lock of volume {volume}" in result.err and "process is gone" in result.err
    assert time.monotonic() - started < 30
    assert read_volume(docker_client, volume)[".claude/CLAUDE.md"].data == b"notes\n"
