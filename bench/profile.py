"""``python -m bench.profile``: where cai's time goes, for the "where the time goes" section.

Generates a workload (default W2), then, each as its own process with the workload as HOME:

- ``python -X importtime`` of ``cai --version`` and ``cai import --dry-run``: the slowest imports
  (cumulative, top-level and containai's own);
- ``python -m cProfile`` of ``cai import`` (cold), ``cai import`` (no-op), ``cai export`` and
  ``cai import --from X.tgz`` (restore): the functions with the most own time and the most
  cumulative time. cProfile sees the main thread only, and slows Python-heavy code more than
  waiting: read shares, not seconds, and compare with the bench's unprofiled wall times.

Writes ``DIR/<command>.prof`` (open with ``python -m pstats``) and prints a summary.
"""

from __future__ import annotations

import argparse
import io
import pstats
import sys
import tempfile
from pathlib import Path

from bench import baselines
from bench.config import CAI, PYTHON, Config
from bench.harness import Bench, connect
from bench.sequence import generate


def _config(args: argparse.Namespace) -> Config:
    return Config(
        smoke=args.smoke,
        runs=1,
        warmup=0,
        seed=args.seed,
        workloads=[args.workload],
        upstream=False,
        build_image=False,
        workdir=None,
        ref=args.ref,
    )


def importtime(stderr: str, top: int) -> list[str]:
    """The slowest imports of a ``-X importtime`` log: top-level packages and containai's."""
    rows: list[tuple[int, int, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        self_us, cumulative_us, name = fields[0], fields[1], fields[2]
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 1 or name.strip().startswith("containai"):
            rows.append((int(cumulative_us), int(self_us), f"{'  ' * depth}{name.strip()}"))
    total = sum(c for c, _, n in rows if not n.startswith(" "))
    lines = [f"  imports, total of the top level: {total / 1000:.0f} ms"]
    for cumulative, own, name in sorted(rows, reverse=True)[:top]:
        lines.append(f"  {cumulative / 1000:7.1f} ms cumulative {own / 1000:6.1f} ms own  {name}")
    return lines


def _stats(path: Path, top: int) -> list[str]:
    out = io.StringIO()
    stats = pstats.Stats(str(path), stream=out)
    stats.strip_dirs()
    total = getattr(stats, "total_tt", 0.0)
    lines = [f"  total {total:.3f} s under cProfile (main thread)"]
    for order, title in (("tottime", "own time"), ("cumulative", "cumulative")):
        out.seek(0)
        out.truncate()
        stats.sort_stats(order).print_stats(top)
        lines.append(f"  -- by {title}")
        table = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(table) if line.lstrip().startswith("ncalls")), 0)
        lines += [f"  {line}" for line in table[start : start + top + 1] if line.strip()]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--workload", default="W2", choices=("W1", "W2", "W3"))
    parser.add_argument("--smoke", action="store_true", help="the smoke-size workload")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--ref", help="profile this git revision (a snapshot)")
    parser.add_argument("--out", type=Path, help="where the .prof files go (default: a temp dir)")
    parser.add_argument("--top", type=int, default=15, help="rows per table")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="cai-profile-"))
    out.mkdir(parents=True, exist_ok=True)
    client = connect(None)
    with tempfile.TemporaryDirectory(prefix="cai-bench-") as name:
        bench = Bench(_config(args), client, Path(name))
        try:
            report = _profile(bench, args, out)
        finally:
            bench.cleanup()
    print("\n".join(report))
    print(f"profiles written to {out}", file=sys.stderr)
    return 0


def _profile(bench: Bench, args: argparse.Namespace, out: Path) -> list[str]:
    workload = generate(bench, args.workload)
    home = workload.home
    report = [f"# {args.workload}: {workload.files} files, {workload.bytes / 1e6:.1f} MB"]
    for title, cai_args in (("cai --version", ["--version"]), ("cai import --dry-run", None)):
        fresh = baselines.new_volume_name("profile-dry")
        argv = [str(PYTHON), "-X", "importtime", str(CAI)]
        argv += cai_args or ["import", "--dry-run", "--data-volume", fresh]
        child = bench.child(home, argv)
        report.append(f"\n## {title}: {child.wall:.3f} s whole process (with -X importtime)")
        report += importtime(child.stderr, args.top)
    volume, restored = bench.volume("profile"), bench.volume("profile-restore")
    scratch, scratch_restore = bench.volume("profile-plain"), bench.volume("profile-plain-r")
    archive = bench.tmp / "profile.tgz"
    restore = ["import", "--from", str(archive), "--data-volume"]
    steps = (  # label, profiled, the same without the profiler first (for scale)
        ("import-cold", ["import", "--data-volume", volume], None),
        ("import-noop", ["import", "--data-volume", volume], None),
        ("export", ["export", "--data-volume", volume, "-o", str(archive)], None),
        ("restore", [*restore, restored], [*restore, scratch_restore]),
    )
    for label, cai_args, plain_args in steps:
        if label == "import-cold":
            plain = bench.cai(home, "import", "--data-volume", scratch)
        else:
            plain = bench.cai(home, *(plain_args or cai_args))
        prof = out / f"{label}.prof"
        argv = [str(PYTHON), "-m", "cProfile", "-o", str(prof), str(CAI), *cai_args]
        child = bench.child(home, argv)
        if child.code != 0:
            report.append(f"\n## {label}: failed ({child.code}): {child.stderr.strip()[-300:]}")
            continue
        report.append(
            f"\n## {label}: {child.wall:.3f} s whole process under cProfile, "
            f"{plain.wall:.3f} s without"
        )
        report += _stats(prof, args.top)
    archive.unlink(missing_ok=True)
    return report


if __name__ == "__main__":
    sys.exit(main())
