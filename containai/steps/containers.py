"""Steps around agent containers: find one, run one, sync configs into one, stop one."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
import time
from pathlib import Path

from containai import render
from containai import workspaces as volumes
from containai.container import sync_script as insync
from containai.engine.client import ContainerInfo
from containai.errors import ContainAIError, NotFoundError, UsageError
from containai.host import manifest
from containai.steps.volume import container_volume, lock_volume
from containai.workflow.run import Run

_KEEP_ALIVE = ["sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"]


# -- finding the workspace's container -----------------------------------------------------------


def find_container(run: Run, *, require_running: bool = True) -> None:
    """Hot reload: the container named by --container, or the one labelled with the workspace."""
    if not run.options.hot_reload:
        return
    if run.options.container and run.options.data_volume:
        raise UsageError("--container and --data-volume cannot be used together")
    container = _target_container(run)
    if require_running and container.state != "running":
        raise ContainAIError(
            f"container {container.name} is not running (state: {container.state}); hot reload "
            f"needs a running container. Use 'cai import --data-volume "
            f"{container.labels.get(volumes.LABEL_VOLUME, '<volume>')}' for a stopped one"
        )
    run.container = container
    run.volume = container_volume(run, container.id)


def _target_container(run: Run) -> ContainerInfo:
    engine = run.engine
    if run.options.container:
        found = engine.container(run.options.container)
        if found is None:
            raise NotFoundError(f"container {run.options.container} not found")
        if found.labels.get(volumes.LABEL_MANAGED) != "true":
            raise UsageError(f"container {found.name} is not managed by containai")
        return found
    matches = engine.containers_labelled({volumes.LABEL_WORKSPACE: str(run.workspace)})
    if not matches:
        raise NotFoundError(
            f"no containai container for workspace {run.workspace}; start one with "
            f"'cai run {shlex.quote(str(run.workspace))}'"
        )
    if len(matches) > 1:
        names = ", ".join(sorted(c.name for c in matches))
        raise UsageError(
            f"several containers belong to workspace {run.workspace} ({names}); "
            "choose one with --container"
        )
    return matches[0]


# -- the in-container sync ------------------------------------------------------------------


def sync_script(run: Run) -> str:
    loaded = manifest.load(run.workspace, user_config_dir=run.user_dir)
    for warning in loaded.warnings:
        run.ui.warn(warning)
    return insync.script(
        render.environment(run.workspace, run.user_dir),
        loaded.entries,
        data_mount=run.settings.get_str("agent.data_mount"),
        home=run.settings.get_str("agent.home"),
    )


def reload_container(run: Run) -> None:
    """After an import: link new entries in the running container (it is not restarted)."""
    if run.container is None:
        return
    if run.options.dry_run:
        run.ui.note(f"would reload configs into container {run.container.name}")
        return
    if run.exit_code:
        run.ui.warn(f"import failed; container {run.container.name} was not reloaded")
        return
    report = _exec_sync(run, run.container, dry_run=False)
    run.sync_report = report
    if report.exit_code:
        run.exit_code = 1


def sync_container(run: Run) -> None:
    """`cai sync --container NAME`: run the sync in that running container, as the agent."""
    assert run.options.container is not None
    container = _target_container(run)  # the same lookup and checks as hot reload
    if container.state != "running":
        raise ContainAIError(
            f"container {container.name} is not running (state: {container.state})"
        )
    run.container = container
    run.volume = container_volume(run, container.id)
    lock_volume(run)
    _report_sync(run, _exec_sync(run, container, dry_run=run.options.dry_run))


def sync_here(run: Run) -> None:
    """`cai sync` inside a container: run the same script with this machine's shell."""
    environment = {insync.DRY_RUN_VARIABLE: "1"} if run.options.dry_run else {}
    completed = subprocess.run(
        ["sh", "-c", sync_script(run)],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        check=False,
    )
    if completed.returncode == insync.NOT_MOUNTED_EXIT:
        raise ContainAIError(completed.stderr.strip() or "the data volume is not mounted here")
    _report_sync(run, insync.parse(completed.returncode, completed.stdout + completed.stderr))


def _exec_sync(run: Run, container: ContainerInfo, *, dry_run: bool) -> insync.SyncReport:
    uid, gid = run.settings.get_int("agent.uid"), run.settings.get_int("agent.gid")
    environment = {"HOME": run.settings.get_str("agent.home")}
    if dry_run:
        environment[insync.DRY_RUN_VARIABLE] = "1"
    code, output = run.engine.exec(
        container.id, ["sh", "-c", sync_script(run)], user=f"{uid}:{gid}", environment=environment
    )
    if code == insync.NOT_MOUNTED_EXIT:
        raise ContainAIError(f"container {container.name}: {output.strip()}")
    return insync.parse(code, output)


def _report_sync(run: Run, report: insync.SyncReport) -> None:
    if run.ui.json_output:
        run.ui.emit_json({"command": "sync", "dry_run": run.options.dry_run, **report.to_json()})
    else:
        for line in report.lines:
            if run.ui.verbose or line.action in ("moved", "failed", "skipped"):
                run.ui.line(f"{line.action:<10}~/{line.path}  ({line.detail})")
        prefix = "dry run: " if run.options.dry_run else ""
        if report.changed == 0 and not report.counts["failed"]:
            run.ui.line(f"{prefix}nothing to do: {_counts(report)}")
        else:
            run.ui.line(f"{prefix}{_counts(report)}")
    if report.exit_code:
        run.exit_code = 1


def _counts(report: insync.SyncReport) -> str:
    c = report.counts
    return (
        f"{c['moved']} moved, {c['linked']} linked, {c['unchanged']} already linked, "
        f"{c['skipped']} skipped, {c['failed']} failed"
    )


