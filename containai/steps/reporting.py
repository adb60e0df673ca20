"""What import, restore and sync print: what changes, a summary whose counts match the lines,
JSON.

By default a dry run and a real run list what changes in the volume (add, update, delete, keep,
conflict, error) and the placeholders of the tools the user has; the placeholders of tools this
host does not have, unchanged paths and skipped ones are only counted (``--verbose`` lists
them). ``--quiet`` prints only errors. Only paths, sizes, counts and reasons are printed, never
file contents (they may be secrets).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from containai.container.sync_script import SyncReport
from containai.transfer import plan
from containai.ui import human_bytes
from containai.workflow.loader import step
from containai.workflow.run import ImportOptions, Options, Run

# What changes in the volume, and what --replace keeps on purpose: listed by default.
_CHANGES = (
    plan.ADD,
    plan.UPDATE,
    plan.DELETE,
    plan.KEEP,
    plan.CONFLICT,
    plan.PLACEHOLDER,
    plan.ERROR,
)
_ABSENT_TOOL = "placeholder:absent-tool"  # a placeholder of a tool the host does not have
_SKIPPED = "skip"  # every skip:REASON
# How the summary names each group, in its order (an action not named here: by its name).
_NAMES = {
    plan.ADD: "added",
    plan.UPDATE: "updated",
    plan.DELETE: "deleted",
    plan.KEEP: "kept (not in the archive on purpose)",
    plan.CONFLICT: "conflicts",
    plan.PLACEHOLDER: "placeholders",
    plan.ERROR: "failed",
    _ABSENT_TOOL: "placeholders for tools not on this host",
    plan.UNCHANGED: "unchanged",
    _SKIPPED: "skipped",
}


@step(needs=("plan", "outcome"))
def report_import(run: Run[ImportOptions]) -> None:
    """Print the plan (dry run) or what was done, as text or JSON."""
    current = run.plan
    outcome = run.outcome
    failures = dict(outcome.failures) if outcome else {}
    if run.ui.json_output:
        run.ui.emit_json(_document(run, failures))
        return
    for warning in current.warnings:
        run.ui.info(f"note: {warning}")
    if run.options.dry_run:
        created = "" if current.volume_exists else " (would create)"
        run.ui.line(f"volume {current.volume}{created}")
    shown: Counter[str] = Counter()  # lines printed, by group
    hidden: Counter[str] = Counter()  # items only counted (--verbose lists them)
    present = tools_on_host(current)
    for item in current.items:
        if item.kind == "dir" and item.action == plan.UNCHANGED:
            continue  # a directory that stays: never news
        group = group_of(item, present)
        if group == plan.ERROR:
            _say_error(run, item.path, item.detail)
        elif run.ui.verbose or group in _CHANGES:
            run.ui.line(_item_line(item))
        else:
            hidden[group] += 1
            continue
        shown[group] += 1
    for path, reason in failures.items():
        _say_error(run, path, reason)
        shown[plan.ERROR] += 1
    run.ui.line(_summary(run, shown, hidden))
    if run.sync_report is not None and run.container is not None:
        counts = run.sync_report.counts
        run.ui.line(
            f"reloaded container {run.container.name}: {counts['moved']} moved, "
            f"{counts['linked']} linked, {counts['failed']} failed"
        )


def tools_on_host(current: plan.Plan) -> set[str]:
    """The tools of which the source offers something real (not a generated placeholder)."""
    return {
        item.candidate.entry.tool
        for item in current.items
        if item.candidate is not None and not item.candidate.placeholder
    }


def group_of(item: plan.Item, present: set[str]) -> str:
    """How an item is listed and counted: its action, but a placeholder of a tool the host does
    not have, and every skip, form a group of their own."""
    if item.action.startswith("skip:"):
        return _SKIPPED
    candidate = item.candidate
    if item.action == plan.PLACEHOLDER and candidate and candidate.entry.tool not in present:
        return _ABSENT_TOOL
    return item.action


def _say_error(run: Run[ImportOptions], path: str, reason: str) -> None:
    if run.ui.quiet:
        run.ui.error(f"{path}: {reason}")
    else:
        run.ui.line(f"{'error':<16}{path}  ({reason})")


def _summary(run: Run[ImportOptions], shown: Counter[str], hidden: Counter[str]) -> str:
    """The counts of the lines printed, then of what was only counted (said to be so)."""
    always = (plan.ADD, plan.UPDATE)
    groups = [*always, *(group for group in _ordered(shown) if group not in always)]
    text = ", ".join(f"{shown[group]} {_NAMES.get(group, group)}" for group in groups)
    if hidden:
        counted = ", ".join(f"{hidden[g]} {_NAMES.get(g, g)}" for g in _ordered(hidden))
        text += f"; not listed: {counted} (--verbose lists them)"
    if run.options.dry_run:
        would = human_bytes(run.plan.bytes_to_send())
        return f"dry run, nothing changed: {text}; would send {would}"
    outcome = run.outcome
    sent = outcome.files_sent if outcome else 0
    sent_bytes = outcome.bytes_sent if outcome else 0
    backups = f"; {len(outcome.backups)} backed up" if outcome and outcome.backups else ""
    verb = "restored into" if run.command == "restore" else "imported into"
    return (
        f"{verb} {run.plan.volume}: {text}{backups}; {sent} files ({human_bytes(sent_bytes)}) sent"
    )


def _ordered(counts: Counter[str]) -> list[str]:
    """The groups counted, in the summary's order (an unnamed one last, by its name)."""
    others = sorted(group for group in counts if group not in _NAMES)
    return [group for group in _NAMES if counts[group]] + others


