"""Steps of `cai status` and `cai diff`: compare the host, the volume and the base, and show
where they stand. They change nothing; contents of secrets are never read for display."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from containai import labels
from containai.errors import ContainAIError
from containai.host.candidates import Candidate
from containai.transfer import diff_text, status
from containai.transfer.status import PathStatus
from containai.transfer.volume_state import STATE_FILE
from containai.workflow.loader import step
from containai.workflow.run import DiffOptions, ImportOptions, Options, Run


@step(needs=("scan", "state"), gives=("statuses",))
def compare_volume(run: Run[ImportOptions]) -> None:
    """Where each synced path stands: host, volume and the base (the last import)."""
    run.statuses = status.compare(run.scan, run.state, run.scan.digest)


@step(needs=("statuses",))
def report_status(run: Run[ImportOptions]) -> None:
    """The paths that are not in sync (all with --verbose), the volume and its container."""
    found = run.statuses
    last = _last_import(run)
    container = _container(run)
    if run.ui.json_output:
        run.ui.emit_json(
            {
                "version": 1,
                "command": "status",
                "volume": run.volume,
                "volume_exists": run.state.exists,
                "last_import": last,
                "container": container,
                "items": [s.to_json() for s in found if run.ui.verbose or s.state != "in-sync"],
                "summary": dict(sorted(status.counts(found).items())),
            }
        )
        return
    where = f"container {container['name']} {container['state']}" if container else "no container"
    when = f"last import {last}" if last else "never imported"
    run.ui.line(f"volume {run.volume}: {when}; {where}")
    for item in found:
        if run.ui.verbose or item.state != status.IN_SYNC:
            suffix = "/" if item.kind == "dir" else ""
            detail = f"  ({item.detail})" if item.detail else ""
            run.ui.line(f"{item.state:<16}{item.path}{suffix}{detail}")
    run.ui.line(_summary(found))


@step(needs=("statuses", "helper"))
def show_diff(run: Run[DiffOptions]) -> None:
    """A unified diff, host (a/) against volume (b/), of the paths that differ; exit 1 if any."""
    chosen = [s for s in run.statuses if s.state != status.IN_SYNC and _chosen(run, s.path)]
    shown: list[dict[str, Any]] = []
    for item in chosen:
        lines = diff_text.body(item, *_contents(run, item))
        if run.ui.json_output:
            shown.append({**item.to_json(), "diff": "\n".join(lines), "secret": item.private})
            continue
        for line in (*diff_text.header(item), *lines):
            run.ui.line(line)
    if run.ui.json_output:
        run.ui.emit_json({"version": 1, "command": "diff", "volume": run.volume, "items": shown})
    run.exit_code = 1 if chosen else 0


def _contents(run: Run[DiffOptions], item: PathStatus) -> tuple[bytes | None, bytes | None]:
    """Both sides' bytes of a file that may be shown (never of a secret)."""
    if item.private or item.kind != "file":
        return None, None
    host = _host_bytes(item.candidate) if item.candidate is not None else None
    volume = None
    if item.current is not None and item.current.kind == "file" and run.helper is not None:
        with run.helper.open_file(item.path) as (handle, size):
            volume = handle.read(diff_text.MOST_SHOWN + 1) if size else b""
    return host, volume


def _host_bytes(candidate: Candidate) -> bytes | None:
    if candidate.content is not None:
        return candidate.content
    if candidate.source is None:
        return None
    try:
        with open(candidate.source, "rb") as handle:
            return handle.read(diff_text.MOST_SHOWN + 1)
    except OSError as error:
        raise ContainAIError(f"cannot read {candidate.source}: {error.strerror}") from None


def _chosen(run: Run[DiffOptions], path: str) -> bool:
    wanted = [_volume_path(run, given) for given in run.options.paths]
    return not wanted or any(path == w or path.startswith(f"{w}/") for w in wanted)


def _volume_path(run: Run[Options], given: str) -> str:
    """A PATH argument as a volume path: `.claude`, `~/.claude/` and `$HOME/.claude` alike."""
    text = given.rstrip("/")
    if text.startswith("~/"):
        return text[2:]
    path = Path(text)
    if path.is_absolute() and path.is_relative_to(run.home):
        return path.relative_to(run.home).as_posix()
    return text.removeprefix("./")


def _last_import(run: Run[ImportOptions]) -> str | None:
    found = run.state.files.get(STATE_FILE)
    if found is None:
        return None
    return dt.datetime.fromtimestamp(found.mtime, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _container(run: Run[ImportOptions]) -> dict[str, str] | None:
    if run.options.container:
        found = run.engine.container(run.options.container)
        matches = [found] if found is not None else []
    else:
        matches = run.engine.containers_labelled({labels.WORKSPACE: str(run.workspace)})
    if len(matches) != 1:
        return None
    return {"name": matches[0].name, "state": matches[0].state}


def _summary(found: list[PathStatus]) -> str:
    tally = status.counts(found)
    differ = len(found) - tally[status.IN_SYNC]
    if not differ:
        return f"in sync: {len(found)} paths"
    parts = ", ".join(f"{tally[s]} {s}" for s in status.STATES if tally[s] and s != "in-sync")
    return f"{differ} of {len(found)} paths differ: {parts}"
