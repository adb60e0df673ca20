"""Issue 19: the same containai on every engine the test bed runs (scripts/test --engines): the
local dockerd, Podman, a dockerd over TCP and that dockerd through sshd.

Every test here is ``core``: scripts/test runs it on each engine. The volume an engine ends up
with is compared file for file with the one the local dockerd (the reference) makes from the
same home; the cai shell transport tests run once per SSH transport on the ssh engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from containai.engine import Engine
from containai.steps.containers import container_name
from tests.support.engine import TEST_IMAGE
from tests.support.engines import archive_by_tar, over_ssh
from tests.support.files import write_files

pytestmark = [pytest.mark.engine, pytest.mark.core]

REFERENCE = "unix:///var/run/docker.sock"  # the local dockerd, which every engine must match
HOST_TIME = 1704164645  # 2024-01-02 03:04:05 UTC: the mtime of every host file
HOME_FILES = {
    ".gitconfig": "[user]\n\tname = Test User\n\temail = test@example.com\n",
    ".claude.json": '{"numStartups": 3}\n',  # a seed secret: 0600 in a 0700 root
    ".claude/settings.json": '{"model": "opus"}\n',
    ".claude/hooks/check.sh": "#!/bin/sh\nexit 0\n",  # executable: its mode travels
    ".claude/skills/one/SKILL.md": "one\n",
    ".config/gh/hosts.yml": "github.com:\n    user: test\n",  # a secret in a 0700 directory
}


def make_home(home: Path) -> None:
    write_files(home, HOME_FILES)
    (home / ".claude/hooks/check.sh").chmod(0o755)
    (home / ".claude/skills/one/link.md").symlink_to("SKILL.md")
    for path in [*HOME_FILES, ".claude/skills/one/link.md"]:
        os.utime(home / path, (HOST_TIME, HOST_TIME), follow_symlinks=False)


def import_json(cai: Any, *args: str) -> dict[str, Any]:
    result = cai("import", "--json", *args)
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def sequence(cai: Any, volume: str, restored: str, archive: Path) -> None:
    """import twice (the second sends nothing), export, verify, restore twice, --replace."""
    assert import_json(cai, "--data-volume", volume)["result"]["files_sent"] >= len(HOME_FILES)
    again = import_json(cai, "--data-volume", volume)["result"]
    assert (again["files_sent"], again["bytes_sent"]) == (0, 0), again
    assert cai("export", "--data-volume", volume, "-o", str(archive)).code == 0
    verified = cai("export", "--verify", str(archive))
    assert verified.code == 0 and "ok" in verified.out + verified.err, verified
    first = import_json(cai, "--from", str(archive), "--data-volume", restored)["result"]
    assert first["files_sent"] >= len(HOME_FILES), first
    second = import_json(cai, "--from", str(archive), "--data-volume", restored)["result"]
    assert second["files_sent"] == 0, second
    replaced = cai("import", "--from", str(archive), "--data-volume", restored, "--replace")
    assert replaced.code == 0, replaced.err


def listing(client: Any, volume: str, since: float) -> dict[str, tuple[Any, ...]]:
    """path -> (kind, mode, owner, mtime, link) as tar in a container sees them (real owners on
    every engine); an mtime containai set at import time (directories, placeholders, its own
    records) reads "now", a host file's keeps its value."""
    import io
    import tarfile

    found: dict[str, tuple[Any, ...]] = {}
    with tarfile.open(fileobj=io.BytesIO(archive_by_tar(client, volume))) as tar:
        for info in tar:
            name = info.name.removeprefix("./").rstrip("/") or "."
            kind = "dir" if info.isdir() else "symlink" if info.issym() else "file"
            mtime: Any = "now" if info.mtime >= int(since) - 1 else int(info.mtime)
            owner = f"{info.uid}:{info.gid}"
            found[name] = (kind, oct(info.mode & 0o7777), owner, mtime, info.linkname)
    return found


@dataclass
class Reference:
    client: Any
    volumes: list[str] = field(default_factory=list)  # removed after the test

    def new_volume(self) -> str:
        self.volumes.append(f"cai-test-ref-{uuid.uuid4().hex[:10]}")
        return self.volumes[-1]


