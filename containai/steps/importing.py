"""Steps of the import workflow: scan the host, plan, apply (the restore shares apply_plan)."""

from __future__ import annotations

import os
from pathlib import Path

from containai import render
from containai.errors import ContainAIError
from containai.host import additional_paths
from containai.host.candidates import ScanOptions
from containai.host.excludes import Excludes, Rule, configured_excludes, under
from containai.host.manifest import Entry
from containai.host.scan import scan
from containai.host.secrets import secret_patterns
from containai.progress import metered
from containai.settings.schema import ConflictPolicy
from containai.steps.volume import cannot_delete_at_root, delete_planned, local_shell_image
from containai.transfer import deletion, plan, records, recovery, stream
from containai.transfer.stream import Outcome, Owner
from containai.transfer.volume_state import VolumeState
from containai.workflow.loader import step
from containai.workflow.run import ImportOptions, Run, WorkflowError


@step(gives=("scan",))
def scan_host(run: Run[ImportOptions]) -> None:
    """Walk the manifest over the source ($HOME or --from DIR) and describe what it offers."""
    settings = run.settings
    source_root = run.options.source or run.home
    from_home = _same_path(source_root, run.home)
    loaded = run.manifest
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

    env = render.environment(run.project, run.user_dir)
    options = ScanOptions(
        source_root=source_root,
        from_home=from_home,
        secrets=run.options.secrets,
        excludes=configured_excludes(settings, run.options.excludes, import_defaults=True),
        private=private_rules(run, entries),
        secret_patterns=secret_patterns(settings),
        opted_in=extra.opted_in,
        safe_directory=run.agent.workspace_mount,
        environ=os.environ,
        placeholder=lambda name: render.render(env, name).encode(),
        known=(*loaded.layered, *extra.entries),
        protected=tuple(settings.get_list("import.protected_paths")),
        agent_home=run.agent.home,
    )
    run.scan = scan(entries, options)
    if run.options.source and not from_home:
        run.ui.info(f"importing from {source_root}")


@step(needs=("scan", "state"), gives=("plan",))
def plan_import(run: Run[ImportOptions], *, on_conflict: ConflictPolicy | None = None) -> None:
    """Decide every path; the same plan is printed by a dry run and executed by a real one."""
    roots = plan.mirror_roots(run.scan, run.settings.get_bool("import.mirror"))
    run.plan = plan.make(
        run.volume,
        run.scan,
        run.state,
        on_conflict=on_conflict or run.settings.get_str("import.on_conflict"),
        host_digest=run.scan.digest,
        three_way=not run.options.force,
        mirror_roots=roots,
    )
    refuse_root_deletions(run)


def refuse_root_deletions(run: Run[ImportOptions]) -> None:
    """A deletion of a name directly in the volume root needs engine.shell_image, which is
    never pulled: without it, the plan says so (an error, which a dry run shows too)."""
    at_root = {
        i.path for i in run.plan.items if i.action == plan.DELETE and deletion.at_root(i.path)
    }
    if not at_root or local_shell_image(run):
        return
    why = cannot_delete_at_root(run)
    run.plan.items = [
        plan.Item(i.path, plan.ERROR, i.kind, i.size, f"{i.detail}; {why}")
        if i.action == plan.DELETE and i.path in at_root
        else i
        for i in run.plan.items
    ]


@step(needs=("helper", "plan"), gives=("outcome",))
def apply_import(run: Run[ImportOptions]) -> None:
    """Carry out the plan in one tar stream (nothing at all under --dry-run)."""
    apply_plan(run)


def apply_plan(run: Run[ImportOptions], content: stream.ContentSource | None = None) -> None:
    run.outcome = None
    if run.options.dry_run:
        return
    if run.helper is None:
        raise WorkflowError(
            f"workflow {run.command}: open_volume needs 'with = {{ create = true }}'"
        )
    if run.state.blocked:
        raise ContainAIError(f"volume {run.volume}: {run.state.blocked}")
    outcome = run.outcome = Outcome()
    if _changes_anything(run.plan, run.state):
        # Names in the volume root first (a program deletes them); the stream deletes the rest,
        # then rewrites the metadata of the directories they touch.
        delete_planned(run, outcome)
        owner = Owner(run.agent.uid, run.agent.gid)
        label = f"{run.command} {run.volume}"
        limit = run.settings.get_int("limits.record_bytes")
        with metered(run.ui, run.plan.bytes_to_send(), label) as meter:
            tar = stream.stream(
                run.plan,
                run.state,
                owner,
                outcome,
                content,
                run=run.engine.run,
                max_record_bytes=limit,
            )
            run.helper.put(meter(tar))
        if outcome.rebuilt:
            run.ui.info(
                f"deleted through the archive API: {outcome.rebuilt} directories rebuilt "
                f"around the deleted paths, {outcome.kept} paths below them put back"
            )
    if outcome.failures or run.plan.failed:
        run.exit_code = 1


def _changes_anything(current: plan.Plan, state: VolumeState) -> bool:
    """False for a no-op: nothing to write or delete, and the record already says it all."""
    if any(item.writes or item.action == plan.DELETE for item in current.items):
        return True
    if recovery.pending(state):  # an interrupted run's rebuild to finish
        return True
    return records.records_after(current, state) != (state.record, state.shapes)


def private_rules(run: Run[ImportOptions], entries: list[Entry]) -> Excludes:
    # *.priv.* files in shell-sourced folders hold personal secrets; only
    # [import] exclude_priv = false lets them through (--no-excludes does not).
    if not run.settings.get_bool("import.exclude_priv"):
        return Excludes([])
    patterns = [p for e in entries if e.exclude_priv for p in under(e.target, ["*.priv.*"])]
    return Excludes([Rule("exclude_priv", tuple(patterns))])


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False
