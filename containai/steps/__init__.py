"""The steps workflows are made of: plain functions ``step(run, **options)``, found by name.

The registry is an explicit dict (as pre-commit keeps its languages), so every step a workflow
file can name is listed here and greppable.
"""

from __future__ import annotations

from containai.steps import containers, exporting, importing, restoring, volume
from containai.workflow.loader import StepFunction

REGISTRY: dict[str, StepFunction] = {
    "find_container": containers.find_container,
    "reload_container": containers.reload_container,
    "run_container": containers.run_container,
    "reset_volume": containers.reset_volume,
    "shell_container": containers.shell_container,
    "stop_container": containers.stop_container,
    "sync_container": containers.sync_container,
    "sync_here": containers.sync_here,
    "resolve_volume": volume.resolve_volume,
    "lock_volume": volume.lock_volume,
    "open_volume": volume.open_volume,
    "scan_host": importing.scan_host,
    "read_volume": importing.read_volume,
    "plan_import": importing.plan_import,
    "apply_import": importing.apply_import,
    "report_import": importing.report_import,
    "check_archive": restoring.check_archive,
    "open_restore_volume": restoring.open_restore_volume,
    "plan_restore": restoring.plan_restore,
    "apply_restore": restoring.apply_restore,
    "write_export": exporting.write_export,
    "verify_export": exporting.verify_export,
}
