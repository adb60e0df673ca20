"""One workload's measurements: baselines interleaved with the cai commands, run by run."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import baselines, upstream
from bench.config import (
    COLD,
    CP,
    DRY_FULL,
    DRY_NONE,
    EXPORT,
    FLOOR,
    IMPORTS,
    NOOP,
    PLAIN_IN,
    PLAIN_OUT,
    PLAIN_RESTORE,
    PYTHON,
    RESTORE,
    STARTUP_IMPORTS,
    TOUCH,
    UPSTREAM,
    VERSION,
    Samples,
    log,
)
from bench.harness import Bench, sent, volume_reads
from bench.measure import Child, timed
from bench.workloads import GENERATORS, Workload

SMOKE_SCALE = {"W1": 0.1, "W2": 0.05, "W3": 0.01}


def generate(bench: Bench, name: str) -> Workload:
    scale = SMOKE_SCALE[name] if bench.config.smoke else 1.0
    home = bench.tmp / f"home-{name}"
    begin = time.perf_counter()
    workload = GENERATORS[name](home, seed=bench.config.seed + int(name[1:]), scale=scale)
    log(
        f"{name}: generated {workload.files} files, {workload.bytes / 1e6:.1f} MB "
        f"in {time.perf_counter() - begin:.1f} s"
    )
    return workload


def measure(bench: Bench, name: str) -> tuple[Workload, Samples]:
    """Generate workload ``name`` and measure it: warm-up and runs (W3: one run, no B-cp, no
    B-upstream); on W1 the dry runs too."""
    workload = generate(bench, name)
    samples = Samples()
    try:
        prebuilt = baselines.prebuilt_tar(workload.home)  # B-floor's tar, outside any clock
        large = name == "W3"
        warmup, runs = (0, 1) if large else (bench.config.warmup, bench.config.runs)
        for number in range(warmup):
            log(f"{name}: warm-up {number + 1}/{warmup}")
            iteration(bench, workload, Samples(), prebuilt, extras=not large)
        for number in range(runs):
            log(f"{name}: run {number + 1}/{runs}")
            iteration(bench, workload, samples, prebuilt, extras=not large)
        del prebuilt
        if name == "W1":
            log("W1: cai import --dry-run")
            dry_runs(bench, workload, samples, max(bench.config.runs, 5))
    finally:
        if not bench.config.keep:
            shutil.rmtree(workload.home, ignore_errors=True)
    return workload, samples


def _baseline(bench: Bench, target: Samples, name: str, action: Callable[[str], object]) -> None:
    """Time ``action(volume)`` on a fresh volume, then remove the volume."""
    volume = bench.volume(name.lower())
    seconds, _, _ = timed(lambda: action(volume))
    target.add(name, seconds)
    bench.drop(volume)


def iteration(
    bench: Bench, workload: Workload, target: Samples, prebuilt: bytes, *, extras: bool
) -> None:
    """Every measurement once, baselines interleaved with the cai commands, so drift hits both."""
    home, client = workload.home, bench.client
    _baseline(bench, target, FLOOR, lambda v: baselines.floor(client, prebuilt, v))
    _baseline(bench, target, PLAIN_IN, lambda v: baselines.plain_in(client, home, v))
    if extras:
        _baseline(bench, target, CP, lambda v: baselines.docker_cp(client, home, v))
    startup(bench, home, target)
    commands(bench, workload, target)
    if extras and bench.upstream_image is not None:
        manifest = bench.source / "containai" / "sync-manifest.toml"
        script = upstream.script(manifest, bench.excludes)
        volume = bench.volume("upstream")
        image = bench.upstream_image
        seconds, started, ended = timed(lambda: upstream.run(client, home, volume, script, image))
        target.add(UPSTREAM, seconds)
        bench.count(target, UPSTREAM, started, ended, volume)
        bench.drop(volume)


def startup(bench: Bench, home: Path, target: Samples) -> None:
    """Whole-process wall time of ``cai --version`` and of the interpreter importing the design
    card's libraries (the start-up P2 leaves out)."""
    target.add(VERSION, bench.cai(home, "--version").wall)
    code = f"import {', '.join(IMPORTS)}"
    child = bench.child(home, [str(PYTHON), "-c", code])
    if child.code != 0:
        raise RuntimeError(f"{PYTHON} -c {code!r} exited {child.code}: {child.stderr[-500:]}")
    target.add(STARTUP_IMPORTS, child.wall)


def _sent(target: Samples, name: str, child: Child) -> None:
    files, sent_bytes = sent(child)
    target.files_sent.setdefault(name, []).append(files)
    target.bytes_sent.setdefault(name, []).append(sent_bytes)


def commands(bench: Bench, workload: Workload, target: Samples) -> None:
    """cold import, no-op import, touch 1 file, B-plain-out, export, B-plain-restore, restore.
    cai is timed as typed (text output): ``--json`` costs more (see BENCHMARKS.md)."""
    home, main = workload.home, bench.volume("import")
    done: dict[str, Child] = {}
    for name in (COLD, NOOP):
        done[name] = bench.cai(home, "import", "--data-volume", main, into=(target, name))
        _sent(target, name, done[name])
    with workload.touched():
        args = ("import", "--data-volume", main, "--json", "--verbose")
        done[TOUCH] = bench.cai(home, *args, into=(target, TOUCH))
    _sent(target, TOUCH, done[TOUCH])
    target.volume_reads.append(volume_reads(done[TOUCH]))

    out = bench.tmp / "plain-out.tgz"
    seconds, _, _ = timed(lambda: baselines.plain_out(bench.client, main, out, bench.level))
    target.add(PLAIN_OUT, seconds)
    out.unlink()
    archive = bench.tmp / "export.tgz"
    args = ("export", "--data-volume", main, "-o", str(archive))
    done[EXPORT] = bench.cai(home, *args, into=(target, EXPORT))
    for name in (COLD, NOOP, TOUCH, EXPORT):
        bench.count(target, name, done[name].started, done[name].ended, main)
    bench.drop(main)

    _baseline(bench, target, PLAIN_RESTORE, partial(baselines.plain_restore, bench.client, archive))
    restored = bench.volume("restore")
    args = ("import", "--from", str(archive), "--data-volume", restored)
    done[RESTORE] = bench.cai(home, *args, into=(target, RESTORE))
    bench.count(target, RESTORE, done[RESTORE].started, done[RESTORE].ended, restored)
    bench.drop(restored)
    archive.unlink()
    shown = (COLD, NOOP, EXPORT, RESTORE)
    log(", ".join(f"{n} {done[n].wall:.2f} s / {done[n].maxrss_mib:.0f} MiB" for n in shown))


def dry_runs(bench: Bench, workload: Workload, samples: Samples, runs: int) -> None:
    """Whole-process wall time of ``cai import --dry-run`` on W1, without and with a volume."""
    fresh = baselines.new_volume_name("dry")  # never created: a dry run creates nothing
    for _ in range(runs):
        samples.add(
            DRY_NONE, bench.cai(workload.home, "import", "--dry-run", "--data-volume", fresh).wall
        )
    main = bench.volume("dry-full")
    bench.cai(workload.home, "import", "--data-volume", main)
    for _ in range(runs):
        samples.add(
            DRY_FULL, bench.cai(workload.home, "import", "--dry-run", "--data-volume", main).wall
        )
    bench.drop(main)
