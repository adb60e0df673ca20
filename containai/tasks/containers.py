"""Commands about the agent container: run, shell, stop."""

from __future__ import annotations

from invoke.context import Context

from containai.tasks.base import command, exclusive
from containai.tasks.base import run as run_workflow


@command(
    verbose="Say more.",
    image="Agent image (default: run.image in settings).",
    fresh="Remove and recreate the container (the data volume is kept).",
    detach="Return as soon as the container starts, without waiting for its sync.",
    no_ssh_agent="Do not relay this machine's SSH agent into the container.",
)
def run(
    c: Context,
    workspace: str | None = None,
    image: str | None = None,
    data_volume: str | None = None,
    config: str | None = None,
    fresh: bool = False,
    detach: bool = False,
    reset: bool = False,
    no_ssh_agent: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Create or start the workspace's agent container (prints its name)."""
    exclusive(reset=reset, data_volume=data_volume)
    exclusive(verbose=verbose, quiet=quiet)
    run_workflow(
        c,
        "run",
        data_volume=data_volume,
        image=image,
        fresh=fresh,
        detach=detach,
        reset=reset,
        no_ssh_agent=no_ssh_agent,
        workspace=workspace,
        config=config,
        verbose=verbose,
        quiet=quiet,
        json_output=json,
    )


@command(workspace="Workspace whose container to stop (default: the current directory).")
def stop(
    c: Context,
    workspace: str | None = None,
    container: str | None = None,
    config: str | None = None,
    quiet: bool = False,
    json: bool = False,
) -> None:
    """Stop the workspace's agent container (its data volume is kept)."""
    run_workflow(
        c,
        "stop",
        container=container,
        workspace=workspace,
        config=config,
        quiet=quiet,
        json_output=json,
    )


@command(
    after_dashes="CMD",
    workspace="Workspace whose container to enter (default: the current directory).",
)
def shell(
    c: Context,
    workspace: str | None = None,
    container: str | None = None,
    config: str | None = None,
) -> None:
    """Open a shell in the workspace's container; `cai shell -- CMD ...` runs CMD instead."""
    command = tuple(c.config.get("cai_command") or ())
    run_workflow(
        c, "shell", container=container, command=command, workspace=workspace, config=config
    )
