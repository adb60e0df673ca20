"""Issue 8 against a real engine: SSH agent forwarding, `cai shell`, and `cai run --reset`.

Containers run ``containai-test/busybox`` (user agent 1000:1000) with ``sleep 3600`` as their
command and no network. Every container and volume a test creates carries the label
``containai.workspace=<the test's workspace>`` (or is named after it) and is removed afterwards.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from containai import settings
from containai import workspaces as volumes
from containai.steps import ssh_agent as forwarding
from containai.steps.containers import container_name
from containai.steps.ssh_agent import CONTAINER_SOCKET, RELAY_MOUNT
from containai.ui import UI
from tests.support.engine import TEST_IMAGE, read_volume, volume_exists
from tests.support.files import write_files

pytestmark = pytest.mark.engine

AGENT_UID = 1000
AGENT_GID = 1000
WORKSPACE_MOUNT = "/home/agent/workspace"
DATA_MOUNT = "/home/agent/.containai/data"
CLIENT_SOURCE = Path(__file__).parent / "agentclient" / "agent_list.c"
CLIENT_IN_CONTAINER = "/tmp/agent_list"
SSH_TOOLS = ("ssh-agent", "ssh-keygen", "ssh-add")


def _unavailable(reason: str) -> None:
    """Skip outside CI; under CI=true a missing tool is a failure (CI must not pass by skipping)."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


# -- session-wide tools ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def ssh_tools() -> None:
    """Debian's openssh-client on the host (installed once if missing)."""
    if all(shutil.which(tool) for tool in SSH_TOOLS):
        return
    try:
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "openssh-client"],
            check=True,
            capture_output=True,
            timeout=600,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.SubprocessError) as error:
        _unavailable(f"openssh-client is missing and could not be installed: {error}")
    missing = [tool for tool in SSH_TOOLS if not shutil.which(tool)]
    if missing:
        _unavailable(f"openssh-client installed, but {', '.join(missing)} still missing")