@pytest.fixture
def reference() -> Iterator[Reference]:
    """The local dockerd, the reference engine (skipped when it is the engine under test)."""
    import docker

    if os.environ.get("DOCKER_HOST", REFERENCE) == REFERENCE:
        pytest.skip("the engine under test is the reference itself")
    try:
        client = docker.DockerClient(base_url=REFERENCE, timeout=120)
        client.ping()
    except Exception as error:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the reference dockerd ({REFERENCE}) is needed: {error}")
        pytest.skip(f"no reference dockerd: {error}")
    found = Reference(client)
    yield found
    for name in found.volumes:
        with contextlib.suppress(Exception):
            client.volumes.get(name).remove(force=True)
    client.close()


def test_every_step_gives_the_volume_the_reference_dockerd_gives_file_for_file(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    reference: Reference,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    make_home(isolated_env)
    monkeypatch.setenv("CONTAINAI_ENGINE__SHELL_IMAGE", TEST_IMAGE)
    since = time.time()
    here, here_restored = new_volume("here"), new_volume("here-restored")
    sequence(cai, here, here_restored, tmp_path / "here.tgz")

    monkeypatch.setenv("DOCKER_HOST", REFERENCE)
    there, there_restored = reference.new_volume(), reference.new_volume()
    sequence(cai, there, there_restored, tmp_path / "there.tgz")

    imported = listing(docker_client, here, since)
    assert imported == listing(reference.client, there, since)
    restored = listing(docker_client, here_restored, since)
    assert restored == listing(reference.client, there_restored, since)
    # ... and what that is: the agent's root, private secrets, the host's mtimes and modes.
    assert imported["."][:3] == ("dir", "0o700", "1000:1000")
    assert imported[".claude.json"][:4] == ("file", "0o600", "1000:1000", HOST_TIME)
    assert imported[".config/gh"][:3] == ("dir", "0o700", "1000:1000")
    assert imported[".claude/hooks/check.sh"][1] == "0o755"
    assert imported[".claude/skills/one/link.md"][::4] == ("symlink", "SKILL.md")


# -- cai shell, run, stop on every transport ---------------------------------------------------


@pytest.fixture(params=["sdk", "ssh-client"])
def transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How cai reaches the engine: the SDK's own transport, or (ssh engine only) this
    machine's ssh (engine.ssh_client = true)."""
    if request.param == "ssh-client":
        if not over_ssh():
            pytest.skip("only an ssh:// engine has a choice of transport")
        connect = Engine.connect.__func__  # type: ignore[attr-defined]

        def through_ssh(cls: type[Engine], timeout: int = 120, **_: Any) -> Engine:
            return connect(cls, timeout, ssh_client=True)  # type: ignore[no-any-return]

        # What engine.ssh_client = true selects (Engine.from_settings passes it on).
        monkeypatch.setattr(Engine, "connect", classmethod(through_ssh))
    return str(request.param)


@pytest.fixture
def workspace(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The test's cwd as a workspace whose container runs the busybox image (no network)."""
    monkeypatch.setenv("CONTAINAI_RUN__IMAGE", TEST_IMAGE)
    monkeypatch.setenv("CONTAINAI_RUN__COMMAND", '["sleep", "3600"]')
    monkeypatch.setenv("CONTAINAI_RUN__NETWORK", "none")
    path = Path.cwd().resolve()
    yield path
    for container in docker_client.containers.list(
        all=True, filters={"label": f"containai.workspace={path}"}
    ):
        with contextlib.suppress(Exception):
            container.remove(force=True)
    for volume in docker_client.volumes.list(filters={"label": f"containai.workspace={path}"}):
        with contextlib.suppress(Exception):
            volume.remove(force=True)


def test_run_shell_sync_and_stop_and_twenty_exit_codes(
    cai: Any, workspace: Path, docker_client: Any, transport: str
) -> None:
    write_files(Path(os.environ["HOME"]), {".gitconfig": "[user]\n\tname = T\n"})
    assert cai("import").code == 0
    started = cai("run", str(workspace))
    assert started.code == 0, started.err
    codes = [cai("shell", str(workspace), "--", "sh", "-c", "exit 6").code for _ in range(20)]
    assert codes == [6] * 20
    said = cai("shell", str(workspace), "--", "sh", "-c", "id -u; cat ~/.gitconfig")
    assert (said.code, said.out.splitlines()[0]) == (0, "1000"), said
    assert "name = T" in said.out
    synced = cai("sync", "--container", container_name(workspace))
    assert synced.code == 0, synced.err
    assert cai("stop", str(workspace)).code == 0
    state = docker_client.api.inspect_container(container_name(workspace))["State"]["Status"]
    assert state == "exited"


# cai as its own process on a terminal, with the transport of the ``transport`` fixture.
_LAUNCHER = """
import sys
from containai.engine.client import Engine
if sys.argv[1] == "ssh-client":
    connect = Engine.connect.__func__
    def through_ssh(cls, timeout=120, **_):
        return connect(cls, timeout, ssh_client=True)
    Engine.connect = classmethod(through_ssh)
from containai.cli import make_program
make_program().run(["cai", *sys.argv[2:]])
"""


class Terminal:
    """cai ARGS as its own process, a pseudo-terminal as its stdin and stdout. Waiting for
    output that never comes fails the test (a hung session) instead of hanging it."""

    def __init__(self, transport: str, *args: str, timeout: float = 120) -> None:
        self._leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, transport, *args],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            start_new_session=True,
        )
        os.close(follower)
        self.seen = bytearray()
        self._deadline = time.monotonic() + timeout

    def expect(self, wanted: bytes) -> None:
        """Read until ``wanted`` appears after what was already matched (b"" waits for EOF)."""
        start = len(self.seen)
        while not (wanted and wanted in self.seen[start:]):
            left = self._deadline - time.monotonic()
            assert left > 0, f"the session hung waiting for {wanted!r}: {bytes(self.seen)!r}"
            ready, _, _ = select.select([self._leader], [], [], min(left, 0.5))
            if not ready:
                continue
            try:
                chunk = os.read(self._leader, 65536)
            except OSError:  # EIO: the terminal's last writer is gone
                chunk = b""
            if not chunk:
                assert not wanted, f"the session ended before {wanted!r}: {bytes(self.seen)!r}"
                return
            self.seen += chunk

    def type(self, line: bytes) -> None:
        os.write(self._leader, line)

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            os.close(self._leader)


