"""The figures: ratios of medians (with the spread of the paired runs), each against its goal."""

from __future__ import annotations

from typing import Any

from bench.config import (
    COLD,
    DRY_FULL,
    DRY_NONE,
    EXPORT,
    FIGURE_KEYS,
    FLOOR,
    GOALS,
    NOOP,
    PLAIN_IN,
    PLAIN_OUT,
    PLAIN_RESTORE,
    RESTORE,
    STARTUP_IMPORTS,
    TOUCH,
    UPSTREAM,
    VERSION,
    Config,
    Samples,
)
from bench.measure import summary

RATIOS = (
    ("P1F", COLD, FLOOR),
    ("P1", COLD, PLAIN_IN),
    ("P3", EXPORT, PLAIN_OUT),
    ("P4", RESTORE, PLAIN_RESTORE),
)
P5_COMMANDS = (COLD, NOOP, EXPORT, RESTORE)
P6_COMMANDS = (COLD, NOOP, TOUCH, EXPORT, RESTORE)


def _median(samples: Samples, name: str) -> float | None:
    values = samples.times.get(name) or []
    return float(summary(values)["median"]) if values else None


def _judge(entry: dict[str, Any], key: str, workload: str, value: float) -> dict[str, Any]:
    """Add the goal, met and the verdict ("met" / "missed by X") where the goal applies."""
    goal = GOALS.get(key)
    if goal is None or workload not in goal.workloads:
        entry.update(goal=None, met=None, verdict="reported")
        return entry
    met, verdict = goal.verdict(value)
    entry.update(goal=goal.text(), met=met, verdict=verdict)
    return entry


def ratio(
    samples: Samples, top: str, bottom: str, key: str, workload: str, offset: float = 0.0
) -> dict[str, Any] | None:
    """(median(top) - offset) / (median(bottom) - offset), with the min-max of the per-run
    ratios (the runs are paired: run i of both ran in the same iteration)."""
    a, b = samples.times.get(top) or [], samples.times.get(bottom) or []
    if not a or not b:
        return None
    value = (summary(a)["median"] - offset) / (summary(b)["median"] - offset)
    paired = [(x - offset) / (y - offset) for x, y in zip(a, b, strict=False)]
    entry = {"value": value, "min": min(paired), "max": max(paired)}
    entry.update(numerator=top, denominator=bottom)
    return _judge(entry, key, workload, value)


def startup_seconds(samples: Samples) -> float | None:
    """Start-up as issue 16 defines it: the larger of the medians of ``cai --version`` and of
    the interpreter importing the design card's libraries."""
    found = [m for m in (_median(samples, VERSION), _median(samples, STARTUP_IMPORTS)) if m]
    return max(found) if found else None


def _p2(samples: Samples, workload: str) -> dict[str, Any] | None:
    start = startup_seconds(samples)
    if start is None:
        return None
    entry = ratio(samples, NOOP, COLD, "P2", workload, offset=start)
    if entry is None:
        return None
    sent = samples.bytes_sent.get(NOOP, [])
    entry["startup_s"] = start
    entry["bytes_sent_max"] = max(sent) if sent else None
    if entry["met"] is not None and sent and max(sent) != 0:
        entry.update(met=False, verdict=f"missed: a no-op sent {max(sent)} bytes")
    return entry


def _touch(samples: Samples, workload: dict[str, Any]) -> dict[str, Any] | None:
    """Re-import after one file changed: 1 file sent, and the volume read only at its path (the
    file and its parent directories)."""
    files = samples.files_sent.get(TOUCH) or []
    if not files:
        return None
    reads = samples.volume_reads
    depth = len(str(workload.get("touched", "")).split("/"))
    said = [r for r in reads if r is not None]
    paths = max(r[0] for r in said) if said else None
    requests = max(r[1] for r in said) if said else None
    ok_files = all(n == 1 for n in files)
    ok_reads = len(said) == len(reads) and paths is not None and paths <= depth
    if ok_files and ok_reads:
        verdict = "met"
    elif not ok_files:
        verdict = f"missed: {max(files)} files sent"
    elif paths is None or len(said) != len(reads):
        verdict = "missed: no partial read (the whole volume was read)"
    else:
        verdict = f"missed: {paths} paths read, {depth} expected at most"
    times = samples.times.get(TOUCH) or []
    return {
        "path": workload.get("touched"),
        "files_sent_max": max(files),
        "bytes_sent_max": max(samples.bytes_sent.get(TOUCH) or [0]),
        "paths_read_max": paths,
        "requests_max": requests,
        "paths_expected_max": depth,
        "seconds": summary(times),
        "goal": "1 file sent; paths read <= the file and its parents",
        "met": ok_files and ok_reads,
        "verdict": verdict,
    }


