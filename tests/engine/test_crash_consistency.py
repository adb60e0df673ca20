"""Crash consistency against a real engine (issue 7).

``cai import`` and a restore are SIGKILLed at many points of a large transfer: every file stays
old or new, the state record is consistent (or the journal says why not), and a rerun converges
to an uninterrupted run, also after two interruptions in a row. A killed export leaves nothing
at its target. The harness (the two trees, the kill points, reading the volume on this host) is
``tests/support/crash.py``.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import Cai, cai_env, run_cai
from tests.support.crash import (
    META,
    ONE_MIB,
    TREE,
    HostTree,
    Point,
    Seen,
    check_interrupted,
    comparable,
    engine_view,
    fresh_bytes,
    interrupt_at,
    mountpoint,
    rerun_converges,
    restored_mtimes,
    snapshot,
    staging_progress,
)
from tests.support.relay import EngineRelay

pytestmark = pytest.mark.engine


def staged(*fractions: float) -> list[Point]:
    """A point once each fraction of the bytes is staged ("25% staged")."""
    return [Point(f"{fraction:.0%} staged", staged=fraction) for fraction in fractions]


IMPORT_POINTS = [
    Point("0.05s (starting up)", delay=0.05),
    Point("0.5s (before the transfer)", delay=0.5),
    Point("the first staged bytes", staged=0.0),
    *staged(0.1, 0.25, 0.4, 0.55, 0.7, 0.85),
    Point("everything staged", staged=1.0),
    Point("the journal (linking)", journal=True),
]


@pytest.mark.slow
def test_import_killed_at_many_points_leaves_old_or_new_files_and_a_rerun_converges(
    host_tree: HostTree, docker_client: Any, new_volume: Any
) -> None:
    home = host_tree.home
    references: dict[str, dict[str, Seen]] = {}
    for name in ("A", "B"):
        reference = new_volume(f"crash-ref{name.lower()}")
        host_tree.imported(reference, name)
        references[name] = snapshot(mountpoint(docker_client, reference))
    # The host's view of a volume is the engine's.
    assert comparable(references["B"]) == engine_view(docker_client, reference)

    volume = new_volume("crash")
    args = ("import", "--data-volume", volume)
    # A kill before the first run ever finished: files are absent or new, no state yet.
    tree = host_tree.use("A")
    run = Cai(home, *args)
    assert interrupt_at(
        run, Point("half staged", staged=0.5), client=docker_client, volume=volume, total=tree.total
    )
    assert run.finish().code == -signal.SIGKILL
    root = mountpoint(docker_client, volume)
    check_interrupted(root, {}, references["A"], "a kill of the first import", state_required=False)
    rerun_converges(home, root, references["A"], *args, when="a kill of the first import")

    landed: list[str] = []  # where each kill landed, for the message below
    for number, point in enumerate(IMPORT_POINTS):
        name = "B" if number % 2 == 0 else "A"
        old = snapshot(root)
        tree = host_tree.use(name)
        run = Cai(home, *args)
        was_killed = interrupt_at(run, point, client=docker_client, volume=volume, total=tree.total)
        at = staging_progress(root)
        result = run.finish()
        when = f"a kill at {point.label} (importing {name})"
        if was_killed:
            assert result.code == -signal.SIGKILL, result.err
            staged = f"{at.staged * 100 // tree.total}% staged" if at.started else "not staging"
            landed.append(f"{point.label}: {staged}{', linking' if at.journal else ''}")
        else:
            assert result.code == 0, result.err
            landed.append(f"{point.label}: finished first")
        check_interrupted(root, old, references[name], when, state_required=True)
        rerun_converges(home, root, references[name], *args, when=when)

    killed = [where for where in landed if not where.endswith("finished first")]
    assert len(killed) >= 10, landed
    mid_transfer = [where for where in killed if "% staged" in where]
    assert len(mid_transfer) >= 8, landed


def export_archive(home: Path, volume: str, target: Path) -> Path:
    result = run_cai(
        home,
        "export",
        "--data-volume",
        volume,
        "-o",
        str(target),
        CONTAINAI_EXPORT__COMPRESSION_LEVEL="1",
    )
    assert result.code == 0, result.err
    return target


RESTORE_POINTS = [
    Point("0.6s (checking the archive)", delay=0.6),
    Point("the first staged bytes", staged=0.0),
    *staged(0.3, 0.6, 0.9),
]


@pytest.mark.slow
def test_restore_killed_mid_way_leaves_old_or_new_files_and_a_rerun_converges(
    host_tree: HostTree, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    home = host_tree.home
    source = new_volume("restore-src")
    archives: dict[str, Path] = {}
    totals: dict[str, int] = {}
    for name in ("A", "B"):
        totals[name] = host_tree.imported(source, name).total
        archives[name] = export_archive(home, source, tmp_path / f"{name}.tgz")
    references: dict[str, dict[str, Seen]] = {}
    for name in ("A", "B"):
        volume = new_volume(f"restore-ref{name.lower()}")
        restored = run_cai(home, "import", "--data-volume", volume, "--from", str(archives[name]))
        assert restored.code == 0, restored.err
        references[name] = snapshot(mountpoint(docker_client, volume))

    volume = new_volume("restore")
    run = Cai(home, "import", "--data-volume", volume, "--from", str(archives["A"]))
    assert interrupt_at(
        run,
        Point("half staged", staged=0.5),
        client=docker_client,
        volume=volume,
        total=totals["A"],
    )
    assert run.finish().code == -signal.SIGKILL
    root = mountpoint(docker_client, volume)
    when = "a kill of a restore into a new volume"
    check_interrupted(root, {}, references["A"], when, state_required=False)
    rerun_converges(
        home,
        root,
        references["A"],
        "import",
        "--data-volume",
        volume,
        "--from",
        str(archives["A"]),
        when=when,
        keep_mtime=restored_mtimes,
    )

    killed = 0
    for number, point in enumerate(RESTORE_POINTS):
        name = "B" if number % 2 == 0 else "A"
        args = ("import", "--data-volume", volume, "--from", str(archives[name]))
        old = snapshot(root)
        run = Cai(home, *args)
        was_killed = interrupt_at(
            run, point, client=docker_client, volume=volume, total=totals[name]
        )
        result = run.finish()
        assert result.code == (-signal.SIGKILL if was_killed else 0), result.err
        killed += was_killed
        when = f"a kill of a restore at {point.label} (restoring {name})"
        check_interrupted(root, old, references[name], when, state_required=True)
        rerun_converges(home, root, references[name], *args, when=when, keep_mtime=restored_mtimes)
    assert killed == len(RESTORE_POINTS)


@pytest.mark.slow
def test_an_export_killed_mid_way_leaves_nothing_at_its_target(
    host_tree: HostTree, tmp_path: Path, volume: str
) -> None:
    home = host_tree.home
    host_tree.imported(volume, "A")
    out = tmp_path / "out"
    out.mkdir()
    target = out / "backup.tgz"

    def partial_size() -> int:
        sizes = [p.stat().st_size for p in out.glob(".backup.tgz.*") if p.is_file()]
        return max(sizes, default=-1)

    for label, ready in [
        ("0.3s", lambda run: run.elapsed() >= 0.3),
        ("the temporary file appears", lambda run: partial_size() >= 0),
        ("10 MB written", lambda run: partial_size() >= 10 * ONE_MIB),
        ("30 MB written", lambda run: partial_size() >= 30 * ONE_MIB),
    ]:
        run = Cai(home, "export", "--data-volume", volume, "-o", str(target))
        while run.running() and not ready(run):
            time.sleep(0.002)
        assert run.running(), f"the export finished before {label}"
        run.process.kill()
        assert run.finish().code == -signal.SIGKILL
        assert not target.exists(), f"a kill at {label} left {target}"

    # An existing archive at the target stays as it was when a new export (--force, to replace
    # it) is killed.
    target.write_bytes(b"the previous archive")
    for left in out.glob(".backup.tgz.*"):  # the killed runs' temporary files: not this one's
        left.unlink()
    run = Cai(home, "export", "--data-volume", volume, "-o", str(target), "--force")
    while run.running() and partial_size() < 10 * ONE_MIB:
        time.sleep(0.002)
    assert run.running(), "the export finished before 10 MB were written"
    run.process.kill()
    assert run.finish().code == -signal.SIGKILL
    assert target.read_bytes() == b"the previous archive"

    result = run_cai(home, "export", "--data-volume", volume, "-o", str(target), "--force")
    assert result.code == 0, result.err
    assert run_cai(home, "export", "--verify", str(target)).code == 0


@pytest.mark.slow
def test_two_interruptions_in_a_row_still_converge_without_false_conflicts(
    engine_relay: EngineRelay, host_tree: HostTree, docker_client: Any, new_volume: Any
) -> None:
    """An import cut off while linking (some files new, the record still old, the journal
    explaining them), then a second import killed while staging, then a third: the files the
    first run put in place are still known as containai's own, not "changed in the container"."""
    home = host_tree.home
    reference = new_volume("twice-ref")
    volume = new_volume("twice")
    host_tree.imported(reference, "A")
    host_tree.imported(volume, "A")
    expected = snapshot(mountpoint(docker_client, reference))
    root = mountpoint(docker_client, volume)

    # 1: importing B, the engine goes away a little after the journal, in the middle of the links.
    tree_b = host_tree.use("B")
    engine_relay.cut_after(b".containai/staging/journal.json", 64 * 1024)
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    first = Cai(home, "import", "--data-volume", volume, env=env).finish()
    assert first.code == 1, first.err
    seen = snapshot(root)
    new = [p for p, d in tree_b.digests.items() if seen[f"{TREE}/{p}"].sha256 == d]
    assert 0 < len(new) < len(tree_b.digests), f"{len(new)} files new: not cut while linking"

    # 2: importing A again, cut off while staging (before it writes a journal of its own): the
    # engine goes away a quarter MiB into the staged files (run 2 resends only what run 1
    # changed). The staging folder still holds run 1's files: count only those run 2 wrote anew.
    staging = root / META / "staging"
    leftover = {entry.name: entry.inode() for entry in os.scandir(staging)}
    host_tree.use("A")
    relay = EngineRelay(engine_relay.upstream)
    relay.cut_after(b".containai/staging/", 256 * 1024)
    try:
        second = Cai(
            home, "import", "--data-volume", volume, env=cai_env(home, DOCKER_HOST=relay.url)
        )
        assert second.finish().code == 1
    finally:
        relay.cut()
    assert fresh_bytes(staging, leftover) > 0, "run 2 was not cut while staging"
    journal = staging / "journal.json"
    ours = journal.exists() and journal.stat().st_ino != leftover.get(journal.name)
    assert not ours, "run 2 was cut after its journal"

    # 3: the rerun takes the files of run 1 back without calling them conflicts.
    rerun_converges(
        home, root, expected, "import", "--data-volume", volume, when="two interruptions"
    )