def test_an_interactive_shell_answers_and_returns_its_exit_code(
    cai: Any, workspace: Path, transport: str
) -> None:
    assert cai("run", str(workspace)).code == 0
    terminal = Terminal(transport, "shell", str(workspace))
    try:
        terminal.expect(b"$ ")  # the prompt: the session is up (typing earlier is flushed)
        terminal.type(b"echo $((6 * 7))\n")
        terminal.expect(b"42")
        terminal.type(b"exit 7\n")
        terminal.expect(b"")
    finally:
        code = terminal.close()
    assert code == 7, bytes(terminal.seen)


def test_cai_run_without_an_engine_init_names_the_setting_and_runs_with_it_off(
    cai: Any, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Against a Podman without catatonit (CAI_TEST_NOINIT_HOST, set by scripts/test)."""
    import docker

    host = os.environ.get("CAI_TEST_NOINIT_HOST")
    if not host:
        pytest.skip("no engine without an init here (CAI_TEST_NOINIT_HOST)")
    monkeypatch.setenv("DOCKER_HOST", host)
    client = docker.DockerClient(base_url=host, timeout=120)
    try:
        refused = cai("run", str(workspace))
        assert refused.code == 1
        assert "catatonit" in refused.err and "run.init = false" in refused.err, refused.err
        monkeypatch.setenv("CONTAINAI_RUN__INIT", "false")
        assert cai("run", str(workspace)).code == 0
        assert cai("shell", str(workspace), "--", "sh", "-c", "exit 6").code == 6
    finally:
        label = {"label": f"containai.workspace={workspace}"}
        for container in client.containers.list(all=True, filters=label):
            container.remove(force=True)
        for volume in client.volumes.list(filters=label):
            volume.remove(force=True)
        client.close()
