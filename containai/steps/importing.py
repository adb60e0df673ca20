"""Steps of the import workflow: scan the host, read the volume, plan, apply, report."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from containai import render
from containai.errors import ConfigError
from containai.host import additional_paths, manifest
from containai.host.excludes import Excludes, Rule, under
from containai.host.scan import Candidate, ScanOptions, scan
from containai.host.secrets import secret_patterns
from containai.progress import metered
from containai.steps.volume import delete_planned, open_volume
from containai.transfer import plan
from containai.transfer import stream as transfer
from containai.transfer import volume_state as volumestate
from containai.transfer.stream import Outcome, Owner
from containai.ui import human_bytes
from containai.workflow.run import Run


def scan_host(run: Run) -> None:
    """Walk the manifest over the source ($HOME or --from DIR) and describe what it offers."""
    settings = run.settings
    source_root = run.options.source or run.home
    from_home = _same_path(source_root, run.home)
    loaded = manifest.load(run.workspace, user_config_dir=run.user_dir)
    for warning in loaded.warnings:
        run.ui.warn(warning)
    entries = list(loaded.enabled())
    extra = additional_paths.resolve(
        settings.get_list("import.additional_paths"),
        home=run.home,
        source_root=source_root,
        known={entry.source: entry for entry in loaded.entries},
    )
    for warning in extra.warnings:
        run.ui.warn(warning)
    # A disabled packaged entry the user opted into (e.g. ~/.ssh/config) comes back on.
    entries += [e for e in loaded.entries if not e.enabled and e.source in extra.opted_in]
    entries += extra.entries

    env = render.environment(run.workspace, run.user_dir)
    options = ScanOptions(
        source_root=source_root,
        from_home=from_home,
        secrets=run.options.secrets,
        excludes=_excludes(run),
        private=private_rules(run, entries),
        secret_patterns=secret_patterns(settings),
        opted_in=extra.opted_in,
        safe_directory=settings.get_str("agent.workspace_mount"),
        environ=os.environ,
        placeholder=lambda name: render.render(env, name).encode(),
        known=(*loaded.entries, *extra.entries),
    )
    run.scan = scan(entries, options)
    if run.options.source and not from_home:
        run.ui.info(f"importing from {source_root}")


def read_volume(run: Run) -> None:
    """Read what the volume holds, hashing only the paths the host wants to write."""
    if run.helper is None:
        run.state = volumestate.empty()
        return
    run.state = volumestate.read(run.helper.get(""), hash_paths=run.files_to_write())


def plan_import(run: Run, *, on_conflict: str | None = None) -> None:
    """Decide every path; the same plan is printed by a dry run and executed by a real one."""
    assert run.scan is not None and run.state is not None
    policy = on_conflict or run.settings.get_str("import.on_conflict")
    if policy not in plan.CONFLICT_POLICIES:
        raise ConfigError(
            f"import.on_conflict must be one of {', '.join(plan.CONFLICT_POLICIES)}, not {policy!r}"
        )
    mirror_all = run.settings.get_bool("import.mirror")
    roots = {c.entry.target for c in run.scan.candidates if c.entry.mirror or mirror_all}
    run.plan = plan.make(
        run.volume,
        run.scan,
        run.state,
        on_conflict=policy,
        host_digest=_digest_cache(),
        mirror_roots=sorted(roots),
    )


def apply_import(run: Run) -> None:
    """Carry out the plan in one tar stream (nothing at all under --dry-run)."""
    apply_plan(run)


def apply_plan(run: Run, content: transfer.ContentSource | None = None) -> None:
    assert run.plan is not None and run.state is not None
    if run.options.dry_run:
        return
    if run.helper is None:
        open_volume(run, create=True)
    assert run.helper is not None
    outcome = run.outcome = Outcome()
    if _changes_anything(run.plan, run.state):
        owner = Owner(run.settings.get_int("agent.uid"), run.settings.get_int("agent.gid"))
        # Deletions first: the stream then rewrites the metadata of the directories they touch.
        delete_planned(run, outcome)
        label = f"{run.command} {run.volume}"
        with metered(run.ui, run.plan.bytes_to_send(), label) as meter:
            run.helper.put(meter(transfer.stream(run.plan, run.state, owner, outcome, content)))
    if outcome.failures or run.plan.failed:
        run.exit_code = 1


def _changes_anything(current: plan.Plan, state: volumestate.VolumeState) -> bool:
    """False for a no-op: nothing to write or delete, and the record already says it all."""
    if any(item.writes or item.action == plan.DELETE for item in current.items):
        return True
    return transfer.records_after(current, state) != state.record


def report_import(run: Run) -> None:
    """Print the plan (dry run) or what was done, as text or JSON."""
    assert run.plan is not None
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


def _summary(run: Run, failures: dict[str, str]) -> str:
    assert run.plan is not None
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


def _document(run: Run, failures: dict[str, str]) -> dict[str, Any]:
    assert run.plan is not None
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


def _excludes(run: Run) -> Excludes:
    if not run.options.excludes:
        return Excludes([])
    return Excludes(
        [
            Rule("excludes", tuple(run.settings.get_list("excludes"))),
            Rule(
                "import.default_excludes", tuple(run.settings.get_list("import.default_excludes"))
            ),
        ]
    )


def private_rules(run: Run, entries: list[manifest.Entry]) -> Excludes:
    # *.priv.* files in shell-sourced folders hold personal secrets; only
    # [import] exclude_priv = false lets them through (--no-excludes does not).
    if not run.settings.get_bool("import.exclude_priv"):
        return Excludes([])
    patterns = [p for e in entries if e.exclude_priv for p in under(e.target, ["*.priv.*"])]
    return Excludes([Rule("exclude_priv", tuple(patterns))])


def _digest_cache() -> plan.HostDigest:
    cache: dict[str, str | None] = {}

    def digest(candidate: Candidate) -> str | None:
        if candidate.path not in cache:
            cache[candidate.path] = _sha256(candidate)
        return cache[candidate.path]

    return digest


def _sha256(candidate: Candidate) -> str | None:
    if candidate.content is not None:
        return hashlib.sha256(candidate.content).hexdigest()
    if candidate.source is None:
        return None
    digest = hashlib.sha256()
    try:
        with open(candidate.source, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except OSError:
        return None  # reported when the transfer tries to read it
    return digest.hexdigest()


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
