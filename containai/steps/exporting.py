"""Steps of the export and verify workflows."""

from __future__ import annotations

from pathlib import Path

from containai.archive import destination
from containai.archive import reader as archive
from containai.archive.writer import ExportRequest, write_archive
from containai.errors import ArchiveError, ContainAIError, UsageError
from containai.host.excludes import configured_excludes
from containai.host.secrets import SecretPaths, secret_patterns
from containai.progress import counting, metered
from containai.transfer import partial_read
from containai.ui import human_bytes
from containai.workflow.loader import step
from containai.workflow.run import ExportOptions, Run, WorkflowError


@step(needs=("helper",))
def write_export(run: Run[ExportOptions]) -> None:
    """Stream the volume into a .tgz beside the target, then publish it under its name (never
    over an existing file unless --force; archive/destination.py)."""
    helper = run.helper
    if helper is None:
        raise WorkflowError(
            f"workflow {run.command}: open_volume needs 'with = {{ required = true }}'"
        )
    limit = run.settings.get_int("limits.record_bytes")
    broken = partial_read.unfinished_rebuilds(
        helper.get_if_present, helper.stat, max_record_bytes=limit
    )
    if broken:
        # The archive would lack what they kept (it is only in the staging tree for now).
        raise ContainAIError(
            f"volume {run.volume} holds an interrupted import that was rebuilding {broken[0]}; "
            "run the import (or restore) again to finish it, then export"
        )
    chosen = destination.choose(run.options.output, Path.cwd(), force=run.options.force)
    request = ExportRequest(
        volume=run.volume,
        labels=run.volume_labels,
        excludes=configured_excludes(run.settings, run.options.excludes, import_defaults=False),
        include_secrets=run.options.secrets,
        is_secret=SecretPaths(run.manifest.entries, secret_patterns(run.settings)),
        compression_level=run.settings.get_int("export.compression_level"),
        owner=None if helper.owners_reported else (run.agent.uid, run.agent.gid),
    )
    with (
        destination.publishing(chosen) as publication,
        metered(run.ui, None, f"export {run.volume}") as meter,
    ):
        summary = write_archive(meter(helper.get("")), publication.out, request, helper.open_file)
    target = publication.path
    for path, why in summary.skipped:
        if why.startswith("symlink"):
            run.ui.warn(f"left out {path}: {why}")
        else:
            run.ui.info(f"skipped {path} ({why})")
    run.ui.note(
        f"exported {summary.files} files ({human_bytes(summary.bytes)}) from volume "
        f"{run.volume} to {target}"
    )
    if run.ui.json_output:
        run.ui.emit_json(
            {
                "command": "export",
                "archive": str(target),
                "volume": run.volume,
                "files": summary.files,
                "bytes": summary.bytes,
                "skipped": [{"path": p, "reason": why} for p, why in summary.skipped],
            }
        )
    else:
        run.ui.line(str(target))  # stdout: only the path, for scripts


@step()
def verify_export(run: Run[ExportOptions]) -> None:
    """Check an archive against its manifest: missing, extra and corrupt members."""
    path = run.options.verify
    if path is None:
        raise WorkflowError(f"workflow {run.command}: verify_export needs --verify ARCHIVE")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    with counting(run.ui, path.stat().st_size, f"verify {path.name}") as advance:
        report = archive.verify_archive(
            path,
            max_expanded_bytes=run.settings.get_int("export.max_restore_bytes"),
            advance=advance,
        )
    if run.ui.json_output:
        run.ui.emit_json(
            {
                "command": "verify",
                "archive": str(path),
                "ok": report.ok and not report.no_manifest,
                "manifest": not report.no_manifest,
                "missing": list(report.missing),
                "extra": list(report.extra),
                "corrupt": list(report.corrupt),
                "duplicate": list(report.duplicate),
            }
        )
    else:
        for label, names in (
            ("missing", report.missing),
            ("extra", report.extra),
            ("corrupt", report.corrupt),
            ("duplicate", report.duplicate),
        ):
            for name in names:
                run.ui.line(f"{label:<8}{name}")
    if report.no_manifest:
        raise ArchiveError(f"{path} has no containai manifest: nothing to verify it against")
    if not report.ok:
        problems = sum(map(len, (report.missing, report.extra, report.corrupt, report.duplicate)))
        raise ArchiveError(f"{path} failed verification: {problems} problem(s)")
    files = len(report.index.manifest.files) if report.index.manifest else 0
    run.ui.note(f"{path}: ok, {files} files match the manifest")
