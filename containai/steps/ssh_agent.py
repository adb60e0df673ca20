"""SSH agent forwarding for agent containers: a relay of the host user's (never a key).

``cai run`` mounts a directory of the relay's into the container and points ``SSH_AUTH_SOCK``
at the socket the relay makes there; ``cai run`` and ``cai shell`` start the relay
(container/ssh_relay.py) when it is not running. A remote engine cannot see this machine's
sockets: nothing is forwarded there.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
import time
from pathlib import Path

from containai import paths
from containai.container import ssh_relay
from containai.engine import ContainerInfo
from containai.engine.errors import endpoint
from containai.workflow.run import Options, Run

RELAY_MOUNT = "/run/containai/ssh"  # in the container
CONTAINER_SOCKET = f"{RELAY_MOUNT}/{ssh_relay.SOCKET}"


def forwarding(
    run: Run[Options], container: str
) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """The relay directory's mount and SSH_AUTH_SOCK for a new container, or nothing (with a
    note saying why) when no agent can be forwarded."""
    if not _wanted(run) or _host_agent(run) is None:
        return {}, {}
    directory = relay_directory(container)
    directory.mkdir(parents=True, exist_ok=True)
    if os.getuid() == 0:  # only the agent (and root) may enter
        os.chown(directory, run.agent.uid, run.agent.gid)
        os.chmod(directory, 0o700)
    elif os.getuid() == run.agent.uid:
        os.chmod(directory, 0o700)
    else:  # cannot give it away: anyone may enter, the relay checks every peer's uid
        os.chmod(directory, 0o711)
    mount = {str(directory): {"bind": RELAY_MOUNT, "mode": "rw"}}
    return mount, {"SSH_AUTH_SOCK": CONTAINER_SOCKET}


def ensure_relay(run: Run[Options], container: ContainerInfo) -> None:
    """Start the container's relay unless one runs (a stale socket is replaced)."""
    source = run.engine.mount_sources(container.id).get(RELAY_MOUNT)
    if source is None or not _wanted(run):
        return
    directory = Path(source)
    if ssh_relay.running(directory):
        return
    upstream = _host_agent(run)
    if upstream is None:
        return
    relay = [sys.executable, "-m", "containai.container.ssh_relay", str(directory)]
    _spawn(
        [*relay, container.id, "--upstream", upstream, "--allow", str(run.agent.uid)],
        log=directory / "relay.log",
    )
    deadline = time.monotonic() + 10
    while not (directory / ssh_relay.SOCKET).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run.ui.info(f"relaying the SSH agent at {upstream} into {container.name}")


def _spawn(command: list[str], *, log: Path) -> None:
    """Start ``command`` detached (a new session, reparented to init: it outlives this command
    but not its container), its output in ``log``. A double fork: nothing is left to reap."""
    child = os.fork()
    if child == 0:
        try:
            os.setsid()
            if os.fork() == 0:
                os.chdir("/")
                null = os.open(os.devnull, os.O_RDONLY)
                out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(null, 0)
                os.dup2(out, 1)
                os.dup2(out, 2)
                os.execv(command[0], command)
        finally:
            os._exit(0)
    os.waitpid(child, 0)


def relay_directory(container: str) -> Path:
    # (The relay binds its socket by a relative name: a long home is no problem.)
    name = hashlib.sha256(container.encode()).hexdigest()[:16]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    base = Path(runtime) / "containai" if runtime else paths.state_dir()
    return base / "ssh" / name


def _wanted(run: Run[Options]) -> bool:
    no_flag = getattr(run.options, "no_ssh_agent", False)
    return run.settings.get_bool("run.forward_ssh_agent") and not no_flag


def _host_agent(run: Run[Options]) -> str | None:
    """This machine's SSH agent socket when an agent can be forwarded, else None (noted)."""
    host = endpoint()  # DOCKER_HOST, else the Docker context's: either may name a remote engine
    if not host.startswith("unix://"):
        run.ui.note(f"the engine at {host} is remote and cannot reach this machine's SSH agent")
        return None
    socket_path = os.path.abspath(os.environ.get("SSH_AUTH_SOCK", "") or "/nonexistent")
    try:
        live = stat.S_ISSOCK(os.stat(socket_path).st_mode)
    except OSError:
        live = False
    if not live:
        run.ui.note("no SSH agent on this machine (SSH_AUTH_SOCK): none forwarded")
        return None
    return socket_path
