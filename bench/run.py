"""The benchmark run: every workload measured in one go, then the figures and the engine rows.

The parts: ``config`` (what to run, the goals), ``harness`` (client, cai children, volumes),
``baselines`` and ``upstream`` (what cai is compared with), ``sequence`` (one workload's runs),
``figures`` (ratios against goals), ``engines`` (one W1 row per engine), ``report`` (tables).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import engines, sequence, sysinfo
from bench.config import CAI, ROOT, Config, Samples, log
from bench.figures import figures
from bench.harness import Bench, connect
from bench.measure import summary

__all__ = ["ROOT", "Config", "run"]


@contextlib.contextmanager
def _workdir(parent: str | None, *, keep: bool) -> Iterator[Path]:
    if keep:
        path = Path(tempfile.mkdtemp(prefix="cai-bench-", dir=parent))
        log(f"keeping {path}")
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="cai-bench-", dir=parent) as name:
        yield Path(name)


def _measurements(results: dict[str, Samples]) -> dict[str, Any]:
    return {
        name: {
            "seconds": {key: summary(values) for key, values in samples.times.items()},
            "peak_rss_mib": {key: summary(values) for key, values in samples.rss.items()},
            "bytes_sent": samples.bytes_sent,
            "files_sent": samples.files_sent,
            "volume_reads": samples.volume_reads,
            "containers": samples.containers,
        }
        for name, samples in results.items()
    }


def run(config: Config) -> dict[str, Any]:
    client = connect(None)
    if not CAI.exists():
        raise SystemExit(f"bench: {CAI} not found (run scripts/bootstrap)")
    began = time.time()
    load_start = list(os.getloadavg())
    parent = str(config.workdir) if config.workdir else None
    with _workdir(parent, keep=config.keep) as tmp:
        bench = Bench(config, client, tmp)
        document: dict[str, Any] = {
            "schema": 2,
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
                "docker_host": engines.main_host(),
            },
        }
        results: dict[str, Samples] = {}
        workloads: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        try:
            bench.prepare_upstream()
            for name in config.workloads:
                workload, samples = sequence.measure(bench, name)
                results[name] = samples
                workloads[name] = workload.to_json()
            if config.engines:
                rows = engines.measure(bench, config.engines)
        finally:
            bench.cleanup()
        if config.engines:
            first = engines.main_row(results.get("W1"))
            rows = ([first] if first is not None else []) + rows
        document["workloads"] = workloads
        document["measurements"] = _measurements(results)
        document["figures"] = figures(results, workloads, config, bench.upstream_note)
        document["engines"] = rows
        document["concurrent_activity"] = {
            # Containers that other users of this engine created while the bench ran: a noisy
            # neighbour shares the 2 CPUs and the engine, and the numbers are then less stable.
            "other_containers_created": bench.foreign_containers(),
            "loadavg_start": load_start,
            "loadavg_end": list(os.getloadavg()),
        }
        document["duration_s"] = time.time() - began
        return document