def _seconds(samples: Samples, name: str, key: str, workload: str) -> dict[str, Any] | None:
    values = samples.times.get(name) or []
    if not values:
        return None
    entry = summary(values)
    return _judge(entry, key, workload, float(entry["median"]))


def figures(
    results: dict[str, Samples], workloads: dict[str, Any], config: Config, upstream_note: str
) -> dict[str, Any]:
    out: dict[str, Any] = {key: {} for key in FIGURE_KEYS}
    for name in ("W1", "W2", "W3"):  # W3 runs once: its ratios are single runs, for scale
        samples = results.get(name)
        if samples is None:
            continue
        for key, top, bottom in RATIOS:
            out[key][name] = ratio(samples, top, bottom, key, name)
        out["P2"][name] = _p2(samples, name)
        out["P2-plain"][name] = ratio(samples, NOOP, COLD, "P2-plain", name)
        out["touch"][name] = _touch(samples, workloads.get(name, {}))
    _p5(out, results.get("W3"), config)
    _p6(out, results)
    w1 = results.get("W1")
    if w1 is not None and w1.times.get(UPSTREAM):
        out["B-upstream/P1"]["W1"] = ratio(w1, UPSTREAM, COLD, "B-upstream/P1", "W1")
    else:
        out["B-upstream/P1"] = {"skipped": upstream_note or "W1 not selected"}
    pooled = Samples()
    for samples in results.values():
        for name in (VERSION, STARTUP_IMPORTS):
            pooled.times.setdefault(name, []).extend(samples.times.get(name, []))
    for name in (VERSION, STARTUP_IMPORTS):
        out["startup"][name] = _seconds(pooled, name, name, "W1")
    start = startup_seconds(pooled)
    if start is not None:
        out["startup"]["start-up (the larger median)"] = {"median": start}
    if w1 is not None:
        for name in (NOOP, DRY_NONE, DRY_FULL):
            out["whole-process"][name] = _seconds(w1, name, name, "W1")
    return out


def _p5(out: dict[str, Any], w3: Samples | None, config: Config) -> None:
    if w3 is None:
        reason = "smoke mode (W3 runs only in the full run)" if config.smoke else "W3 not selected"
        out["P5"] = {"skipped": reason}
        return
    for command in P5_COMMANDS:
        values = w3.rss.get(command, [])
        if values:
            out["P5"][command] = _judge({"peak_rss_mib": max(values)}, "P5", "W3", max(values))


def _p6_verdict(created: int, started: int) -> str:
    extra = [f"{created - 1} container(s) created" if created > 1 else ""]
    extra.append(f"{started} started" if started else "")
    missed = ", ".join(part for part in extra if part)
    return f"missed by {missed}" if missed else "met"


def _p6(out: dict[str, Any], results: dict[str, Samples]) -> None:
    """Containers created / started per command, the worst run of any workload."""
    for command in P6_COMMANDS:
        seen = [c for samples in results.values() for c in samples.containers.get(command, [])]
        if seen:
            created = max(c["created"] for c in seen)
            started = max(c["started"] for c in seen)
            met = created <= 1 and started == 0
            out["P6"][command] = {
                "created": created,
                "locks": max(c.get("locks", 0) for c in seen),
                "started": started,
                "others_created_in_window": max(c["others_created"] for c in seen),
                "goal": "created <= 1, started 0",
                "met": met,
                "verdict": _p6_verdict(created, started),
            }
    upstream = [c for s in results.values() for c in s.containers.get(UPSTREAM, [])]
    if upstream:
        out["P6"]["B-upstream (reference)"] = {
            "created": max(c["created"] for c in upstream),
            "started": max(c["started"] for c in upstream),
        }