# -- cai run / cai stop ---------------------------------------------------------------------


def container_name(workspace: Path) -> str:
    return volumes.derived_name(workspace)


def run_container(
    run: Run, *, image: str | None = None, fresh: bool = False, detach: bool = False
) -> None:
    """Create (or start) the workspace's agent container, with the sync at start."""
    engine = run.engine
    image = image or run.options.image or run.settings.get_str("run.image")
    name = container_name(run.workspace)
    existing = engine.container(name)
    if existing is not None and (fresh or run.options.fresh or run.options.reset):
        engine.remove(existing.id)
        kept = existing.labels.get(volumes.LABEL_VOLUME, run.volume)
        run.ui.note(f"removed container {name} (volume {kept} kept)")
        existing = None
    if existing is not None:
        if existing.labels.get(volumes.LABEL_VOLUME) != run.volume:
            raise UsageError(
                f"container {name} uses volume {existing.labels.get(volumes.LABEL_VOLUME)}, "
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


def _create(run: Run, name: str, image: str) -> str:
    settings = run.settings
    agent_binds, agent_env = ssh_agent_forwarding(run)
    command = settings.get_list("run.command") or run.engine.image_command(image) or _KEEP_ALIVE
    # The sync runs first, as the agent; then the real command replaces the shell.
    starter = f'{sync_script(run)}\nexec "$@"\n'
    uid, gid = settings.get_int("agent.uid"), settings.get_int("agent.gid")
    return run.engine.create_container(
        name,
        image,
        entrypoint=["sh", "-c", starter, "containai-start"],
        command=command,
        user=f"{uid}:{gid}",
        working_dir=settings.get_str("agent.workspace_mount"),
        environment={"HOME": settings.get_str("agent.home"), **agent_env},
        labels={
            volumes.LABEL_MANAGED: "true",
            volumes.LABEL_WORKSPACE: str(run.workspace),
            volumes.LABEL_VOLUME: run.volume,
        },
        binds={
            str(run.workspace): {"bind": settings.get_str("agent.workspace_mount"), "mode": "rw"},
            run.volume: {"bind": settings.get_str("agent.data_mount"), "mode": "rw"},
            **agent_binds,
        },
        network_mode=settings.get_str("run.network") or "default",
    )


_SYNC_DONE = "containai-sync: done"


def _syncs_done(logs: str) -> int:
    return logs.count(_SYNC_DONE)


def _wait_for_sync(run: Run, container_id: str, syncs_before: int) -> None:
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


def ssh_agent_forwarding(run: Run) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
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


def _check_agent_socket(run: Run, container: ContainerInfo) -> None:
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


def reset_volume(run: Run) -> None:
    """`cai run --reset`: give the workspace a new, empty volume; the old one is kept."""
    if not run.options.reset:
        return
    if run.container is not None:
        raise UsageError(
            f"--reset cannot change the volume of the running container {run.container.name}: "
            "use 'cai run --reset' (it recreates the container)"
        )
    if run.options.data_volume:
        raise UsageError("--reset and --data-volume cannot be used together")
    origin = run.settings.origins.get("data_volume", "default")
    if origin.startswith(("environment", *run.settings.explicit_files)):
        # The new volume would be recorded below that setting and silently ignored later.
        raise UsageError(f"--reset cannot override data_volume set by {origin}")
    old = run.volume
    new = volumes.validate_name(
        f"{volumes.derived_name(run.workspace)}-{time.strftime('%Y%m%d%H%M%S')}"
        f"{os.urandom(2).hex()}"
    )
    run.volume = new
    if run.options.dry_run:
        run.ui.note(f"would give workspace {run.workspace} the new volume {new} ({old} is kept)")
        return
    volumes.record_volume(run.workspace, new)
    run.ui.note(
        f"workspace {run.workspace} now uses the new volume {new}; the old volume {old} is kept "
        f"(back it up with 'cai export --data-volume {old}', remove it with "
        f"'docker volume rm {old}')"
    )


def shell_container(run: Run) -> None:
    """`cai shell`: a shell (or `-- CMD`) in the workspace's container, as the agent."""
    if not run.options.command and not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("cai shell needs a terminal, or a command after --")
    container = _target_container(run)
    if container.state != "running":
        _check_agent_socket(run, container)
        run.ui.note(f"starting {container.name}")
        run.engine.start(container.id)
    settings = run.settings
    uid, gid = settings.get_int("agent.uid"), settings.get_int("agent.gid")
    environment = {"HOME": settings.get_str("agent.home")}
    if AGENT_SOCKET in run.engine.mount_sources(container.id):
        environment["SSH_AUTH_SOCK"] = AGENT_SOCKET
    user, workdir = f"{uid}:{gid}", settings.get_str("agent.workspace_mount")
    if run.options.command:
        run.exit_code = run.engine.exec_stream(
            container.id,
            list(run.options.command),
            user=user,
            workdir=workdir,
            environment=environment,
            out=sys.stdout.buffer,
            err=sys.stderr.buffer,
        )
        return
    run.exit_code = run.engine.exec_interactive(
        container.id, ["sh", "-l"], user=user, workdir=workdir, environment=environment
    )


def stop_container(run: Run) -> None:
    if run.options.container:
        found = run.engine.container(run.options.container)
    else:
        found = run.engine.container(container_name(run.workspace))
    if found is None or found.labels.get(volumes.LABEL_MANAGED) != "true":
        what = run.options.container or f"for workspace {run.workspace}"
        raise NotFoundError(f"no containai container {what}")
    if found.state == "running":
        run.engine.stop(found.id)
        run.ui.note(f"stopped {found.name}")
    else:
        run.ui.note(f"{found.name} is not running ({found.state})")
