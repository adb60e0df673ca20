"""What a run is asked to do, the raw numbers it collects, and the goals the figures are held to."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAI = ROOT / ".venv" / "bin" / "cai"
PYTHON = ROOT / ".venv" / "bin" / "python"

# The libraries of the design card: a fixed cost of any command that loads settings and talks to
# the engine (issue 16). Start-up is the larger of this and `cai --version`.
IMPORTS = ("docker", "dynaconf", "jinja2", "invoke")
IMPORTS_NAME = f"python -c 'import {', '.join(IMPORTS)}'"

# Measurement names, in the order one iteration runs them (and the tables list them).
FLOOR = "B-floor"  # the plain pipeline's tar, prebuilt in memory -> put_archive
PLAIN_IN = "B-plain-in"  # tarfile built on the fly from the workload -> put_archive
CP = "B-cp"
VERSION = "cai --version"
STARTUP_IMPORTS = IMPORTS_NAME
COLD = "import (cold)"
NOOP = "import (no-op)"
TOUCH = "import (touch 1)"
PLAIN_OUT = "B-plain-out"  # get_archive -> zlib level 6, one thread -> file
EXPORT = "export"
PLAIN_RESTORE = "B-plain-restore"  # the export gunzipped, re-tarred in-process -> put_archive
RESTORE = "restore"
UPSTREAM = "B-upstream"
DRY_NONE = "import --dry-run (no volume)"
DRY_FULL = "import --dry-run (populated volume)"
ORDER = (
    FLOOR,
    PLAIN_IN,
    CP,
    VERSION,
    STARTUP_IMPORTS,
    COLD,
    NOOP,
    TOUCH,
    PLAIN_OUT,
    EXPORT,
    PLAIN_RESTORE,
    RESTORE,
    UPSTREAM,
    DRY_NONE,
    DRY_FULL,
)


@dataclass(frozen=True)
class Goal:
    """``value COMPARISON bound`` (in ``unit``), and which workloads it applies to."""

    comparison: str  # "<=" or ">=" (or "==")
    bound: float
    unit: str = ""  # "", "s" or "MiB"
    workloads: tuple[str, ...] = ("W1", "W2", "W3")

    def text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.comparison} {self.bound:g}{unit}"

    def verdict(self, value: float) -> tuple[bool, str]:
        """Whether ``value`` meets the goal, and "met" or "missed by X"."""
        if self.comparison == "<=":
            met, gap = value <= self.bound, value - self.bound
        elif self.comparison == ">=":
            met, gap = value >= self.bound, self.bound - value
        else:
            met, gap = value == self.bound, abs(value - self.bound)
        if met:
            return True, "met"
        if self.unit == "MiB":
            return False, f"missed by {gap:.0f} MiB"
        if self.unit == "s":
            return False, f"missed by {gap:.3f} s"
        return False, f"missed by {gap:.2f}"


# Issue 18 (performance) and issue 16 (three-way import); B-upstream/P1 from issue 6.
GOALS: dict[str, Goal] = {
    "P1F": Goal("<=", 1.5),
    "P1": Goal("<=", 1.0),
    "P2": Goal("<=", 0.10, workloads=("W2",)),
    "P3": Goal("<=", 1.0),
    "P4": Goal("<=", 1.25),
    "P5": Goal("<=", 143.0, "MiB", workloads=("W3",)),
    "B-upstream/P1": Goal(">=", 5.0, workloads=("W1",)),
    VERSION: Goal("<=", 0.10, "s"),
    NOOP: Goal("<=", 0.35, "s"),  # whole process, W1
    DRY_NONE: Goal("<=", 0.30, "s"),
    DRY_FULL: Goal("<=", 0.30, "s"),
}
FIGURE_KEYS = (
    "P1F",
    "P1",
    "P2",
    "P2-plain",
    "P3",
    "P4",
    "P5",
    "P6",
    "B-upstream/P1",
    "startup",
    "whole-process",
    "touch",
)


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
    engines: list[str] = field(default_factory=list)  # DOCKER_HOSTs for the per-engine W1 rows


@dataclass
class Samples:
    """Raw per-run numbers of one workload, keyed by measurement name."""

    times: dict[str, list[float]] = field(default_factory=dict)
    rss: dict[str, list[float]] = field(default_factory=dict)
    containers: dict[str, list[dict[str, int]]] = field(default_factory=dict)
    bytes_sent: dict[str, list[int]] = field(default_factory=dict)
    files_sent: dict[str, list[int]] = field(default_factory=dict)
    # import (touch 1): [paths read from the volume, requests] per run (None when not printed)
    volume_reads: list[tuple[int, int] | None] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, name: str, seconds: float) -> None:
        self.times.setdefault(name, []).append(seconds)


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
