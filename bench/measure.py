"""Timing primitives: a child process with its wall time and peak RSS, engine event counts."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.baselines import LABEL

SPAWN = Path(__file__).with_name("spawn.py")


@dataclass(frozen=True)
class Child:
    """One finished child process."""

    argv: list[str]
    code: int
    wall: float  # seconds, spawn to reap: interpreter start-up included
    maxrss_mib: float  # the child's own peak resident set size (ru_maxrss of the reaped child)
    stdout: str
    stderr: str
    started: float  # time.time() just before the spawn
    ended: float  # time.time() just after the reap


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 1800
) -> Child:
    """Run ``argv`` through ``bench/spawn.py``, which times it and reaps it with wait4: the
    bench's own (large) memory is then not part of the child's ru_maxrss."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile(suffix=".json") as result,
    ):
        launcher = [sys.executable, "-I", "-S", str(SPAWN), result.name, *argv]
        process = subprocess.Popen(
            launcher, stdout=out, stderr=err, env=dict(env), cwd=cwd, start_new_session=True
        )
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the launcher and the command
            process.wait()
        out.seek(0)
        err.seek(0)
        stderr = err.read().decode(errors="replace")
        try:
            measured = json.loads(Path(result.name).read_text())
        except ValueError:  # the launcher died before writing (a timeout, a bad argv)
            measured = {"code": process.returncode or -1, "wall": 0.0, "maxrss_kib": 0}
            measured.update(started=0.0, ended=0.0)
        return Child(
            argv=list(argv),
            code=int(measured["code"]),
            wall=float(measured["wall"]),
            maxrss_mib=measured["maxrss_kib"] / 1024,  # Linux reports KiB
            stdout=out.read().decode(errors="replace"),
            stderr=stderr,
            started=float(measured["started"]),
            ended=float(measured["ended"]),
        )


def timed(action: Callable[[], Any]) -> tuple[float, float, float]:
    """Wall time of an in-process action, and the time.time() window it ran in."""
    started = time.time()
    begin = time.perf_counter()
    action()
    return time.perf_counter() - begin, started, time.time()


class EventRecorder:
    """Container events from the engine, recorded live for the whole benchmark.

    The engine keeps only the last 256 events for ``since`` queries, and other users of the same
    engine (tests running in parallel) can push ours out; a live subscription misses nothing.
    Windows are then counted per data volume: a container belongs to a measurement when one of
    its labels names that volume (cai labels its helpers ``containai.data-volume``; the bench
    labels the upstream containers the same way).
    """

    def __init__(self, client: Any) -> None:
        self._client = client
        self.events: list[dict[str, Any]] = []
        self._stream = client.events(
            since=f"{time.time():.9f}", decode=True, filters={"type": "container"}
        )
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with contextlib.suppress(Exception):
            for event in self._stream:
                self.events.append(event)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._stream.close()

    def count(self, started: float, ended: float, volume: str) -> dict[str, int]:
        """Containers created (of which cai's lock containers), started and removed in the
        window, ours and everyone's."""
        time.sleep(0.05)  # let the last events of the window arrive
        names = {"create": "created", "start": "started", "destroy": "removed"}
        counts = {"created": 0, "started": 0, "removed": 0, "others_created": 0, "locks": 0}
        for event in list(self.events):
            at = int(event.get("timeNano") or 0) / 1e9
            if not started - 0.05 <= at <= ended + 0.05:
                continue
            key = names.get(event.get("Action") or "")
            if key is None:
                continue
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            if attributes.get(LABEL) == "holder":
                continue  # a baseline's container on the same volume, just before or after
            if volume in attributes.values():
                counts[key] += 1
                if key == "created" and attributes.get("containai.role") == "lock":
                    counts["locks"] += 1  # cai's lock: a container created, never started
            elif key == "created":
                counts["others_created"] += 1
        return counts


def summary(values: Sequence[float]) -> dict[str, Any]:
    """Median, min and max of the runs (and the runs themselves)."""
    if not values:
        return {"median": None, "min": None, "max": None, "n": 0, "runs": []}
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
        "runs": list(values),
    }
