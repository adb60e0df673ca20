"""The benchmark harness in smoke mode (tiny workloads, 2 runs), so it does not rot.

Only that it runs and writes every figure: the numbers themselves are not judged here, except
what holds whatever the machine: a no-op re-import sends nothing and a re-import after touching
one file sends that one file. An engine that cannot be reached is a row that says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.engine, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FIGURES = (
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
NO_ENGINE = "unix:///nonexistent/cai-bench-smoke.sock"


def test_bench_smoke_writes_every_figure(tmp_path: Path, docker_client: Any) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out), "--engines", NO_ENGINE],
        cwd=ROOT,
        env=dict(os.environ),  # the harness points each cai at its own generated HOME
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    document = json.loads(out.read_text())
    assert document["mode"] == "smoke"
    for key in FIGURES:
        assert key in document["figures"], key
    figures = document["figures"]
    for workload in ("W1", "W2"):
        for figure in ("P1F", "P1", "P2", "P2-plain", "P3", "P4"):
            ratio = figures[figure][workload]
            assert ratio["value"] > 0, (figure, workload)
        assert figures["P2"][workload]["bytes_sent_max"] == 0
        assert figures["P2"][workload]["startup_s"] > 0
        assert figures["touch"][workload]["files_sent_max"] == 1, figures["touch"][workload]
    assert figures["P2"]["W2"]["verdict"].startswith(("met", "missed")), figures["P2"]["W2"]
    assert "skipped" in figures["P5"]
    for command in ("import (cold)", "import (no-op)", "export", "restore"):
        assert command in figures["P6"], command
    for name in ("cai --version", "import (no-op)", "import --dry-run (no volume)"):
        entry = figures["startup"].get(name) or figures["whole-process"].get(name)
        assert entry and entry["median"] > 0 and entry["verdict"], name
    hosts = {row["host"]: row for row in document["engines"]}
    assert "connect" in hosts.pop(NO_ENGINE)["failed"]
    assert len(hosts) == 1, hosts  # the main engine's row, from the main run
    assert not next(iter(hosts.values()))["failed"]
    assert document["engine"]["storage_driver"]
    assert document["engine"]["data_root_fstype"]
