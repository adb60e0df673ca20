"""Commands that move configuration: import (and restore), export, sync."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit

from containai.errors import ContainAIError, UsageError
from containai.tasks.base import command, exclusive, mapped_errors, run


@command(
    name="import",
    workspace="Workspace directory; naming one also hot-reloads its running container.",
    container="Hot-reload into this running containai container.",
    from_="Import from this directory or .tgz archive instead of $HOME.",
    replace="With an archive: also remove volume files the archive does not hold.",
    force="Make every path match the host, even where only the volume changed (the volume's "
    "versions are kept as backups).",
)
def import_(
    c: Context,
    workspace: str | None = None,
    data_volume: str | None = None,
    container: str | None = None,
    from_: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    no_secrets: bool = False,
    no_excludes: bool = False,
    replace: bool = False,
    force: bool = False,
    reset: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Copy host configs into the data volume (and hot-reload a running container)."""
    exclusive(container=container, data_volume=data_volume)
    exclusive(reset=reset, data_volume=data_volume)
    exclusive(verbose=verbose, quiet=quiet)
    if reset and (workspace or container):
        message = "--reset cannot change the volume of a running container: use 'cai run --reset'"
        raise Exit(f"cai: {message}", code=2)
    source = Path(from_).expanduser().resolve() if from_ else None
    workflow = "import"
    if source is not None:
        with mapped_errors(c):
            workflow = "restore" if source_is_archive(source) else "import"
    if force and workflow == "restore":
        raise Exit("cai: --force applies to imports from a directory; use --replace", code=2)
    run(
        c,
        workflow,
        dry_run=dry_run,
        secrets=not no_secrets,
        excludes=not no_excludes,
        source=source,
        data_volume=data_volume,
        container=container,
        hot_reload=bool(workspace or container),
        replace=replace,
        force=force,
        reset=reset,
        workspace=workspace,
        config=config,
        verbose=verbose,
        quiet=quiet,
        json_output=json,
    )


def source_is_archive(source: Path) -> bool:
    """What ``--from`` names: a directory (False) or a gzip'd tar to restore (True, judged by
    content: archive.source). A path that is missing or neither a directory nor a file is a
    usage error (exit 2), naming it; one that cannot be read is a failure (exit 1)."""
    from containai.archive.source import is_archive

    try:
        mode = source.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        raise UsageError(f"--from {source}: no such file or directory") from None
    except OSError as error:
        raise ContainAIError(f"--from {source}: cannot read it: {error.strerror}") from None
    if stat.S_ISDIR(mode) and not os.access(source, os.R_OK | os.X_OK):
        raise ContainAIError(f"--from {source}: cannot read the directory: permission denied")
    if not stat.S_ISDIR(mode) and not stat.S_ISREG(mode):  # a FIFO, a device: never opened
        raise UsageError(f"--from {source} is neither a directory nor a .tgz archive")
    return is_archive(source)


@command(
    positional=None,
    output="Archive file, or directory for the default name containai-export-<time>.tgz "
    "(-2, -3, ... added if that name is taken); default: the current directory.",
    force="Replace the --output file if it exists (atomically).",
    container="Export the volume mounted in this containai container.",
    no_excludes="Ignore exclude patterns.",
    no_secrets="Leave secret files out of the archive (recorded in its manifest).",
    verify="Check an existing archive against its manifest instead of exporting.",
)
def export(
    c: Context,
    output: str | None = None,
    container: str | None = None,
    data_volume: str | None = None,
    workspace: str | None = None,
    config: str | None = None,
    no_excludes: bool = False,
    no_secrets: bool = False,
    verify: str | None = None,
    force: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Write the data volume to a new .tgz archive (prints its path; --force replaces a file)."""
    exclusive(container=container, data_volume=data_volume)
    exclusive(verbose=verbose, quiet=quiet)
    exclusive(verify=verify, output=output)
    if not verify:
        from containai.archive import destination

        with mapped_errors(c):  # said before the engine is asked anything
            destination.choose(output, Path.cwd(), force=force)
    run(
        c,
        "verify" if verify else "export",
        secrets=not no_secrets,
        excludes=not no_excludes,
        data_volume=data_volume,
        container=container,
        output=output,
        force=force,
        verify=Path(verify).expanduser().resolve() if verify else None,
        workspace=workspace,
        config=config,
        verbose=verbose,
        quiet=quiet,
        json_output=json,
    )


@command(
    container="Run the sync in this running container from the host.",
    dry_run="Report what would move or be linked; change nothing.",
    verbose="Also list entries that were only linked.",
)
def sync(
    c: Context,
    container: str | None = None,
    config: str | None = None,
    dry_run: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Move configs created in the container into the data volume, leaving symlinks."""
    exclusive(verbose=verbose, quiet=quiet)
    run(
        c,
        "sync-container" if container else "sync",
        container=container,
        dry_run=dry_run,
        workspace=None,
        config=config,
        verbose=verbose,
        quiet=quiet,
        json_output=json,
    )
