"""The records a run leaves in the volume: what containai wrote there, the base the next
three-way import compares both sides with."""

from __future__ import annotations

from dataclasses import replace

from containai.transfer.plan import DELETE, SKIP_CREDENTIAL, UNCHANGED, Item, Plan
from containai.transfer.volume_state import Record, Shape, VolumeFile, VolumeState


def adopted_journal(state: VolumeState) -> dict[str, Record]:
    """Files an interrupted run put in place: ours too, if they are still as it left them."""
    adopted = {}
    for path, record in state.journal.items():
        current = state.files.get(path)
        if current is not None and current.matches(record):
            adopted[path] = record
    return adopted


def records_after(plan: Plan, state: VolumeState) -> tuple[dict[str, Record], dict[str, Shape]]:
    """The records a run would write if it sent nothing (to tell whether it must write at all)."""
    return new_records(plan, state, {}, {}, {})


def new_records(
    plan: Plan,
    state: VolumeState,
    fresh: dict[str, Record],
    staged: dict[str, str],
    failures: dict[str, str],
) -> tuple[dict[str, Record], dict[str, Shape]]:
    """The base of the next three-way import: what this run leaves in place as containai's.

    Files: their content records. Directories and symlinks: their shapes, for those that now
    match the host (a shape missing only costs the next import a look at the volume).
    """
    records = {**state.record, **adopted_journal(state)}
    shapes = dict(state.shapes)
    for item in plan.items:
        candidate = item.candidate
        if item.path in staged:
            records[item.path] = fresh[item.path]
        elif item.action == DELETE and item.path not in failures:
            records.pop(item.path, None)  # (one that failed stays ours, to be deleted later)
            shapes.pop(item.path, None)
        elif item.action in (UNCHANGED, SKIP_CREDENTIAL) and item.kind == "file":
            kept = _kept(item, records.get(item.path), state.files.get(item.path))
            if kept is not None:
                records[item.path] = kept
        if candidate is None or candidate.kind not in ("dir", "symlink"):
            continue
        written = item.writes and item.path not in failures
        if written or item.action == UNCHANGED:
            mode = candidate.mode if candidate.kind == "dir" else 0
            shapes[item.path] = Shape(candidate.kind, mode, candidate.linkname)
        else:
            shapes.pop(item.path, None)
    return records, shapes


def _kept(item: Item, record: Record | None, current: VolumeFile | None) -> Record | None:
    """The record of a file left in place: the volume's file when it holds the host's content
    (adopted, or refreshed with the host file's new mtime and the mode), else ``record``
    unchanged (an agent's version kept by a three-way import stays an agent's version)."""
    candidate = item.candidate
    host = item.host_sha256
    source = candidate.mtime if candidate is not None and candidate.source else None
    if current is not None and current.kind == "file":
        known = current.sha256 or (record.sha256 if record and current.matches(record) else None)
        if host is not None and known == host:
            return Record(current.size, current.mtime, host, source, current.mode)
        if host is None and known is not None and record is None:  # a credential in place
            return Record(current.size, current.mtime, known, None, current.mode)
        return record
    if record is not None and host == record.sha256 and source != record.source_mtime:
        return replace(record, source_mtime=source)  # touched on the host, content the same
    return record
