"""Steps of the export and verify workflows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from containai.archive import reader as archive
from containai.archive.writer import ExportRequest, atomic_file, output_path, write_archive
from containai.errors import ArchiveError, UsageError
from containai.host.excludes import configured_excludes
from containai.host.secrets import SecretPaths, secret_patterns
from containai.printable import printable
from containai.ui import human_bytes
from containai.workflow.loader import step
from containai.workflow.run import ExportOptions, Run, WorkflowError


@step(needs=("helper",))
def write_export(run: Run[ExportOptions]) -> None:
    """Stream the volume into a .tgz next to the target, then rename it into place."""
    helper = run.helper
    if helper is None:
        raise WorkflowError(
            f"workflow {run.command}: open_volume needs 'with = {{ required = true }}'"
        )
    target = output_path(run.options.output, dt.datetime.now(), Path.cwd())
    if not target.parent.is_dir():
        raise UsageError(f"output directory {target.parent} does not exist")
    request = ExportRequest(
        volume=run.volume,
        labels=run.volume_labels,
        excludes=configured_excludes(run.settings, run.options.excludes, import_defaults=False),
        include_secrets=run.options.secrets,
        is_secret=SecretPaths(run.manifest.entries, secret_patterns(run.settings)),
        compression_level=run.settings.get_int("export.compression_level"),
    )
    with atomic_file(target) as out:
        summary = write_archive(helper.get(""), out, request, helper.open_file)
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
        print(printable(str(target)), file=run.ui.out)  # stdout: only the path, for scripts


@step()
def verify_export(run: Run[ExportOptions]) -> None:
    """Check an archive against its manifest: missing, extra and corrupt members."""
    path = run.options.verify
    if path is None:
        raise WorkflowError(f"workflow {run.command}: verify_export needs --verify ARCHIVE")
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    report = archive.verify_archive(
        path, max_expanded_bytes=run.settings.get_int("export.max_restore_bytes")
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
