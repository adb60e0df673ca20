"""What import, restore and sync print: the plan or what was done, a summary, JSON.

Only paths, sizes, counts and reasons are printed, never file contents (they may be secrets).
"""

from __future__ import annotations

from typing import Any

from containai.container.sync_script import SyncReport
from containai.transfer import plan
from containai.ui import human_bytes
from containai.workflow.loader import step
from containai.workflow.run import ImportOptions, Options, Run


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
    dry = run.options.dry_run
    if dry:
        created = "" if current.volume_exists else " (would create)"
        run.ui.line(f"volume {current.volume}{created}")
    for item in current.items:
        if item.kind == "dir" and item.action == plan.UNCHANGED:
            continue
        if dry or run.ui.verbose or item.action in (plan.ERROR, plan.CONFLICT):
            run.ui.line(_item_line(item))
    for path, reason in failures.items():
        run.ui.line(f"{'error':<16}{path}  ({reason})")
    run.ui.line(_summary(run, failures))
    if run.sync_report is not None and run.container is not None:
        counts = run.sync_report.counts
        run.ui.line(
            f"reloaded container {run.container.name}: {counts['moved']} moved, "
            f"{counts['linked']} linked, {counts['failed']} failed"
        )


def _summary(run: Run[ImportOptions], failures: dict[str, str]) -> str:
    counts = run.plan.counts()
    skipped = sum(n for action, n in counts.items() if action.startswith("skip:"))
    parts = [
        f"{counts[plan.ADD]} added",
        f"{counts[plan.UPDATE]} updated",
        f"{counts[plan.UNCHANGED]} unchanged",
        f"{counts[plan.PLACEHOLDER]} placeholders",
        f"{skipped} skipped",
    ]
    if counts[plan.CONFLICT]:
        parts.append(f"{counts[plan.CONFLICT]} conflicts")
    if counts[plan.DELETE]:
        parts.append(f"{counts[plan.DELETE]} deleted")
    failed = counts[plan.ERROR] + len(failures)
    if failed:
        parts.append(f"{failed} failed")
    if run.options.dry_run:
        would = human_bytes(run.plan.bytes_to_send())
        return f"dry run, nothing changed: {', '.join(parts)}; would send {would}"
    outcome = run.outcome
    sent = outcome.files_sent if outcome else 0
    sent_bytes = outcome.bytes_sent if outcome else 0
    backups = f"; {len(outcome.backups)} backed up" if outcome and outcome.backups else ""
    verb = "restored into" if run.command == "restore" else "imported into"
    return (
        f"{verb} {run.plan.volume}: {', '.join(parts)}{backups}; "
        f"{sent} files ({human_bytes(sent_bytes)}) sent"
    )


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
        "summary": dict(sorted(current.counts().items())),
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
            if run.ui.verbose or run.options.dry_run or line.action != "linked":
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
