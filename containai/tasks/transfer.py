"""Commands that move configuration: import (and restore), export, sync."""

from __future__ import annotations

from pathlib import Path

from invoke.context import Context
from invoke.exceptions import Exit

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
    json: bool = False,
) -> None:
    """Copy host configs into the data volume (and hot-reload a running container)."""
    exclusive(container=container, data_volume=data_volume)
    exclusive(reset=reset, data_volume=data_volume)
    if reset and (workspace or container):
        message = "--reset cannot change the volume of a running container: use 'cai run --reset'"
        raise Exit(f"cai: {message}", code=2)
    source = Path(from_).expanduser().resolve() if from_ else None
    workflow = "import"
    if source is not None:
        from containai.archive.source import is_archive

        with mapped_errors(c):
            workflow = "restore" if is_archive(source) else "import"
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
        json_output=json,
    )


@command(
    positional=None,
    output="Archive file or directory (default: ./containai-export-<time>.tgz).",
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
    verbose: bool = False,
    json: bool = False,
) -> None:
    """Write the data volume to a .tgz archive (prints its path on stdout)."""
    exclusive(container=container, data_volume=data_volume)
    run(
        c,
        "verify" if verify else "export",
        secrets=not no_secrets,
        excludes=not no_excludes,
        data_volume=data_volume,
        container=container,
        output=output,
        verify=Path(verify).expanduser().resolve() if verify else None,
        workspace=workspace,
        config=config,
        verbose=verbose,
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
    json: bool = False,
) -> None:
    """Move configs created in the container into the data volume, leaving symlinks."""
    run(
        c,
        "sync-container" if container else "sync",
        container=container,
        dry_run=dry_run,
        workspace=None,
        config=config,
        verbose=verbose,
        json_output=json,
    )
