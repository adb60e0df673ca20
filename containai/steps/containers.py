"""Steps around agent containers: find one, run one, open a shell in one, stop one."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

from containai import labels
from containai import workspaces as volumes
from containai.container import sync_script as insync
from containai.engine import ContainerInfo
from containai.errors import ContainAIError, NotFoundError, UsageError
from containai.steps.syncing import sync_script
from containai.steps.volume import find_target
from containai.workflow.loader import step
from containai.workflow.run import Options, Run, RunOptions, ShellOptions

_KEEP_ALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]


@step()
def find_container(run: Run[Options], *, require_running: bool = True) -> None:
    """Hot reload: the container named by --container, or the one labelled with the workspace."""
    container = find_target(run)
    if require_running and container.state != "running":
        raise ContainAIError(
            f"container {container.name} is not running (state: {container.state}); hot reload "
            f"needs a running container. Use 'cai import --data-volume "
            f"{container.labels.get(labels.VOLUME, '<volume>')}' for a stopped one"
        )
    run.container = container


def container_name(workspace: Path) -> str:
    return volumes.derived_name(workspace)


@step(needs=("volume", "helper"))
def run_container(
    run: Run[RunOptions], *, image: str | None = None, fresh: bool = False, detach: bool = False
) -> None:
    """Create (or start) the workspace's agent container, with the sync at start."""
    engine = run.engine
    image = image or run.options.image or run.settings.get_str("run.image")
    name = container_name(run.workspace)
    existing = engine.container(name)
    if existing is not None and (fresh or run.options.fresh or run.options.reset):
        engine.remove(existing.id)
        kept = existing.labels.get(labels.VOLUME, run.volume)
        run.ui.note(f"removed container {name} (volume {kept} kept)")
        existing = None
    if existing is not None:
        if existing.labels.get(labels.VOLUME) != run.volume:
            raise UsageError(
                f"container {name} uses volume {existing.labels.get(labels.VOLUME)}, "
                f"not {run.volume}; use --fresh to recreate it"
            )
        syncs_before = _syncs_done(engine.logs(existing.id))
        if existing.state != "running":
            _check_agent_socket(run, existing)
            engine.start(existing.id)
        else:
            syncs_before -= 1  # already running: its last start-up sync is the one to report
        container_id = existing.id
    else:
        engine.ensure_image(image, "set run.image or pass --image")
        container_id = _create(run, name, image)
        syncs_before = 0
        engine.start(container_id)
    if not (detach or run.options.detach):
        _wait_for_sync(run, container_id, syncs_before)
    run.ui.note(f"container {name} is running (workspace {run.workspace}, volume {run.volume})")
    run.ui.line(name)


def _create(run: Run[RunOptions], name: str, image: str) -> str:
    settings, agent = run.settings, run.agent
    agent_binds, agent_env = ssh_agent_forwarding(run)
    command = settings.get_list("run.command") or run.engine.image_command(image) or _KEEP_ALIVE
    # The sync runs first, as the agent; then the real command replaces the shell.
    starter = f'{sync_script(run)}\nexec "$@"\n'
    return run.engine.create_container(
        name,
        image,
        entrypoint=["sh", "-c", starter, "containai-start"],
        command=command,
        user=agent.user,
        working_dir=agent.workspace_mount,
        environment={"HOME": agent.home, **agent_env},
        labels={
            labels.MANAGED: "true",
            labels.WORKSPACE: str(run.workspace),
            labels.VOLUME: run.volume,
        },
        binds={
            str(run.workspace): {"bind": agent.workspace_mount, "mode": "rw"},
            run.volume: {"bind": agent.data_mount, "mode": "rw"},
            **agent_binds,
        },
        network_mode=settings.get_str("run.network") or "default",
    )


_SYNC_DONE = "containai-sync: done"


def _syncs_done(logs: str) -> int:
    return logs.count(_SYNC_DONE)


