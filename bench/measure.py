"""Timing primitives: a child process with its wall time and peak RSS, engine event counts."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Child:
    """One finished child process."""

    argv: list[str]
    code: int
    wall: float  # seconds, fork to reap: interpreter start-up included
    maxrss_mib: float  # the child's peak resident set size (getrusage of the reaped child)
    stdout: str
    stderr: str
    started: float  # time.time() just before the fork
    ended: float  # time.time() just after the reap


def run_child(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 1800
) -> Child:
    """Run ``argv`` and reap it with wait4, which reports that child's own ru_maxrss."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.time()
        begin = time.perf_counter()
        process = subprocess.Popen(list(argv), stdout=out, stderr=err, env=dict(env), cwd=cwd)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _pid, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        wall = time.perf_counter() - begin
        ended = time.time()
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Child(
            argv=list(argv),
            code=process.returncode,
            wall=wall,
            maxrss_mib=usage.ru_maxrss / 1024,  # Linux reports KiB
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
            started=started,
            ended=ended,
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
        """Containers created, started and removed in the window, ours and everyone's."""
        time.sleep(0.05)  # let the last events of the window arrive
        names = {"create": "created", "start": "started", "destroy": "removed"}
        counts = {"created": 0, "started": 0, "removed": 0, "others_created": 0}
        for event in list(self.events):
            at = int(event.get("timeNano") or 0) / 1e9
            if not started - 0.05 <= at <= ended + 0.05:
                continue
            key = names.get(event.get("Action") or "")
            if key is None:
                continue
            attributes = (event.get("Actor") or {}).get("Attributes") or {}
            if volume in attributes.values():
                counts[key] += 1
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
