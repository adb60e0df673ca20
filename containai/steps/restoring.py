"""Steps of the restore workflow (``cai import --from ARCHIVE``)."""

from __future__ import annotations

from containai import workspaces as volumes
from containai.archive import reader as archive
from containai.host import manifest
from containai.steps.importing import apply_plan, private_rules
from containai.steps.volume import helper_spec
from containai.transfer import restore_plan as restore
from containai.workflow.run import Run


def check_archive(run: Run) -> None:
    """Read the whole archive once: every member safe, every checksum right, before any write."""
    path = run.options.source
    assert path is not None
    run.index = archive.scan_archive(
        path, max_expanded_bytes=run.settings.get_int("export.max_restore_bytes")
    )
    manifest = run.index.manifest
    origin = f" (exported from volume {manifest.volume_name})" if manifest else ""
    run.ui.info(f"{path}: {len(run.index.entries)} members checked{origin}")


def open_restore_volume(run: Run) -> None:
    """Attach to the volume, creating it (under --dry-run, not) with the archive's labels."""
    engine = run.engine
    for container in engine.containers_using(run.volume):
        run.ui.warn(
            f"container {container.name} is running with volume {run.volume}: files it writes "
            "during the restore may be overwritten"
        )
    info = engine.volume(run.volume)
    if info is None:
        if run.options.dry_run:
            return
        assert run.index is not None
        labels = dict(run.index.manifest.volume_labels) if run.index.manifest else {}
        labels.update(volumes.labels_for(run.workspace))
        info = engine.create_volume(run.volume, labels)
    run.volume_labels = info.labels
    engine.remove_stale_helpers(run.volume)
    run.helper = run.stack.enter_context(engine.helper(run.volume, helper_spec(run)))


def plan_restore(run: Run) -> None:
    """Decide every member against the volume (the *.priv.* rule applies to restores too)."""
    assert run.index is not None and run.state is not None
    loaded = manifest.load(run.workspace, user_config_dir=run.user_dir)
    private = private_rules(run, list(loaded.entries))
    run.plan = restore.make_plan(
        run.volume, run.index, run.state, replace=run.options.replace, private=private
    )


def apply_restore(run: Run) -> None:
    """Stream the archive's members into the volume with the same staging protocol as import."""
    if run.options.dry_run:
        return
    assert run.options.source is not None
    members = archive.MemberContents(run.options.source)
    try:
        apply_plan(run, members)
    finally:
        members.close()