def _wait_for_sync(run: Run[RunOptions], container_id: str, syncs_before: int) -> None:
    """Wait for this start's sync: the logs keep the lines of earlier starts."""
    deadline = time.monotonic() + run.settings.get_int("run.start_timeout")
    while time.monotonic() < deadline:
        logs = run.engine.logs(container_id)
        if _syncs_done(logs) > syncs_before:
            # Only this start's lines: after the last "done" of the earlier starts.
            this_start = logs.split(_SYNC_DONE)[syncs_before] if syncs_before else logs
            report = insync.parse(0, this_start)
            if report.counts["failed"]:
                run.ui.warn(f"the start-up sync failed for {report.counts['failed']} entries")
            return
        info = run.engine.container(container_id)
        if info is None or info.state in ("exited", "dead"):
            tail = " | ".join(logs.strip().splitlines()[-5:])
            raise ContainAIError(f"the container stopped during start-up: {tail or 'no output'}")
        time.sleep(0.1)
    raise ContainAIError("the container's start-up sync did not finish in time")


AGENT_SOCKET = "/run/containai/ssh-agent.sock"


def ssh_agent_forwarding(run: Run[RunOptions]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """Mount the host's SSH agent socket (never a key) and point SSH_AUTH_SOCK at it."""
    if not run.settings.get_bool("run.forward_ssh_agent"):
        return {}, {}
    socket_path = os.environ.get("SSH_AUTH_SOCK", "")
    # Docker reads a relative bind source as a volume name: always mount the absolute path.
    socket_path = os.path.abspath(socket_path) if socket_path else ""
    if not socket_path:
        run.ui.note("no SSH agent on this machine (SSH_AUTH_SOCK is unset): none forwarded")
        return {}, {}
    host = os.environ.get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        run.ui.note(
            f"the engine at {host} is remote and cannot reach this machine's SSH agent: "
            "none forwarded"
        )
        return {}, {}
    try:
        is_socket = stat.S_ISSOCK(os.stat(socket_path).st_mode)
    except OSError:
        is_socket = False
    if not is_socket:
        run.ui.note(f"SSH_AUTH_SOCK ({socket_path}) is not a live socket: no agent forwarded")
        return {}, {}
    run.ui.info(f"forwarding the SSH agent at {socket_path}")
    return {socket_path: {"bind": AGENT_SOCKET, "mode": "rw"}}, {"SSH_AUTH_SOCK": AGENT_SOCKET}


def _check_agent_socket(run: Run[Options], container: ContainerInfo) -> None:
    """A stopped container's forwarded SSH agent socket must still exist before it starts:
    the engine would otherwise create a root-owned directory at that host path."""
    source = run.engine.mount_sources(container.id).get(AGENT_SOCKET)
    if source is None:
        return
    try:
        alive = stat.S_ISSOCK(os.stat(source).st_mode)
    except OSError:
        alive = False
    if not alive:
        raise ContainAIError(
            f"container {container.name} forwards the SSH agent socket {source}, which is gone "
            f"(a new login starts a new agent); recreate it with 'cai run --fresh'"
        )


@step()
def shell_container(run: Run[ShellOptions]) -> None:
    """`cai shell`: a shell (or `-- CMD`) in the workspace's container, as the agent."""
    if not run.options.command and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("cai shell needs a terminal, or a command after --")
    container = find_target(run)
    if container.state != "running":
        _check_agent_socket(run, container)
        run.ui.note(f"starting {container.name}")
        run.engine.start(container.id)
    environment = {"HOME": run.agent.home}
    if AGENT_SOCKET in run.engine.mount_sources(container.id):
        environment["SSH_AUTH_SOCK"] = AGENT_SOCKET
    command = list(run.options.command)
    # With a command its output passes through; without, an interactive shell on this terminal.
    streams = (sys.stdout.buffer, sys.stderr.buffer) if command else (None, None)
    run.exit_code = run.engine.exec(
        container.id,
        command or ["sh", "-l"],
        user=run.agent.user,
        workdir=run.agent.workspace_mount,
        environment=environment,
        out=streams[0],
        err=streams[1],
    )


@step()
def stop_container(run: Run[Options]) -> None:
    """`cai stop`: stop the workspace's container (or --container's); its volume stays."""
    if run.options.container:
        found = run.engine.container(run.options.container)
    else:
        found = run.engine.container(container_name(run.workspace))
    if found is None or found.labels.get(labels.MANAGED) != "true":
        what = run.options.container or f"for workspace {run.workspace}"
        raise NotFoundError(f"no containai container {what}")
    if found.state == "running":
        run.engine.stop(found.id)
        run.ui.note(f"stopped {found.name}")
    else:
        run.ui.note(f"{found.name} is not running ({found.state})")