def _item_line(item: plan.Item) -> str:
    action = item.action
    if item.resolution:
        action = f"{action}:{item.resolution}"
    suffix = "/" if item.kind == "dir" else ""
    detail = f"  ({item.detail})" if item.detail else ""
    return f"{action:<16}{item.path}{suffix}{detail}"


def _document(run: Run[ImportOptions], failures: dict[str, str]) -> dict[str, Any]:
    current = run.plan
    document: dict[str, Any] = {
        "command": run.command,
        "dry_run": run.options.dry_run,
        "volume": {"name": current.volume, "exists": current.volume_exists},
        "items": [item.to_json() for item in current.items],
        "summary": dict(sorted(current.counts().items())),  # files (directories not counted)
        "bytes_to_send": current.bytes_to_send(),
        "warnings": current.warnings,
    }
    if run.container is not None:
        document["container"] = {
            "name": run.container.name,
            "reloaded": run.sync_report is not None,
        }
        if run.sync_report is not None:
            document["container"]["sync"] = run.sync_report.to_json()
    if run.outcome is not None:
        document["result"] = {
            "files_sent": run.outcome.files_sent,
            "bytes_sent": run.outcome.bytes_sent,
            "backups": run.outcome.backups,
            "failed": failures,
        }
    return document


def report_sync(run: Run[Options], report: SyncReport) -> None:
    """Print what the in-container sync did (or would do), as text or JSON."""
    if run.ui.json_output:
        run.ui.emit_json({"command": "sync", "dry_run": run.options.dry_run, **report.to_json()})
    else:
        for line in report.lines:
            # Links are routine after a real run; a dry run shows every change it would make.
            if line.action == "failed" and run.ui.quiet:
                run.ui.error(f"~/{line.path}: {line.detail}")
            elif run.ui.verbose or run.options.dry_run or line.action != "linked":
                run.ui.line(f"{line.action:<11}~/{line.path}  ({line.detail})")
        prefix = "dry run: " if run.options.dry_run else ""
        if report.changed == 0 and not report.counts["failed"]:
            run.ui.line(f"{prefix}nothing to do: {_counts(report)}")
        else:
            run.ui.line(f"{prefix}{_counts(report)}")
    if report.exit_code:
        run.exit_code = 1


def _counts(report: SyncReport) -> str:
    c = report.counts
    return (
        f"{c['moved']} moved, {c['linked']} linked, {c['unchanged']} already linked, "
        f"{c['skipped']} skipped, {c['failed']} failed"
    )
