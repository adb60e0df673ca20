"""Commands about what containai manages on the engine: ls, rm."""

from __future__ import annotations

from invoke.context import Context

from containai.tasks.base import command, mapped_errors


@command(
    size="Also show each volume's disk use (the engine walks every volume: slow on big ones).",
    json="Print the volumes and containers as JSON.",
)
def ls(c: Context, size: bool = False, json: bool = False) -> None:
    """List every volume and container containai manages, with their workspaces."""
    from containai import inventory

    with mapped_errors(c):
        inventory.ls(sizes=size, json_output=json)


@command(
    workspace="Workspace whose container to remove (default: the current directory's, unless "
    "only --volume is given).",
    volume="Also remove this containai volume, with everything in it (never one a running "
    "container uses).",
    yes="Do not ask: without it, cai asks on a terminal and refuses otherwise.",
    json="Print what was removed as JSON.",
)
def rm(
    c: Context,
    workspace: str | None = None,
    volume: str | None = None,
    yes: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Remove the workspace's agent container and/or a containai volume (`--volume NAME`)."""
    from containai import removal
    from containai.ui import quiet_command

    with mapped_errors(c), quiet_command(quiet):
        removal.rm(workspace=workspace, volume=volume, yes=yes, json_output=json)