@pytest.fixture(scope="session")
def agent_client(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """tests/engine/agentclient/agent_list.c built static: busybox has no ssh of its own."""
    if not shutil.which("gcc"):
        _unavailable("gcc is needed to build the SSH agent test client")
    output = tmp_path_factory.mktemp("agentclient") / "agent_list"
    built = subprocess.run(
        ["gcc", "-static", "-O2", "-Wall", "-o", str(output), str(CLIENT_SOURCE)],
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        _unavailable(f"cannot build a static agent client (glibc static libs?): {built.stderr}")
    return output.read_bytes()


# -- per-test workspace and cleanup ------------------------------------------------------------


@pytest.fixture
def workspace(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test's cwd as the workspace, with the busybox image; its containers and volumes go."""
    # isolated_env leaves these alone: keep containai's state file and locks in the fake HOME.
    for name in ("SSH_AUTH_SOCK", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CONTAINAI_RUN__IMAGE", TEST_IMAGE)
    monkeypatch.setenv("CONTAINAI_RUN__COMMAND", '["sleep", "3600"]')
    monkeypatch.setenv("CONTAINAI_RUN__NETWORK", "none")
    path = Path.cwd().resolve()
    try:
        yield path
    finally:
        _remove_workspace_objects(docker_client, path)


def _remove_workspace_objects(client: Any, path: Path) -> None:
    label = f"{volumes.LABEL_WORKSPACE}={path}"
    prefix = volumes.derived_name(path)
    for container in client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(Exception):
            container.remove(force=True)
    with contextlib.suppress(Exception):
        client.containers.get(container_name(path)).remove(force=True)
    names = {v.name for v in client.volumes.list(filters={"label": label})}
    names |= {v.name for v in client.volumes.list(filters={"name": prefix})}
    for name in sorted(names):
        if name == prefix or name.startswith(f"{prefix}-"):
            with contextlib.suppress(Exception):
                client.volumes.get(name).remove(force=True)


# -- SSH agent on the host ---------------------------------------------------------------------


@dataclass(frozen=True)
class HostAgent:
    socket: Path
    comment: str
    key: Path


@pytest.fixture
def ssh_agent(ssh_tools: None, isolated_env: Path) -> Iterator[HostAgent]:
    """A real ssh-agent holding one fresh ed25519 key (generated in the fake ~/.ssh)."""
    # ssh-agent refuses clients whose uid is neither 0 nor its own ("uid mismatch"), whatever
    # the socket's mode: a root agent with a 0666 socket still drops the container's uid-1000
    # client. So, when the test runs as root, the agent runs as the agent user (as on a usual
    # Linux desk, where the host user and the container user are both 1000). Its directory is
    # outside pytest's 0700 tmp tree so that uid 1000 can create the socket there.
    as_root = os.getuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="cai-ssh-"))
    if as_root:
        os.chown(directory, AGENT_UID, AGENT_GID)
    path = directory / "agent.sock"
    process = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=AGENT_UID if as_root else None,
        group=AGENT_GID if as_root else None,
        extra_groups=[] if as_root else None,
    )
    try:
        deadline = time.monotonic() + 10
        while not path.is_socket():
            assert process.poll() is None, "ssh-agent exited at once"
            assert time.monotonic() < deadline, "ssh-agent did not create its socket"
            time.sleep(0.05)
        comment = f"cai-test-{uuid.uuid4().hex[:12]}@host"
        key = isolated_env / ".ssh" / "id_ed25519"
        key.parent.mkdir(mode=0o700)
        subprocess.run(
            ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
            check=True,
            capture_output=True,
        )
        environment = {**os.environ, "SSH_AUTH_SOCK": str(path)}
        subprocess.run(["ssh-add", str(key)], check=True, capture_output=True, env=environment)
        listed = subprocess.run(
            ["ssh-add", "-l"], check=True, capture_output=True, text=True, env=environment
        )
        # "256 SHA256:... <comment> (ED25519)"
        lines = listed.stdout.splitlines()
        assert len(lines) == 1, listed.stdout
        shown = lines[0].split(" ", 2)[2].rsplit(" (", 1)[0]
        assert shown == comment, listed.stdout
        yield HostAgent(path, shown, key)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def listening_socket(tmp_path: Path) -> Iterator[Path]:
    """A live unix socket that is not an agent (enough for the forwarding decision)."""
    directory = Path(tempfile.mkdtemp(prefix="cai-sock-"))
    path = directory / "agent.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(str(path))
        server.listen(1)
        yield path
    finally:
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


# -- helpers -----------------------------------------------------------------------------------


def inspect(client: Any, workspace: Path) -> dict[str, Any]:
    attrs: dict[str, Any] = client.api.inspect_container(container_name(workspace))
    return attrs


def mount_targets(client: Any, workspace: Path) -> dict[str, dict[str, Any]]:
    return {m["Destination"]: m for m in inspect(client, workspace)["Mounts"]}


def copy_executable(client: Any, workspace: Path, data: bytes, target: str) -> None:
    """put_archive a 0755 file into the workspace's container."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(Path(target).name)
        info.size = len(data)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(data))
    assert client.api.put_archive(
        container_name(workspace), str(Path(target).parent), buffer.getvalue()
    )


def start(cai: Any, workspace: Path) -> None:
    result = cai("run", str(workspace))
    assert result.code == 0, result.err
    assert result.out.strip() == container_name(workspace)


def container_volume(client: Any, workspace: Path) -> str:
    label: str = inspect(client, workspace)["Config"]["Labels"][volumes.LABEL_VOLUME]
    return label


def dry_run_volume(cai: Any) -> str:
    result = cai("import", "--dry-run", "--json")
    assert result.code == 0, result.err
    name: str = json.loads(result.out)["volume"]["name"]
    return name


def assert_no_agent_in_the_shell(cai: Any, workspace: Path) -> None:
    shown = cai("shell", str(workspace), "--", "sh", "-c", 'echo "${SSH_AUTH_SOCK-unset}"')
    assert shown.code == 0, shown.err
    assert shown.out == "unset\n"


def agent_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "SSH" in line]


# -- 1. SSH agent forwarding --------------------------------------------------------------------


def test_forwarded_agent_lists_the_host_identities_and_no_key_is_copied(
    cai: Any,
    docker_client: Any,
    workspace: Path,
    ssh_agent: HostAgent,
    agent_client: bytes,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(ssh_agent.socket))
    write_files(isolated_env, {".bash_aliases": "alias ll='ls -l'\n"})
    start(cai, workspace)

    # The relay's directory (never a key, nor the host's socket) is mounted at the fixed path,
    # and the container's own command sees SSH_AUTH_SOCK there.
    attrs = inspect(docker_client, workspace)
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    relay = forwarding.relay_directory(container_name(workspace))
    assert mounts[RELAY_MOUNT]["Source"] == str(relay)
    assert str(ssh_agent.socket) not in {m["Source"] for m in attrs["Mounts"]}
    assert f"SSH_AUTH_SOCK={CONTAINER_SOCKET}" in attrs["Config"]["Env"]

    copy_executable(docker_client, workspace, agent_client, CLIENT_IN_CONTAINER)
    listed = cai("shell", str(workspace), "--", CLIENT_IN_CONTAINER)
    assert listed.code == 0, (
        f"the agent client failed in the container (ssh-agent drops clients whose uid is not "
        f"its own or 0): {listed.err}"
    )
    assert listed.out.splitlines() == ["keys 1", f"key {ssh_agent.comment}"]

    shown = cai("shell", str(workspace), "--", "sh", "-c", 'echo "$SSH_AUTH_SOCK"')
    assert shown.code == 0, shown.err
    assert shown.out == f"{CONTAINER_SOCKET}\n"

    # A hot-reload import of the fake HOME (which holds ~/.ssh/id_ed25519) copies no key either.
    imported = cai("import", str(workspace))
    assert imported.code == 0, imported.err

    key_name = ssh_agent.key.name
    search = (
        f"find / \\( -path /proc -o -path /sys \\) -prune -o -name '{key_name}*' -print; "
        "grep -rls 'PRIVATE KEY' /home/agent /tmp /run /root 2>/dev/null; true"
    )
    found = cai("shell", str(workspace), "--", "sh", "-c", search)
    assert found.code == 0, found.err
    assert found.out == "", f"key material in the container: {found.out}"

    nodes = read_volume(docker_client, container_volume(docker_client, workspace))
    assert ".bash_aliases" in nodes  # the import did write to this volume
    assert not [path for path in nodes if key_name in path]
    assert not [path for path, node in nodes.items() if b"PRIVATE KEY" in node.data]

    # After a stop, `cai shell` starts the container again and the agent is still reachable.
    assert cai("stop", str(workspace)).code == 0
    again = cai("shell", str(workspace), "--", CLIENT_IN_CONTAINER)
    assert again.code == 0, again.err
    assert again.out.splitlines() == ["keys 1", f"key {ssh_agent.comment}"]


def test_no_agent_on_the_host_is_a_one_line_note(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    result = cai("run", str(workspace))
    assert result.code == 0, result.err
    notes = agent_lines(result.err)
    assert len(notes) == 1, result.err
    assert "none forwarded" in notes[0] or "no SSH agent" in notes[0], notes
    assert "warning" not in notes[0] and "error" not in notes[0].lower()
    assert RELAY_MOUNT not in mount_targets(docker_client, workspace)

    assert_no_agent_in_the_shell(cai, workspace)


def test_forward_ssh_agent_false_mounts_nothing(
    cai: Any,
    docker_client: Any,
    workspace: Path,
    listening_socket: Path,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_files(
        isolated_env, {".config/containai/containai.toml": "[run]\nforward_ssh_agent = false\n"}
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", str(listening_socket))
    start(cai, workspace)

    attrs = inspect(docker_client, workspace)
    assert RELAY_MOUNT not in {m["Destination"] for m in attrs["Mounts"]}
    assert str(listening_socket) not in {m["Source"] for m in attrs["Mounts"]}
    assert not [e for e in attrs["Config"]["Env"] or [] if e.startswith("SSH_AUTH_SOCK=")]

    assert_no_agent_in_the_shell(cai, workspace)


def test_starting_again_after_the_agent_is_gone_leaves_the_host_path_alone(
    cai: Any,
    docker_client: Any,
    workspace: Path,
    listening_socket: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The socket is bound when the container is created. Agent sockets are per login
    # (/tmp/ssh-XXXX/agent.PID): once it is gone, a plain start of the stopped container makes
    # the engine create a root-owned *directory* at the old socket path on the host, and the
    # container gets that directory as its "agent".
    monkeypatch.setenv("SSH_AUTH_SOCK", str(listening_socket))
    start(cai, workspace)
    assert cai("stop", str(workspace)).code == 0
    listening_socket.unlink()
    monkeypatch.delenv("SSH_AUTH_SOCK")

    cai("shell", str(workspace), "--", "true")
    assert not listening_socket.is_dir(), (
        f"starting the stopped container created a directory at the old socket path "
        f"{listening_socket}"
    )


# A remote DOCKER_HOST cannot be reached here, so the decision is tested on its own.


def _run_of(workspace: Path) -> tuple[Any, io.StringIO]:
    err = io.StringIO()
    loaded = settings.load(workspace)
    agent = SimpleNamespace(uid=loaded.get_int("agent.uid"), gid=loaded.get_int("agent.gid"))
    run = SimpleNamespace(settings=loaded, ui=UI(err=err), agent=agent, options=SimpleNamespace())
    return run, err


def _forwarding(workspace: Path) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    run, err = _run_of(workspace)
    binds, environment = forwarding.forwarding(run, "the-container")
    return binds, environment, err.getvalue().splitlines()


@pytest.mark.parametrize(
    "host", ["tcp://example.invalid:2375", "ssh://agent@example.invalid", "tcp://10.0.0.1:2376"]
)
def test_a_remote_docker_host_gets_no_agent_and_says_so(
    workspace: Path, listening_socket: Path, monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(listening_socket))
    monkeypatch.setenv("DOCKER_HOST", host)
    binds, environment, notes = _forwarding(workspace)
    assert binds == {} and environment == {}
    assert len(notes) == 1, notes
    assert host in notes[0] and "cannot reach this machine's SSH agent" in notes[0]


@pytest.mark.parametrize("host", [None, "unix:///var/run/docker.sock"])
def test_a_local_docker_host_gets_the_relay_directory(
    workspace: Path, listening_socket: Path, monkeypatch: pytest.MonkeyPatch, host: str | None
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(listening_socket))
    if host is None:
        monkeypatch.delenv("DOCKER_HOST", raising=False)
    else:
        monkeypatch.setenv("DOCKER_HOST", host)
    binds, environment, notes = _forwarding(workspace)
    relay = forwarding.relay_directory("the-container")
    assert binds == {str(relay): {"bind": RELAY_MOUNT, "mode": "rw"}}
    assert relay.is_dir()
    assert environment == {"SSH_AUTH_SOCK": CONTAINER_SOCKET}
    assert notes == []


def test_a_stale_ssh_auth_sock_is_a_note(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSH_AUTH_SOCK", str(tmp_path / "gone.sock"))
    binds, environment, notes = _forwarding(workspace)
    assert binds == {} and environment == {}
    assert len(notes) == 1 and "no SSH agent" in notes[0], notes


def test_a_relative_ssh_auth_sock_is_relayed_by_its_absolute_path(
    workspace: Path, listening_socket: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `ssh-agent -a agent.sock` exports a relative SSH_AUTH_SOCK; the relay runs from /.
    monkeypatch.chdir(listening_socket.parent)
    monkeypatch.setenv("SSH_AUTH_SOCK", listening_socket.name)
    run, _ = _run_of(workspace)
    assert forwarding._host_agent(run) == str(listening_socket)


# -- 2. cai shell -----------------------------------------------------------------------------


@pytest.mark.core
def test_shell_returns_the_command_exit_code(cai: Any, workspace: Path) -> None:
    start(cai, workspace)
    result = cai("shell", str(workspace), "--", "sh", "-c", "exit 7")
    assert result.code == 7, result.err
    assert cai("shell", str(workspace), "--", "true").code == 0
    missing = cai("shell", str(workspace), "--", "no-such-command")
    assert missing.code not in (0, 1, 2), missing


@pytest.mark.core
def test_shell_runs_as_the_agent_in_the_workspace(cai: Any, workspace: Path) -> None:
    start(cai, workspace)
    result = cai("shell", str(workspace), "--", "sh", "-c", "echo hi; id -u; pwd; echo oops >&2")
    assert result.code == 0, result.err
    assert result.out == f"hi\n{AGENT_UID}\n{WORKSPACE_MOUNT}\n"
    assert "oops" in result.err and "oops" not in result.out

    # Words after `--` are the command, verbatim: neither cai tasks nor cai flags.
    words = cai("shell", str(workspace), "--", "echo", "run", "--reset", "a  b")
    assert words.code == 0, words.err
    assert words.out == "run --reset a  b\n"

    # The workspace is the current directory by default.
    here = cai("shell", "--", "sh", "-c", "echo $HOME; ls")
    assert here.code == 0, here.err
    assert here.out.splitlines()[0] == "/home/agent"


def test_shell_closes_its_engine_socket(cai: Any, workspace: Path) -> None:
    start(cai, workspace)
    gc.collect()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        result = cai("shell", str(workspace), "--", "echo", "hi")
        gc.collect()
    assert result.code == 0, result.err
    assert result.out == "hi\n"
    leaks = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
    assert not leaks, f"cai shell -- CMD leaves engine sockets open: {leaks}"


@pytest.mark.core
def test_shell_starts_a_stopped_container(cai: Any, docker_client: Any, workspace: Path) -> None:
    start(cai, workspace)
    stopped = cai("stop", str(workspace))
    assert stopped.code == 0, stopped.err
    assert inspect(docker_client, workspace)["State"]["Running"] is False

    result = cai("shell", str(workspace), "--", "sh", "-c", "echo started; id -u")
    assert result.code == 0, result.err
    assert result.out == f"started\n{AGENT_UID}\n"
    assert inspect(docker_client, workspace)["State"]["Running"] is True


def test_shell_without_a_container_points_to_cai_run(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    result = cai("shell", str(workspace), "--", "true")
    assert result.code != 0
    assert result.code == 1, result.err
    assert "cai run" in result.err and str(workspace) in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert not docker_client.containers.list(
        all=True, filters={"label": f"{volumes.LABEL_WORKSPACE}={workspace}"}
    )


def test_shell_without_a_command_or_terminal_is_a_usage_error(cai: Any, workspace: Path) -> None:
    start(cai, workspace)
    result = cai("shell", str(workspace))
    assert result.code == 2, result.err
    assert "terminal" in result.err and "--" in result.err
    assert result.out == ""


# -- 3. cai run --reset -----------------------------------------------------------------------


def test_reset_gives_the_workspace_a_new_volume_and_keeps_the_old(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    start(cai, workspace)
    old = container_volume(docker_client, workspace)
    assert old == volumes.derived_name(workspace)
    marked = cai("shell", "--", "sh", "-c", f"echo old > {DATA_MOUNT}/marker")
    assert marked.code == 0, marked.err
    assert dry_run_volume(cai) == old

    result = cai("run", str(workspace), "--reset")
    assert result.code == 0, result.err
    assert result.out.strip() == container_name(workspace)
    assert old in result.err

    new = container_volume(docker_client, workspace)
    assert new != old
    assert volumes.validate_name(new) == new
    assert new.startswith(f"{old}-")
    assert volume_exists(docker_client, old) and volume_exists(docker_client, new)
    assert "marker" in read_volume(docker_client, old)
    assert "marker" not in read_volume(docker_client, new)

    # Later commands for the same workspace use the new volume, and keep using it.
    assert dry_run_volume(cai) == new
    assert dry_run_volume(cai) == new
    again = cai("run", str(workspace))
    assert again.code == 0, again.err
    assert container_volume(docker_client, workspace) == new
    seen = cai("shell", "--", "sh", "-c", f"ls {DATA_MOUNT}")
    assert seen.code == 0, seen.err
    assert "marker" not in seen.out.split()
    assert volume_exists(docker_client, old)


def test_reset_with_data_volume_is_a_usage_error(
    cai: Any, docker_client: Any, workspace: Path, new_volume: Any, isolated_env: Path
) -> None:
    chosen = new_volume("reset")
    result = cai("run", str(workspace), "--reset", "--data-volume", chosen)
    assert result.code == 2, result.err
    assert "--reset" in result.err and "--data-volume" in result.err
    assert not volume_exists(docker_client, chosen)
    assert not docker_client.containers.list(
        all=True, filters={"label": f"{volumes.LABEL_WORKSPACE}={workspace}"}
    )
    assert not (isolated_env / ".local" / "state" / "containai" / "state.toml").exists()
    assert dry_run_volume(cai) == volumes.derived_name(workspace)


def test_reset_is_not_silently_overridden_by_a_configured_volume(
    cai: Any,
    docker_client: Any,
    workspace: Path,
    new_volume: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # CONTAINAI_DATA_VOLUME outranks containai's state file, where --reset records the new
    # volume. Either --reset refuses, as it does with --data-volume, or later commands use it.
    configured = new_volume("env")
    monkeypatch.setenv("CONTAINAI_DATA_VOLUME", configured)
    result = cai("run", str(workspace), "--reset")
    if result.code == 2:
        assert "CONTAINAI_DATA_VOLUME" in result.err or "data_volume" in result.err, result.err
        return
    assert result.code == 0, result.err
    new = container_volume(docker_client, workspace)
    assert dry_run_volume(cai) == new, (
        f"cai run --reset started the container on {new}, but later commands use {configured}"
    )
