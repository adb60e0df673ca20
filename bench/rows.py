"""Table rows of the figures and of the per-engine measurements (for the console and Markdown)."""

from __future__ import annotations

from typing import Any

from bench.config import COLD, EXPORT, NOOP, RESTORE

SUMMARY_HEADER = ["figure", "goal", "W1", "W2", "W3"]
FIGURE_HEADER = ["figure", "workload", "value (min–max of paired runs)", "goal", "met", "what"]
ENGINE_HEADER = ["engine", "DOCKER_HOST", COLD, NOOP, EXPORT, RESTORE, "peak RSS MiB", "notes"]

WHAT = {
    "P1F": "import (cold) / B-floor (prebuilt tar in memory -> put_archive)",
    "P1": "import (cold) / B-plain-in (tarfile on the fly -> put_archive)",
    "P2": "(no-op - start-up) / (cold - start-up)",
    "P2-plain": "import (no-op) / import (cold), start-up included",
    "P3": "export / B-plain-out (get_archive -> zlib 6, one thread -> file)",
    "P4": "restore / B-plain-restore (export gunzipped, re-tarred -> put_archive)",
    "B-upstream/P1": "B-upstream / import (cold)",
}


def _ok(entry: dict[str, Any]) -> str:
    """The met column: "met", "missed by X" (how far from the goal), or "–" (reported only)."""
    if entry.get("met") is None:
        return "–"
    return str(entry.get("verdict") or ("met" if entry["met"] else "missed"))


def _spread(entry: dict[str, Any], unit: str = "") -> str:
    digits = 3 if unit == "s" else 2
    suffix = f" {unit}" if unit else ""
    value, low, high = entry["value"], entry["min"], entry["max"]
    return f"{value:.{digits}f}{suffix} ({low:.{digits}f}–{high:.{digits}f})"


def _seconds(entry: dict[str, Any]) -> str:
    return f"{entry['median']:.3f} s ({entry['min']:.3f}–{entry['max']:.3f})"


