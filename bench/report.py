"""Render a results document: rich tables on stdout, or Markdown for BENCHMARKS.md."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.config import ORDER
from bench.rows import (
    ENGINE_HEADER,
    FIGURE_HEADER,
    SUMMARY_HEADER,
    engine_rows,
    figure_rows,
    summary_rows,
)


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def description(document: dict[str, Any]) -> list[str]:
    m, e = document["machine"], document["engine"]
    return [
        f"machine: {m['nproc']} CPUs ({m['cpu']}), {m['ram_gib']} GiB RAM, kernel {m['kernel']}, "
        f"{m['os']}, Python {m['python']}; workloads on {m['workdir_fstype']}",
        f"engine: Docker {e['server_version']} (API {e['api_version']}, CLI {e['cli_version']}, "
        f"SDK {e['sdk_version']}), storage driver {e['storage_driver']} "
        f"(backing {e['backing_filesystem'] or '?'}), data root {e['docker_root_dir']} "
        f"on {e['data_root_fstype']}, logging {e['logging_driver']}, "
        f"DOCKER_HOST {document['settings'].get('docker_host', '?')}",
        f"containai {document['settings'].get('containai_revision', '?')}; "
        f"mode: {document['mode']}, runs {document['settings']['runs']} "
        f"(+{document['settings']['warmup']} warm-up), seed {document['settings']['seed']}, "
        f"gzip level {document['settings']['compression_level']}, "
        f"took {document.get('duration_s', 0):.0f} s",
        _activity(document),
    ]


def _activity(document: dict[str, Any]) -> str:
    activity = document.get("concurrent_activity") or {}
    start = ", ".join(f"{x:.2f}" for x in activity.get("loadavg_start", []))
    end = ", ".join(f"{x:.2f}" for x in activity.get("loadavg_end", []))
    return (
        f"other users of the engine created {activity.get('other_containers_created', '?')} "
        f"containers during the run; load average {start} at start, {end} at end"
    )


def measurement_rows(document: dict[str, Any]) -> list[list[str]]:
    rows = []
    for name, data in document["measurements"].items():
        workload = document["workloads"].get(name, {})
        label = (
            f"{name} ({workload.get('files', '?')} files, {workload.get('bytes', 0) / 1e6:.1f} MB)"
        )
        seconds = data["seconds"]
        for key in sorted(seconds, key=lambda k: ORDER.index(k) if k in ORDER else 99):
            s = seconds[key]
            rss = data["peak_rss_mib"].get(key)
            rows.append(
                [
                    label,
                    key,
                    _s(s["median"]),
                    _s(s["min"]),
                    _s(s["max"]),
                    str(s["n"]),
                    "" if not rss else f"{rss['max']:.0f}",
                ]
            )
    return rows


MEASUREMENT_HEADER = [
    "workload",
    "measurement",
    "median s",
    "min s",
    "max s",
    "runs",
    "peak RSS MiB",
]


def print_tables(document: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(width=None if sys.stdout.isatty() else 150)
    for line in description(document):
        console.print(line, highlight=False, soft_wrap=True)
    table = Table(title="measurements (wall seconds, whole process for cai)")
    for column in MEASUREMENT_HEADER:
        table.add_column(
            column, justify="left" if column in ("workload", "measurement") else "right"
        )
    for row in measurement_rows(document):
        table.add_row(*row)
    console.print(table)
    table = Table(title="figures (ratios of medians)")
    for column in FIGURE_HEADER:
        table.add_column(column)
    for row in figure_rows(document):
        table.add_row(*row)
    console.print(table)
    if document.get("engines"):
        table = Table(title="engines (W1, median wall seconds, whole process)")
        for column in ENGINE_HEADER:
            table.add_column(column)
        for row in engine_rows(document):
            table.add_row(*row)
        console.print(table)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def markdown(document: dict[str, Any]) -> str:
    parts = ["\n".join(f"- {line}" for line in description(document))]
    parts.append(_markdown_table(SUMMARY_HEADER, summary_rows(document)))
    parts.append(_markdown_table(FIGURE_HEADER, figure_rows(document)))
    parts.append(_markdown_table(MEASUREMENT_HEADER, measurement_rows(document)))
    if document.get("engines"):
        parts.append(_markdown_table(ENGINE_HEADER, engine_rows(document)))
    return "\n\n".join(parts) + "\n"
