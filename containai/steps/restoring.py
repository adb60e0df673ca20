"""Steps of the restore workflow (``cai import --from ARCHIVE``)."""

from __future__ import annotations

from pathlib import Path

from containai.archive import reader, source
from containai.progress import counting
from containai.steps.importing import apply_plan, private_rules, refuse_root_deletions
from containai.transfer import restore_plan
from containai.workflow.loader import step
from containai.workflow.run import ImportOptions, Run, WorkflowError


def _archive_path(run: Run[ImportOptions]) -> Path:
    path = run.options.source
    if path is None:
        raise WorkflowError(f"workflow {run.command}: this step needs --from ARCHIVE")
    return path


@step(needs=("volume",), gives=("archive",))
def check_archive(run: Run[ImportOptions]) -> None:
    """Read the whole archive once: every member safe, every checksum right, before any write."""
    path = _archive_path(run)
    with counting(run.ui, _size(path), f"check {path.name}") as advance:
        run.archive = reader.scan_archive(
            path,
            max_expanded_bytes=run.settings.get_int("export.max_restore_bytes"),
            advance=advance,
        )
    manifest = run.archive.manifest
    origin = f" (exported from volume {manifest.volume_name})" if manifest else ""
    run.ui.info(f"{path}: {len(run.archive.entries)} members checked{origin}")
    for container in run.engine.containers_using(run.volume):
        run.ui.warn(
            f"container {container.name} is running with volume {run.volume}: files it writes "
            "during the restore may be overwritten"
        )


@step(needs=("archive", "state"), gives=("plan",))
def plan_restore(run: Run[ImportOptions]) -> None:
    """Decide every member against the volume (the *.priv.* rule applies to restores too)."""
    run.plan = restore_plan.make_plan(
        run.volume,
        run.archive,
        run.state,
        replace=run.options.replace,
        private=private_rules(run, list(run.manifest.entries)),
        owner=(run.agent.uid, run.agent.gid),
    )
    refuse_root_deletions(run)


@step(needs=("helper", "plan"), gives=("outcome",))
def apply_restore(run: Run[ImportOptions]) -> None:
    """Stream the archive's members into the volume with the same staging protocol as import."""
    if run.options.dry_run:
        run.outcome = None
        return
    members = source.MemberContents(_archive_path(run))
    try:
        apply_plan(run, members)
    finally:
        members.close()


def _size(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None  # said by the reader, which opens it
