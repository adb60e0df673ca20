"""``python -m bench [--smoke] [--runs N] [--json PATH]``: see bench/README.md."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from bench import engines
from bench.config import ROOT, Config
from bench.report import markdown, print_tables
from bench.run import run

DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"


def parse(argv: list[str]) -> tuple[Config, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmark cai against the engine floor, a plain pipeline and upstream.",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny workloads, 2 runs, no W3")
    parser.add_argument("--runs", type=int, help="measured runs per workload (default 5; smoke 2)")
    parser.add_argument("--warmup", type=int, help="discarded runs first (default 1; smoke 0)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="write results here")
    parser.add_argument("--markdown", type=Path, help="also write the tables as Markdown")
    parser.add_argument("--seed", type=int, default=20240601, help="workload seed")
    parser.add_argument(
        "--workloads",
        default="",
        help="comma-separated subset of W1,W2,W3 (default: all; smoke W1,W2)",
    )
    parser.add_argument("--no-upstream", action="store_true", help="skip B-upstream")
    parser.add_argument("--workdir", type=Path, help="parent of the temporary directory")
    parser.add_argument(
        "--ref", help="measure this git revision of containai (a snapshot) instead of the work tree"
    )
    parser.add_argument("--keep", action="store_true", help="keep the generated homes")
    parser.add_argument(
        "--engine",
        metavar="DOCKER_HOST",
        help="run everything against this engine (default: the environment's DOCKER_HOST)",
    )
    parser.add_argument(
        "--engines",
        default="",
        metavar="HOSTS",
        help="also run W1's cold import, no-op, export and restore against each of these "
        "DOCKER_HOSTs (comma-separated; 'all': " + ", ".join(engines.KNOWN) + ")",
    )
    args = parser.parse_args(argv)
    default = "W1,W2" if args.smoke else "W1,W2,W3"
    chosen = [w.strip().upper() for w in (args.workloads or default).split(",") if w.strip()]
    unknown = [w for w in chosen if w not in ("W1", "W2", "W3")]
    if unknown:
        parser.error(f"unknown workload(s): {', '.join(unknown)}")
    if args.smoke and "W3" in chosen:
        parser.error("W3 never runs in --smoke mode")
    runs = args.runs if args.runs is not None else (2 if args.smoke else 5)
    if runs < 1:
        parser.error("--runs must be at least 1")
    if args.engine:
        os.environ["DOCKER_HOST"] = args.engine  # the SDK, the docker CLI and every cai child
    config = Config(
        smoke=args.smoke,
        runs=runs,
        warmup=args.warmup if args.warmup is not None else (0 if args.smoke else 1),
        seed=args.seed,
        workloads=chosen,
        upstream=not args.no_upstream,
        build_image=not args.smoke,
        workdir=args.workdir,
        keep=args.keep,
        ref=args.ref,
        engines=engines.parse(args.engines),
    )
    return config, args


def main(argv: list[str] | None = None) -> int:
    config, args = parse(sys.argv[1:] if argv is None else argv)
    document = run(config)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n")
    print_tables(document)
    if args.markdown:
        args.markdown.write_text(markdown(document))
    print(f"results written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
