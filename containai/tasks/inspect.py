"""Commands that show and change nothing in a volume: config, trust, status, diff."""

from __future__ import annotations

from invoke.context import Context

from containai.tasks.base import command, exclusive, mapped_errors, run


@command(
    workspace="Workspace whose settings to show (default: the current directory).",
    json="Print the settings and their origins as JSON.",
)
def config(
    c: Context, workspace: str | None = None, config: str | None = None, json: bool = False
) -> None:
    """Show the effective settings and which layer each came from."""
    from containai.settings.show import show

    with mapped_errors(c):
        show(workspace=workspace, config=config, json_output=json)


@command(
    workspace="Workspace whose project files to trust (default: the current directory).",
    revoke="Stop trusting them.",
    show="List them and whether they are trusted; change nothing.",
    json="Print the project's files and their trust as JSON.",
)
def trust(
    c: Context,
    workspace: str | None = None,
    revoke: bool = False,
    show: bool = False,
    json: bool = False,
) -> None:
    """Trust the workspace's containai.toml and .containai/ files as they are now."""
    from containai import trusting

    with mapped_errors(c):
        trusting.trust(workspace=workspace, revoke=revoke, show=show, json_output=json)


@command(
    workspace="Workspace whose volume to compare (default: the current directory).",
    container="Compare the volume of this containai container.",
    verbose="Also list the paths that are in sync.",
    json="Print the states as JSON.",
)
def status(
    c: Context,
    workspace: str | None = None,
    data_volume: str | None = None,
    container: str | None = None,
    config: str | None = None,
    verbose: bool = False,
    json: bool = False,
) -> None:
    """Show what differs between the host, the data volume and the last import."""
    exclusive(container=container, data_volume=data_volume)
    run(
        c,
        "status",
        data_volume=data_volume,
        container=container,
        workspace=workspace,
        config=config,
        verbose=verbose,
        json_output=json,
    )


@command(
    after_dashes="PATH",
    workspace="Workspace whose volume to compare (default: the current directory).",
    container="Compare the volume of this containai container.",
    quiet="Print no diff: the exit code says whether anything differs.",
    json="Print the differences as JSON (secrets still never shown).",
)
def diff(
    c: Context,
    workspace: str | None = None,
    data_volume: str | None = None,
    container: str | None = None,
    config: str | None = None,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Diff what an import would write (a/) against the volume (b/); exit 1 if they differ.
    `cai diff -- PATH ...` limits it to those paths."""
    exclusive(container=container, data_volume=data_volume)
    run(
        c,
        "diff",
        paths=tuple(c.config.get("cai_command") or ()),
        data_volume=data_volume,
        container=container,
        workspace=workspace,
        config=config,
        quiet=quiet,
        json_output=json,
    )