def _ratio_rows(figures: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for key in ("P1F", "P1", "P2", "P2-plain", "P3", "P4", "B-upstream/P1"):
        data = figures.get(key) or {}
        if "skipped" in data:
            rows.append([key, "", "skipped", "", "–", data["skipped"]])
            continue
        for workload, entry in data.items():
            if entry is None:
                continue
            what = WHAT[key]
            if key == "P2":
                what += (
                    f"; start-up {entry['startup_s']:.3f} s; "
                    f"no-op bytes sent (max) {entry.get('bytes_sent_max')}"
                )
            rows.append([key, workload, _spread(entry), entry["goal"] or "", _ok(entry), what])
    return rows


def _touch_rows(figures: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for workload, entry in (figures.get("touch") or {}).items():
        if entry is None:
            continue
        paths = entry["paths_read_max"]
        read = "whole volume read" if paths is None else (
            f"{paths} paths read in {entry['requests_max']} requests"
        )  # fmt: skip
        value = f"{entry['files_sent_max']} file(s) sent; {read}"
        goal = f"1 sent; <= {entry['paths_expected_max']} paths"
        what = f"re-import after changing {entry['path']} ({_seconds(entry['seconds'])})"
        rows.append(["touch 1", workload, value, goal, _ok(entry), what])
    return rows


def _p5_p6_rows(figures: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    p5 = figures.get("P5") or {}
    if "skipped" in p5:
        rows.append(["P5", "W3", "skipped", "<= 143 MiB", "–", p5["skipped"]])
    else:
        for command, entry in p5.items():
            value = f"{entry['peak_rss_mib']:.0f} MiB"
            rows.append(["P5", "W3", value, entry["goal"], _ok(entry), f"peak RSS, cai {command}"])
    for command, entry in (figures.get("P6") or {}).items():
        others = entry.get("others_created_in_window")
        locks = f" ({entry['locks']} lock)" if entry.get("locks") else ""
        rows.append(
            [
                "P6",
                "all",
                f"{entry['created']} created{locks}, {entry['started']} started",
                entry.get("goal", "reference"),
                _ok(entry),
                command + (f" ({others} other containers in the window)" if others else ""),
            ]
        )
    return rows


def _time_rows(figures: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for key, workload, label in (("startup", "all", "start-up"), ("whole-process", "W1", "whole")):
        for command, entry in (figures.get(key) or {}).items():
            if entry is None:
                continue
            if "min" not in entry:  # the larger median: start-up as P2 defines it
                rows.append([label, workload, f"{entry['median']:.3f} s", "", "–", command])
                continue
            what = f"{command}, whole process"
            rows.append([label, workload, _seconds(entry), entry["goal"] or "", _ok(entry), what])
    return rows


def figure_rows(document: dict[str, Any]) -> list[list[str]]:
    figures = document["figures"]
    return _ratio_rows(figures) + _touch_rows(figures) + _p5_p6_rows(figures) + _time_rows(figures)


def engine_rows(document: dict[str, Any]) -> list[list[str]]:
    rows: list[list[str]] = []
    for row in document.get("engines") or []:
        cells = []
        failed = row.get("failed") or {}
        for command in (COLD, NOOP, EXPORT, RESTORE):
            seconds = (row.get("seconds") or {}).get(command) or {}
            if command in failed:
                cells.append("failed")
            elif seconds.get("median") is None:
                cells.append("–")
            else:
                cells.append(f"{seconds['median']:.3f}")
        rss = row.get("peak_rss_mib") or {}
        peak = max(rss.values(), default=0)
        notes = "; ".join(f"{name}: {message}" for name, message in failed.items())
        if not notes and row.get("source") != "measured":
            notes = str(row.get("source", ""))
        rows.append([row["engine"], row["host"], *cells, f"{peak:.0f}" if peak else "", notes])
    return rows


def _cell(entry: dict[str, Any] | None, digits: int = 2) -> str:
    if entry is None:
        return "–"
    value = f"{entry['value']:.{digits}f}"
    verdict = entry.get("verdict")
    return value if verdict in (None, "reported") else f"{value} ({verdict})"


def summary_rows(document: dict[str, Any]) -> list[list[str]]:
    """One line per figure, one column per workload: the table at the top of BENCHMARKS.md."""
    figures = document["figures"]
    rows: list[list[str]] = []
    for key in ("P1F", "P1", "P2", "P2-plain", "P3", "P4", "B-upstream/P1"):
        data = figures.get(key) or {}
        if "skipped" in data:
            continue
        goal = next((e["goal"] for e in data.values() if e and e.get("goal")), "reported")
        rows.append([key, goal, *(_cell(data.get(w)) for w in ("W1", "W2", "W3"))])
    touch = figures.get("touch") or {}
    cells = []
    for workload in ("W1", "W2", "W3"):
        entry = touch.get(workload)
        cells.append(
            "–"
            if entry is None
            else f"{entry['files_sent_max']} sent, {entry['paths_read_max']} read "
            f"({entry['verdict']})"
        )
    rows.append(["touch 1: files sent, paths read", "1 sent, the file's path", *cells])
    p5 = figures.get("P5") or {}
    if "skipped" not in p5 and p5:
        peaks = ", ".join(
            f"{command} {entry['peak_rss_mib']:.0f} MiB ({entry['verdict']})"
            for command, entry in p5.items()
        )
        rows.append(["P5 peak RSS", "<= 143 MiB", "", "", peaks])
    for key in ("startup", "whole-process"):
        for command, entry in (figures.get(key) or {}).items():
            if entry is None or "min" not in entry:
                continue
            value = f"{entry['median']:.3f} s"
            if entry.get("verdict") not in (None, "reported"):
                value += f" ({entry['verdict']})"
            label = f"{command} (W1)" if key == "whole-process" else f"{command} (every run)"
            rows.append([label, entry.get("goal") or "reported", value, "", ""])
    return rows
