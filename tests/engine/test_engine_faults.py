"""An unreachable, vanishing, hanging or full engine (issue 7): one clear line, exit 1, and
every file old or new. An engine that vanishes or hangs mid-run is played by ``EngineRelay``
(``tests/support/relay.py``), a unix socket between cai and the shared engine.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import Cai, cai_env, no_result, one_line, run_cai
from tests.support.crash import (
    ONE_MIB,
    TREE,
    HostTree,
    Point,
    check_interrupted,
    converges_to,
    internal,
    mountpoint,
    reached,
    snapshot,
    staging_progress,
)
from tests.support.engine import (
    TEST_IMAGE,
    read_volume,
)
from tests.support.files import write_files
from tests.support.relay import EngineRelay
from tests.support.tars import file_member, tgz_bytes

pytestmark = pytest.mark.engine


@pytest.mark.parametrize(
    "command",
    [
        ("import",),
        ("import", "--dry-run"),
        ("import", "--json"),
        ("export",),
        ("export", "-o", "x.tgz", "--json"),
        ("import", "--from", "{archive}"),
        ("import", "--from", "{archive}", "--dry-run"),
    ],
    ids=[
        "import",
        "import-dry-run",
        "import-json",
        "export",
        "export-json",
        "restore",
        "restore-dry",
    ],
)
@pytest.mark.parametrize(
    "host", ["unix:///nonexistent.sock", "tcp://127.0.0.1:1"], ids=["unix", "tcp"]
)
def test_an_unreachable_engine_is_one_clear_line_and_exit_1(
    command: tuple[str, ...],
    host: str,
    isolated_env: Path,
    tmp_path: Path,
) -> None:
    archive = tmp_path / "backup.tgz"
    archive.write_bytes(tgz_bytes([file_member(".vimrc", b"set nu\n")]))
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})

    args = [part.format(archive=archive) for part in command]
    result = run_cai(isolated_env, *args, DOCKER_HOST=host)

    assert result.code == 1
    assert one_line(result.err).startswith(f"cai: cannot reach the Docker engine at {host}: ")
    no_result(result, *args)
    assert not (Path.cwd() / "x.tgz").exists()


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["vanishes", "hangs"])
def test_an_engine_lost_mid_import_is_one_line_and_leaves_old_or_new_files(
    failure: str, engine_relay: EngineRelay, host_tree: HostTree, docker_client: Any, volume: str
) -> None:
    home = host_tree.home
    host_tree.imported(volume, "A")
    root = mountpoint(docker_client, volume)
    old = snapshot(root)
    tree = host_tree.use("B")
    env = cai_env(home, DOCKER_HOST=engine_relay.url, CONTAINAI_ENGINE__TIMEOUT="3")
    run = Cai(home, "import", "--data-volume", volume, env=env)
    point = Point("30% staged", staged=0.3)
    run.wait_until(
        lambda: reached(point, staging_progress(root), tree.total, 0),
        f"{point.label} was never reached",
        timeout=120,
    )
    assert run.running(), "the import finished before the engine could be cut"
    if failure == "vanishes":
        engine_relay.cut()
    else:
        engine_relay.frozen.set()

    result = run.finish(timeout=90)
    engine_relay.cut()

    assert result.code == 1, result.err
    assert one_line(result.err).startswith("cai: writing to the volume failed: ")
    assert f"lost the Docker engine at {engine_relay.url}: " in result.err, result.err
    if failure == "hangs":
        assert "timed out" in result.err, result.err
    new = {
        path: replace(
            node,
            size=tree.sizes[path.removeprefix(f"{TREE}/")],
            sha256=tree.digests[path.removeprefix(f"{TREE}/")],
        )
        for path, node in old.items()
        if path.startswith(f"{TREE}/") and node.kind == "file"
    }
    check_interrupted(root, old, new, f"the engine {failure} mid-import", state_required=True)
    # The engine is back: the next run converges.
    converges_to(tree, home, root, volume)


def test_the_engine_is_not_asked_to_compress_the_volume_it_sends(
    engine_relay: EngineRelay, isolated_env: Path, tmp_path: Path, volume: str
) -> None:
    """Asked for gzip (requests' default Accept-Encoding), the engine compresses every read of
    the volume: CPU spent by the engine on each import and export, for data cai unpacks at once.
    Here a no-op re-import of 60 MB of random data took 1.24 s instead of 0.42 s."""
    home = isolated_env
    requests: list[bytes] = []

    def record(request: bytes) -> bool:
        requests.append(request)
        return False

    engine_relay.hold_after(record)
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    for args in (
        ("import", "--data-volume", volume),
        ("import", "--data-volume", volume),  # reads what the first one wrote
        ("export", "--data-volume", volume, "-o", str(tmp_path / "x.tgz")),
    ):
        result = Cai(home, *args, env=env).finish()
        assert result.code == 0, result.err

    reads = [r for r in requests if re.match(rb"GET \S*/archive\?", r)]
    assert len(reads) >= 2, [r.split(b"\r\n")[0] for r in requests]
    for read in reads:
        headers = read.split(b"\r\n\r\n")[0].lower()
        assert b"\r\naccept-encoding: identity" in headers, headers.decode(errors="replace")


@contextlib.contextmanager
def tmpfs_volume(client: Any, name: str, size: str) -> Iterator[Any]:
    """A tmpfs-backed volume, kept mounted by a running container (a tmpfs volume is emptied
    whenever no container uses it)."""
    client.volumes.create(
        name, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": f"size={size}"}
    )
    keeper = client.containers.run(
        TEST_IMAGE,
        ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
        volumes={name: {"bind": "/v", "mode": "rw"}},
        network_mode="none",
        detach=True,
    )
    try:
        yield keeper
    finally:
        keeper.remove(force=True)


def test_a_full_volume_is_one_clear_line_and_no_partial_file(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    home = isolated_env
    write_files(home, {f"{TREE}/small.md": "old\n", ".claude/CLAUDE.md": "old notes\n"})
    with tmpfs_volume(docker_client, volume, "1m"):
        assert cai("import", "--data-volume", volume).code == 0
        before = read_volume(docker_client, volume)
        big = os.urandom(3 * ONE_MIB)
        write_files(home, {f"{TREE}/big.bin": big, f"{TREE}/small.md": "new\n"})

        result = cai("import", "--data-volume", volume)

        assert result.code == 1
        assert one_line(result.err).startswith("cai: writing to the volume failed: ")
        assert "no space left on device" in result.err
        files = read_volume(docker_client, volume)
        assert f"{TREE}/big.bin" not in files or files[f"{TREE}/big.bin"].data == big
        assert files[f"{TREE}/small.md"].data in (b"old\n", b"new\n")
        for path, node in before.items():
            if not internal(path):
                assert path in files, path
                if node.kind == "file" and path != f"{TREE}/small.md":
                    assert files[path].data == node.data, path


def test_after_a_full_volume_error_an_import_that_fits_succeeds(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    """The failed run's staged files must not keep the volume full (the big file is staged
    after the small one, so the next run does not happen to overwrite it)."""
    home = isolated_env
    write_files(home, {f"{TREE}/a.md": "old\n"})
    with tmpfs_volume(docker_client, volume, "1m"):
        assert cai("import", "--data-volume", volume).code == 0
        write_files(home, {f"{TREE}/a.md": "new\n", f"{TREE}/z-big.bin": os.urandom(3 * ONE_MIB)})
        assert cai("import", "--data-volume", volume).code == 1
        (home / TREE / "z-big.bin").unlink()  # the user frees space on the host side

        result = cai("import", "--data-volume", volume)

        assert result.code == 0, result.err
        assert read_volume(docker_client, volume)[f"{TREE}/a.md"].data == b"new\n"
