"""Steps around agent containers: find one, run one, open a shell in one, stop one."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from containai import __version__, labels, render
from containai import workspaces as volumes
from containai.container import sync_script as insync
from containai.engine import ContainerInfo
from containai.errors import ContainAIError, NotFoundError, UsageError
from containai.steps import ssh_agent
from containai.steps.syncing import sync_script
from containai.steps.volume import find_target
from containai.workflow.loader import step
from containai.workflow.run import Options, Run, RunOptions, ShellOptions

# What the container runs after the sync unless run.command says otherwise: a process that keeps
# it up whatever the image's own command is (the devcontainer convention, overrideCommand).
_KEEP_ALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]
_DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_GRACE = 0.5  # seconds a new container must stay up to count as running


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
    """Create (or start) the workspace's agent container, with the sync at start; it must be
    running at the end, and an existing one must have been made from the same settings."""
    engine = run.engine
    spec = _spec(run, image or run.options.image or run.settings.get_str("run.image"))
    name = container_name(run.workspace)
    existing = engine.container(name)
    if existing is not None and (fresh or run.options.fresh or run.options.reset):
        engine.remove(existing.id)
        kept = existing.labels.get(labels.VOLUME, run.volume)
        run.ui.note(f"removed container {name} (volume {kept} kept)")
        existing = None
    if existing is not None:
        _check_same_spec(existing, spec)
        syncs_before = _syncs_done(engine.logs(existing.id))
        if existing.state != "running":
            engine.start(existing.id)
        else:
            syncs_before -= 1  # already running: its last start-up sync is the one to report
        container_id = existing.id
    else:
        engine.ensure_image(spec["image"], "set run.image or pass --image")
        container_id = _create(run, name, spec)
        syncs_before = 0
        engine.start(container_id)
    if not (detach or run.options.detach):
        _wait_for_sync(run, container_id, syncs_before)
    _check_still_running(run, container_id)
    found = engine.container(container_id)
    if found is not None:
        ssh_agent.ensure_relay(run, found)
    run.ui.note(f"container {name} is running (workspace {run.workspace}, volume {run.volume})")
    run.ui.line(name)
    run.ui.emit_json(
        {"command": "run", "container": name, "workspace": str(run.workspace), "volume": run.volume}
    )


def _spec(run: Run[RunOptions], image: str) -> dict[str, Any]:
    """What a container is made from; kept in a label to tell when the settings changed."""
    agent = run.agent
    return {
        "image": image,
        "command": run.settings.get_list("run.command") or _KEEP_ALIVE,
        "network": run.settings.get_str("run.network") or "default",
        "user": agent.user,
        "mounts": {
            agent.workspace_mount: str(run.workspace),
            agent.data_mount: run.volume,
        },
    }


def _check_same_spec(existing: ContainerInfo, spec: dict[str, Any]) -> None:
    if labels.SPEC not in existing.labels:
        return  # made by an older containai: nothing to compare with
    try:
        old = json.loads(existing.labels[labels.SPEC])
    except ValueError:
        old = {}
    changed = [key for key in spec if old.get(key) != spec[key]]
    if changed:
        what = ", ".join(
            f"{_SPEC_SETTINGS[key]} ({old.get(key)} -> {spec[key]})" for key in changed
        )
        raise ContainAIError(
            f"container {existing.name} was made with other settings: {what}; "
            f"'cai run --fresh' recreates it (the data volume is kept)"
        )


_SPEC_SETTINGS = {
    "image": "run.image",
    "command": "run.command",
    "network": "run.network",
    "user": "agent.uid/gid",
    "mounts": "the workspace or data volume",
}


def _create(run: Run[RunOptions], name: str, spec: dict[str, Any]) -> str:
    agent = run.agent
    agent_binds, agent_env = ssh_agent.forwarding(run, name)
    config = run.engine.image_config(spec["image"])
    paths = [e.partition("=")[2] for e in config.get("Env") or [] if e.startswith("PATH=")]
    # The agent's own bin folder (where the in-container `cai` is) comes first.
    path = f"{agent.home}/.local/bin:{paths[0] if paths else _DEFAULT_PATH}"
    starter = render.render(
        render.environment(run.project, run.user_dir),
        "start.sh.j2",
        version=__version__,
        data_mount=agent.data_mount,
        sync_script=sync_script(run),
    )
    return run.engine.create_container(
        name,
        spec["image"],
        entrypoint=["sh", "-c", starter, "containai-start"],
        command=spec["command"],
        user=agent.user,
        working_dir=agent.workspace_mount,
        environment={"HOME": agent.home, "PATH": path, **agent_env},
        labels={
            labels.MANAGED: "true",
            labels.WORKSPACE: str(run.workspace),
            labels.VOLUME: run.volume,
            labels.SPEC: json.dumps(spec, sort_keys=True),
        },
        binds={
            str(run.workspace): {"bind": agent.workspace_mount, "mode": "rw"},
            run.volume: {"bind": agent.data_mount, "mode": "rw"},
            **agent_binds,
        },
        network_mode=spec["network"],
        # An init as PID 1 reaps the agent's orphans and passes signals on (run.init).
        init=run.settings.get_bool("run.init"),
    )


def _check_still_running(run: Run[RunOptions], container_id: str) -> None:
    """The image's command might exit at once (bash without a terminal does): say so."""
    deadline = time.monotonic() + _GRACE
    while True:
        info = run.engine.container(container_id)
        if info is not None and info.state not in ("running", "created", "restarting"):
            # What the command said: the log after this start's sync.
            _, marker, after = run.engine.logs(container_id).rpartition(_SYNC_DONE)
            said = after.splitlines()[1:] if marker else after.splitlines()
            tail = " | ".join([line for line in said if line.strip()][-5:]) or "no output"
            raise ContainAIError(
                f"container {info.name} stopped right after it started (exit code "
                f"{info.exit_code}): {tail}"
            )
        if time.monotonic() >= deadline:
            return
        time.sleep(0.05)


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


@step()
def shell_container(run: Run[ShellOptions]) -> None:
    """`cai shell`: a shell (or `-- CMD`) in the workspace's container, as the agent."""
    if not run.options.command and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("cai shell needs a terminal, or a command after --")
    container = find_target(run)
    if container.state != "running":
        run.ui.note(f"starting {container.name}")
        run.engine.start(container.id)
    ssh_agent.ensure_relay(run, container)
    environment = {"HOME": run.agent.home}
    if ssh_agent.RELAY_MOUNT in run.engine.mount_sources(container.id):
        environment["SSH_AUTH_SOCK"] = ssh_agent.CONTAINER_SOCKET
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
    was = found.state
    if was == "running":
        run.engine.stop(found.id)
        run.ui.note(f"stopped {found.name}")
    else:
        run.ui.note(f"{found.name} is not running ({was})")
    run.ui.emit_json({"command": "stop", "container": found.name, "was": was})
