"""The benchmark harness in smoke mode (tiny workloads, 2 runs), so it does not rot.

Only that it runs and writes every figure: the numbers themselves are not judged here.
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
FIGURES = ("P1", "P2", "P3", "P4", "P5", "P6", "B-upstream/P1", "startup")


def test_bench_smoke_writes_every_figure(tmp_path: Path, docker_client: Any) -> None:
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--json", str(out)],
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
    for workload in ("W1", "W2"):
        for figure in ("P1", "P2", "P3", "P4"):
            ratio = document["figures"][figure][workload]
            assert ratio["value"] > 0, (figure, workload)
        assert document["figures"]["P2"][workload]["bytes_sent_max"] == 0
    assert "skipped" in document["figures"]["P5"]
    for command in ("import", "export", "restore"):
        assert command in document["figures"]["P6"], command
    assert document["engine"]["storage_driver"]
    assert document["engine"]["data_root_fstype"]
