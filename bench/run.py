"""The benchmark: workloads, the cai commands and the baselines, interleaved run by run."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import baselines, rsync_image, sysinfo
from bench.measure import Child, EventRecorder, run_child, summary, timed
from bench.workloads import GENERATORS, Workload

ROOT = Path(__file__).resolve().parent.parent
CAI = ROOT / ".venv" / "bin" / "cai"

# Goals from issue 6: (figure, comparison, bound).
GOALS: dict[str, tuple[str, float]] = {
    "P1": ("<=", 1.25),
    "P2": ("<=", 0.10),
    "P3": ("<=", 1.15),
    "P4": ("<=", 1.25),
    "P5": ("<=", 150.0),
    "B-upstream/P1": (">=", 5.0),
}
FIGURE_KEYS = ("P1", "P2", "P3", "P4", "P5", "P6", "B-upstream/P1", "startup")


@dataclass
class Config:
    smoke: bool
    runs: int
    warmup: int
    seed: int
    workloads: list[str]
    upstream: bool
    build_image: bool
    workdir: Path | None
    keep: bool = False
    ref: str | None = None  # measure this git revision (a snapshot) instead of the work tree


@dataclass
class Samples:
    """Raw per-run numbers of one workload, keyed by measurement name."""

    times: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[float]] = field(default_factory=dict)
    containers: dict[str, list[dict[str, int]]] = field(default_factory=dict)
    bytes_sent: dict[str, list[int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, config: Config, client: Any, tmp: Path) -> None:
        self.config = config
        self.client = client
        self.tmp = tmp
        self.work = tmp / "workspace"  # cwd of every cai command: no containai.toml above it
        self.work.mkdir()
        self.volumes: set[str] = set()
        self.source = ROOT
        self.revision = _describe(ROOT, None)
        if config.ref:
            self.source = _snapshot(config.ref, tmp / "checkout")
            self.revision = _describe(ROOT, config.ref)
        settings = tomllib.loads((self.source / "settings.toml").read_text())
        self.level = int(settings["export"]["compression_level"])
        self.excludes = list(settings["import"]["default_excludes"])
        self.upstream_image: str | None = None
        self.recorder = EventRecorder(client)
        self.upstream_note = ""

    # -- helpers ---------------------------------------------------------------------------------

    def volume(self, tag: str) -> str:
        name = baselines.new_volume_name(tag)
        self.volumes.add(name)
        return name

    def drop(self, name: str) -> None:
        baselines.remove_volume(self.client, name)
        self.volumes.discard(name)

    def env(self, home: Path) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CONTAINAI_")
            and not key.endswith("_FOR_DYNACONF")
            and key not in ("XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "VIRTUAL_ENV")
        }
        env["HOME"] = str(home)
        if self.source != ROOT:
            env["PYTHONPATH"] = str(self.source)  # ahead of the editable install's /work path
        return env

    def cai(self, home: Path, *args: str, into: tuple[Samples, str] | None = None) -> Child:
        """Run cai; ``into`` records its wall time and peak RSS under a measurement name."""
        child = run_child([str(CAI), *args], env=self.env(home), cwd=self.work)
        if child.code != 0:
            raise RuntimeError(
                f"cai {' '.join(args)} exited {child.code}: {child.stderr.strip()[-2000:]}"
            )
        if into is not None:
            samples, name = into
            samples.add(name, child.wall)
            samples.rss.setdefault(name, []).append(child.maxrss_mib)
        return child

    def count(self, samples: Samples, name: str, started: float, ended: float, volume: str) -> None:
        counts = self.recorder.count(started, ended, volume)
        samples.containers.setdefault(name, []).append(counts)

    # -- the rsync image for B-upstream ---------------------------------------------------------

    def prepare_upstream(self) -> None:
        if not self.config.upstream:
            self.upstream_note = "skipped (--no-upstream)"
            return
        if rsync_image.exists():
            self.upstream_image = rsync_image.IMAGE
            return
        if not self.config.build_image:
            self.upstream_note = (
                f"skipped: image {rsync_image.IMAGE} absent (smoke mode does not build it)"
            )
            log(self.upstream_note)
            return
        log(f"building {rsync_image.IMAGE} with debootstrap (once; cached by tag)")
        try:
            rsync_image.build(quiet=True)
        except Exception as error:
            self.upstream_note = f"skipped: could not build {rsync_image.IMAGE}: {error}"
            log(self.upstream_note)
            return
        self.upstream_image = rsync_image.IMAGE

    # -- one workload ----------------------------------------------------------------------------

    def generate(self, name: str, scale: float) -> Workload:
        home = self.tmp / f"home-{name}"
        begin = time.perf_counter()
        workload = GENERATORS[name](home, seed=self.config.seed + int(name[1:]), scale=scale)
        log(
            f"{name}: generated {workload.files} files, {workload.bytes / 1e6:.1f} MB "
            f"in {time.perf_counter() - begin:.1f} s"
        )
        return workload

    def iteration(self, workload: Workload, samples: Samples, *, record: bool) -> None:
        """Every measurement once, baselines interleaved with the cai commands."""
        home = workload.home
        scratch = Samples()
        target = samples if record else scratch

        raw = self.volume("raw-in")
        seconds, _, _ = timed(lambda: baselines.raw_in(self.client, home, raw))
        target.add("B-raw-in", seconds)
        self.drop(raw)

        copy = self.volume("cp")
        seconds, _, _ = timed(lambda: baselines.docker_cp(self.client, home, copy))
        target.add("B-cp", seconds)
        self.drop(copy)

        self.commands(home, target, restore=True)

        if self.upstream_image is not None:
            manifest = self.source / "containai" / "sync-manifest.toml"
            script = baselines.upstream_script(manifest, self.excludes)
            up = self.volume("upstream")
            seconds, started, ended = timed(
                lambda: baselines.upstream(self.client, home, up, script, str(self.upstream_image))
            )
            target.add("B-upstream", seconds)
            self.count(target, "B-upstream", started, ended, up)
            self.drop(up)

    def commands(self, home: Path, target: Samples, *, restore: bool) -> None:
        """cold import, no-op import, B-raw-out, export and (optionally) restore, in that order."""
        main = self.volume("import")
        cold = self.cai(
            home, "import", "--data-volume", main, "--json", into=(target, "import (cold)")
        )
        self.count(target, "import", cold.started, cold.ended, main)
        target.bytes_sent.setdefault("import (cold)", []).append(_sent(cold))

        noop = self.cai(
            home, "import", "--data-volume", main, "--json", into=(target, "import (no-op)")
        )
        self.count(target, "import (no-op)", noop.started, noop.ended, main)
        target.bytes_sent.setdefault("import (no-op)", []).append(_sent(noop))

        out = self.tmp / "raw-out.tgz"
        seconds, _, _ = timed(lambda: baselines.raw_out(self.client, main, out, self.level))
        target.add("B-raw-out", seconds)
        out.unlink()

        archive = self.tmp / "export.tgz"
        export = self.cai(
            home, "export", "--data-volume", main, "-o", str(archive), into=(target, "export")
        )
        self.count(target, "export", export.started, export.ended, main)
        self.drop(main)
        for name, child in (("import", cold), ("no-op import", noop), ("export", export)):
            log(f"  {name}: {child.wall:.2f} s, peak RSS {child.maxrss_mib:.0f} MiB")

        if restore:
            restored = self.volume("restore")
            done = self.cai(
                home, "import", "--from", str(archive), "--data-volume", restored, "--json",
                into=(target, "restore"),
            )  # fmt: skip
            self.count(target, "restore", done.started, done.ended, restored)
            self.drop(restored)
        archive.unlink()

    def startup(self, workload: Workload, samples: Samples, runs: int) -> None:
        """Whole-process wall time of cai --version and cai import --dry-run on W1."""
        fresh = baselines.new_volume_name("dry")  # never created: a dry run creates nothing
        for _ in range(runs):
            samples.add("cai --version", self.cai(workload.home, "--version").wall)
            dry = self.cai(workload.home, "import", "--dry-run", "--data-volume", fresh)
            samples.add("import --dry-run (no volume)", dry.wall)
        main = self.volume("dry-full")
        self.cai(workload.home, "import", "--data-volume", main)
        for _ in range(runs):
            dry = self.cai(workload.home, "import", "--dry-run", "--data-volume", main)
            samples.add("import --dry-run (populated volume)", dry.wall)
        self.drop(main)

    def large(self, workload: Workload, samples: Samples) -> None:
        """W3, once: peak RSS of cai import and cai export (P5), with the raw floors beside them."""
        home = workload.home
        raw = self.volume("w3-raw")
        seconds, _, _ = timed(lambda: baselines.raw_in(self.client, home, raw))
        samples.add("B-raw-in", seconds)
        self.drop(raw)

        self.commands(home, samples, restore=False)

    def workload(self, name: str) -> tuple[Workload, Samples]:
        smoke = self.config.smoke
        scale = {"W1": 0.1, "W2": 0.05, "W3": 0.01}[name] if smoke else 1.0
        workload = self.generate(name, scale)
        samples = Samples()
        try:
            if name == "W3":
                self.large(workload, samples)
                return workload, samples
            for number in range(self.config.warmup):
                log(f"{name}: warm-up {number + 1}/{self.config.warmup}")
                self.iteration(workload, samples, record=False)
            for number in range(self.config.runs):
                log(f"{name}: run {number + 1}/{self.config.runs}")
                self.iteration(workload, samples, record=True)
            if name == "W1":
                log("W1: start-up (cai --version, cai import --dry-run)")
                self.startup(workload, samples, max(self.config.runs, 5))
        finally:
            if not self.config.keep:
                shutil.rmtree(workload.home, ignore_errors=True)
        return workload, samples

    def foreign_containers(self) -> int:
        created = [e for e in self.recorder.events if e.get("Action") == "create"]
        return sum(
            1
            for event in created
            if not any(
                str(value).startswith(baselines.PREFIX)
                for value in ((event.get("Actor") or {}).get("Attributes") or {}).values()
            )
        )

    def cleanup(self) -> None:
        self.recorder.close()
        for name in list(self.volumes):
            self.drop(name)
        with contextlib.suppress(Exception):
            for container in self.client.api.containers(
                all=True, filters={"label": baselines.LABEL}
            ):
                self.client.api.remove_container(container["Id"], force=True)


def _sent(child: Child) -> int:
    return int(json.loads(child.stdout)["result"]["bytes_sent"])


# -- figures ---------------------------------------------------------------------------------------


def _median(samples: Samples, name: str) -> float | None:
    values = samples.times.get(name) or []
    return summary(values)["median"] if values else None


def _ratio(samples: Samples, top: str, bottom: str, figure: str) -> dict[str, Any] | None:
    """Ratio of medians, with the spread of the per-run ratios (runs are paired)."""
    a, b = samples.times.get(top) or [], samples.times.get(bottom) or []
    if not a or not b:
        return None
    value = summary(a)["median"] / summary(b)["median"]
    paired = [x / y for x, y in zip(a, b, strict=False)]
    comparison, bound = GOALS[figure]
    met = value <= bound if comparison == "<=" else value >= bound
    return {
        "value": value,
        "min": min(paired),
        "max": max(paired),
        "numerator": top,
        "denominator": bottom,
        "goal": f"{comparison} {bound}",
        "met": met,
    }


def figures(results: dict[str, Samples], config: Config, upstream_note: str) -> dict[str, Any]:
    out: dict[str, Any] = {key: {} for key in FIGURE_KEYS}
    for name in ("W1", "W2", "W3"):  # W3 runs once: its ratios are single runs, for scale
        samples = results.get(name)
        if samples is None:
            continue
        out["P1"][name] = _ratio(samples, "import (cold)", "B-raw-in", "P1")
        p2 = _ratio(samples, "import (no-op)", "import (cold)", "P2")
        if p2 is not None:
            sent = samples.bytes_sent.get("import (no-op)", [])
            p2["bytes_sent_max"] = max(sent) if sent else None
            p2["met"] = bool(p2["met"] and sent and max(sent) == 0)
        out["P2"][name] = p2
        out["P3"][name] = _ratio(samples, "export", "B-raw-out", "P3")
        out["P4"][name] = _ratio(samples, "restore", "B-raw-in", "P4")
    w3 = results.get("W3")
    if w3 is None:
        out["P5"] = {
            "skipped": "smoke mode (W3 runs only in the full run)"
            if config.smoke
            else "W3 not selected"
        }
    else:
        for command in ("import (cold)", "import (no-op)", "export"):
            values = w3.rss.get(command, [])
            peak = max(values) if values else None
            out["P5"][command] = {
                "peak_rss_mib": peak,
                "goal": "<= 150",
                "met": peak is not None and peak <= GOALS["P5"][1],
            }
    # P6: containers per command, the worst run of any workload.
    for command in ("import", "import (no-op)", "export", "restore"):
        seen = [c for samples in results.values() for c in samples.containers.get(command, [])]
        if seen:
            created = max(c["created"] for c in seen)
            started = max(c["started"] for c in seen)
            out["P6"][command] = {
                "created": created,
                "started": started,
                "others_created_in_window": max(c["others_created"] for c in seen),
                "goal": "created <= 1, started 0",
                "met": created <= 1 and started == 0,
            }
    upstream = [c for s in results.values() for c in s.containers.get("B-upstream", [])]
    if upstream:
        out["P6"]["B-upstream (reference)"] = {
            "created": max(c["created"] for c in upstream),
            "started": max(c["started"] for c in upstream),
        }
    w1 = results.get("W1")
    if w1 is not None and w1.times.get("B-upstream"):
        out["B-upstream/P1"]["W1"] = _ratio(w1, "B-upstream", "import (cold)", "B-upstream/P1")
    else:
        out["B-upstream/P1"] = {"skipped": upstream_note or "W1 not selected"}
    if w1 is not None:
        for name in (
            "cai --version",
            "import --dry-run (no volume)",
            "import --dry-run (populated volume)",
        ):
            if w1.times.get(name):
                out["startup"][name] = summary(w1.times[name])
    return out


def _snapshot(ref: str, into: Path) -> Path:
    """``git archive REF`` unpacked into ``into``: a frozen containai for a stable measurement."""
    into.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", ref], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"bench: git archive {ref} failed")
    return into


def _describe(root: Path, ref: str | None) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", ref or "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    revision = done.stdout.strip() or "unknown"
    if ref is None:
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "containai", "settings.toml"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return (
            f"{revision} + uncommitted changes (work tree)" if dirty else f"{revision} (work tree)"
        )
    return f"{revision} ({ref}, snapshot)"


@contextlib.contextmanager
def _workdir(parent: str | None, *, keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="cai-bench-", dir=parent))
        log(f"keeping {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="cai-bench-", dir=parent) as name:
        yield Path(name)


def run(config: Config) -> dict[str, Any]:
    import docker

    client = docker.from_env(timeout=600)
    client.ping()
    if not CAI.exists():
        raise SystemExit(f"bench: {CAI} not found (run scripts/bootstrap)")
    began = time.time()
    load_start = list(os.getloadavg())
    parent = str(config.workdir) if config.workdir else None
    with _workdir(parent, keep=config.keep) as tmp:
        bench = Bench(config, client, tmp)
        document: dict[str, Any] = {
            "schema": 1,
            "mode": "smoke" if config.smoke else "full",
            "started": dt.datetime.fromtimestamp(began, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "machine": sysinfo.machine(tmp),
            "engine": sysinfo.engine(client),
            "settings": {
                "runs": config.runs,
                "warmup": config.warmup,
                "seed": config.seed,
                "compression_level": bench.level,
                "cai": str(CAI),
                "containai_revision": bench.revision,
            },
        }
        results: dict[str, Samples] = {}
        workloads: dict[str, Any] = {}
        try:
            bench.prepare_upstream()
            for name in config.workloads:
                workload, samples = bench.workload(name)
                results[name] = samples
                workloads[name] = workload.to_json()
        finally:
            bench.cleanup()
        document["workloads"] = workloads
        document["measurements"] = {
            name: {
                "seconds": {key: summary(values) for key, values in samples.times.items()},
                "peak_rss_mib": {key: summary(values) for key, values in samples.rss.items()},
                "bytes_sent": samples.bytes_sent,
                "containers": samples.containers,
            }
            for name, samples in results.items()
        }
        document["figures"] = figures(results, config, bench.upstream_note)
        document["concurrent_activity"] = {
            # Containers that other users of this engine created while the bench ran: a noisy
            # neighbour shares the 2 CPUs and the engine, and the numbers are then less stable.
            "other_containers_created": bench.foreign_containers(),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
        }
        document["duration_s"] = time.time() - began
        return document
