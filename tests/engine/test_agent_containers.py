"""Issues 14 and 15 on a realistic agent image: Debian with bash, git and ssh, and dotfiles of
its own (`containai-test/agent-debian`, built from Debian's archive by scripts/agent-image).

The imported configuration is what the agent sees; the container stays up; shell additions,
opted-in keys and git includes work; `cai sync` works inside; the SSH agent is relayed for a
host user (root here) whose uid is not the agent's.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import read_volume
from tests.support.files import write_files

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine_cleanup")]

DEBIAN_IMAGE = "containai-test/agent-debian:latest"


@pytest.fixture
def debian(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    import docker.errors

    try:
        docker_client.images.get(DEBIAN_IMAGE)
    except docker.errors.ImageNotFound:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{DEBIAN_IMAGE} is missing (scripts/docker-up builds it)")
        pytest.skip(f"{DEBIAN_IMAGE} is missing (run scripts/docker-up)")
    monkeypatch.setenv("CONTAINAI_RUN__IMAGE", DEBIAN_IMAGE)
    monkeypatch.setenv("CONTAINAI_RUN__NETWORK", "none")
    return DEBIAN_IMAGE


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = (tmp_path / "ws").resolve()
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def shell(cai: Any, *command: str) -> str:
    result = cai("shell", "--", *command)
    assert result.code == 0, result.out + result.err
    return str(result.out)


def volume_of(docker_client: Any, workspace: Path) -> str:
    found = docker_client.containers.list(
        all=True, filters={"label": f"containai.workspace={workspace}"}
    )
    assert len(found) == 1
    return str(found[0].labels["containai.data-volume"])


# -- the imported configuration is what the agent sees -----------------------------------------


def test_the_volume_wins_over_the_images_own_gitconfig(
    cai: Any, isolated_env: Path, workspace: Path, docker_client: Any, debian: str
) -> None:
    write_files(isolated_env, {".gitconfig": "[user]\n\tname = Host Person\n"})
    assert cai("import").code == 0
    assert cai("run").code == 0

    assert shell(cai, "git", "config", "user.name") == "Host Person\n"
    nodes = read_volume(docker_client, volume_of(docker_client, workspace))
    assert b"Image Default" in nodes[".containai/image-defaults/.gitconfig"].data
    assert b"Host Person" in nodes[".gitconfig"].data
    # Again after --fresh: the image's file never replaces the imported one.
    assert cai("run", "--fresh").code == 0
    assert shell(cai, "git", "config", "user.name") == "Host Person\n"
    assert cai("import").code == 0
    assert "conflict" not in cai("import", "-v").out


def test_git_identity_includes_are_inlined(
    cai: Any, isolated_env: Path, workspace: Path, debian: str
) -> None:
    write_files(
        isolated_env,
        {
            ".gitconfig": "[user]\n\tname = Host Person\n[include]\n\tpath = ~/.gitconfig.local\n"
            '[includeIf "gitdir:~/work/"]\n\tpath = ~/.gitconfig-work\n',
            ".gitconfig.local": "[user]\n\temail = host@example.com\n",
        },
    )
    result = cai("import", "-v")
    assert result.code == 0, result.err
    assert "dropped includeIf.gitdir:~/work/.path" in result.out + result.err
    assert cai("run").code == 0
    assert shell(cai, "git", "config", "user.email") == "host@example.com\n"


# -- the container stays up ---------------------------------------------------------------------


def test_run_keeps_the_container_up_although_the_images_command_is_bash(
    cai: Any, isolated_env: Path, workspace: Path, docker_client: Any, debian: str
) -> None:
    result = cai("run")
    assert result.code == 0, result.err
    time.sleep(1)
    container = docker_client.containers.get(result.out.strip())
    assert container.status == "running"
    assert shell(cai, "echo", "alive") == "alive\n"


def test_a_command_that_exits_at_once_is_an_error_with_its_code_and_words(
    cai: Any, workspace: Path, debian: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_RUN__COMMAND", '["sh", "-c", "echo boom; exit 3"]')
    result = cai("run")
    assert result.code == 1
    assert "exit code 3" in result.err and "boom" in result.err


def test_changed_settings_are_named_not_silently_restarted(
    cai: Any, workspace: Path, debian: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert cai("run").code == 0
    assert cai("stop").code == 0
    monkeypatch.setenv("CONTAINAI_RUN__COMMAND", '["sleep", "infinity"]')
    changed = cai("run")
    assert changed.code == 1
    assert "run.command" in changed.err and "cai run --fresh" in changed.err
    assert cai("run", "--fresh").code == 0


# -- shell additions, opted-in keys, the in-container cai ----------------------------------------


def test_shell_additions_are_sourced_by_interactive_bash_and_login_sh(
    cai: Any, isolated_env: Path, workspace: Path, debian: str
) -> None:
    write_files(
        isolated_env,
        {
            ".bashrc.d/acc.sh": "export ACC_VAR=from-bashrc-d\n",
            ".bashrc.d/secret.priv.sh": "export PRIV_VAR=leaked\n",
            ".bash_aliases": "alias hello='echo hi from aliases'\n",
        },
    )
    assert cai("import").code == 0
    assert cai("run").code == 0
    assert shell(cai, "bash", "-ic", "echo $ACC_VAR").splitlines()[-1] == "from-bashrc-d"
    assert shell(cai, "sh", "-lc", "echo $ACC_VAR").splitlines()[-1] == "from-bashrc-d"
    assert shell(cai, "bash", "-ic", "echo [$PRIV_VAR]").splitlines()[-1] == "[]"
    assert "hi from aliases" in shell(cai, "bash", "-ic", "hello")
    # Once only, however often the container starts.
    assert cai("run", "--fresh").code == 0
    count = shell(cai, "sh", "-c", "grep -c '>>> containai' ~/.bashrc")
    assert count.strip() == "1"


@pytest.fixture
def host_key(isolated_env: Path) -> str:
    key = isolated_env / ".ssh" / "id_ed25519"
    key.parent.mkdir(mode=0o700)
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "host-key", "-f", str(key)],
        check=True,
    )
    return (isolated_env / ".ssh" / "id_ed25519.pub").read_text().split()[1]


def test_an_opted_in_key_is_usable_by_the_agent(
    cai: Any, isolated_env: Path, workspace: Path, debian: str, host_key: str
) -> None:
    write_files(
        isolated_env,
        {".config/containai/containai.toml": '[import]\nadditional_paths = ["~/.ssh"]\n'},
    )
    assert cai("import").code == 0
    assert cai("run").code == 0
    public = shell(cai, "ssh-keygen", "-y", "-f", "/home/agent/.ssh/id_ed25519")
    assert public.split()[1] == host_key
    assert shell(cai, "stat", "-c", "%a %u", "/home/agent/.ssh/id_ed25519").strip() == "600 1000"


def test_cai_sync_runs_inside_the_container(
    cai: Any, isolated_env: Path, workspace: Path, docker_client: Any, debian: str
) -> None:
    assert cai("import").code == 0
    name = cai("run").out.strip()
    dry = cai("shell", "--", "cai", "sync", "--dry-run")
    assert dry.code == 0, dry.out + dry.err
    assert "linked" in dry.out or "unchanged" in dry.out
    # The agent creates a config the start-up sync had only linked: sync moves it in.
    container = docker_client.containers.get(name)
    code, _ = container.exec_run(
        ["sh", "-c", "rm ~/.aider.conf.yml; echo model: x > ~/.aider.conf.yml"],
        user="1000:1000",
        environment={"HOME": "/home/agent"},
    )
    assert code == 0
    moved = cai("shell", "--", "cai", "sync")
    assert moved.code == 0, moved.out + moved.err
    assert ".aider.conf.yml" in moved.out
    nodes = read_volume(docker_client, volume_of(docker_client, workspace))
    assert nodes[".aider.conf.yml"].data == b"model: x\n"
    other = cai("shell", "--", "cai", "import")
    assert other.code == 2 and "runs on the host" in other.out + other.err


# -- plugins, nested workspaces, no litter -----------------------------------------------------


def test_claude_plugin_records_point_at_the_agents_home(
    cai: Any, isolated_env: Path, workspace: Path, docker_client: Any, debian: str
) -> None:
    plugins = isolated_env / ".claude" / "plugins"
    records = {
        "installed_plugins.json": {
            "plugins": {"p@m": [{"installPath": f"{plugins}/cache/p", "version": "1"}]}
        },
        "known_marketplaces.json": {"m": {"installLocation": f"{plugins}/marketplaces/m"}},
    }
    write_files(plugins, {name: json.dumps(doc) for name, doc in records.items()})
    assert cai("import").code == 0
    assert cai("run").code == 0

    installed = json.loads(shell(cai, "cat", "/home/agent/.claude/plugins/installed_plugins.json"))
    assert installed["plugins"]["p@m"][0]["installPath"] == "/home/agent/.claude/plugins/cache/p"
    known = json.loads(shell(cai, "cat", "/home/agent/.claude/plugins/known_marketplaces.json"))
    assert known["m"]["installLocation"] == "/home/agent/.claude/plugins/marketplaces/m"
    # On the host, nothing changed.
    assert (
        json.loads((plugins / "installed_plugins.json").read_text())
        == records["installed_plugins.json"]
    )


def test_a_subdirectory_of_a_workspace_uses_that_workspace(
    cai: Any,
    isolated_env: Path,
    workspace: Path,
    docker_client: Any,
    debian: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert cai("import").code == 0
    volume = [
        v.name
        for v in docker_client.volumes.list(filters={"label": f"containai.workspace={workspace}"})
    ]
    sub = workspace / "src" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    write_files(isolated_env, {".claude/CLAUDE.md": "from the subdirectory\n"})

    result = cai("import", "--json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["volume"]["name"] == volume[0]
    assert read_volume(docker_client, volume[0])[".claude/CLAUDE.md"].data.startswith(b"from")


def test_an_export_after_run_holds_no_empty_file_the_import_did_not_write(
    cai: Any, isolated_env: Path, workspace: Path, tmp_path: Path, debian: str
) -> None:
    write_files(isolated_env, {".gitconfig": "[user]\n\tname = Host\n"})
    before = tmp_path / "before.tgz"
    assert cai("import").code == 0
    assert cai("export", "-o", str(before)).code == 0
    assert cai("run").code == 0
    after = tmp_path / "after.tgz"
    assert cai("export", "-o", str(after)).code == 0

    def empty_files(archive: Path) -> set[str]:
        with tarfile.open(archive) as tar:
            return {m.name for m in tar if m.isreg() and m.size == 0}

    assert empty_files(after) <= empty_files(before)


# -- the SSH agent relay (issue 15) ---------------------------------------------------------------


@pytest.fixture
def ssh_agent(isolated_env: Path, host_key: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    started = subprocess.run(["ssh-agent", "-s"], capture_output=True, text=True, check=True)
    values = dict(
        part.split("=", 1) for part in started.stdout.replace(";", "\n").split() if "=" in part
    )
    monkeypatch.setenv("SSH_AUTH_SOCK", values["SSH_AUTH_SOCK"])
    subprocess.run(["ssh-add", "-q", str(isolated_env / ".ssh" / "id_ed25519")], check=True)
    (isolated_env / ".ssh" / "id_ed25519").unlink()  # only the agent holds it now
    yield host_key
    subprocess.run(["kill", values["SSH_AGENT_PID"]], check=False)


def relays(docker_client: Any, name: str) -> list[str]:
    """The pids of the relays serving container ``name``."""
    container_id = docker_client.api.inspect_container(name)["Id"]
    found = subprocess.run(
        ["pgrep", "-f", f"containai.container.ssh_relay .* {container_id}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.split()


def gone(docker_client: Any, name: str, within: float = 5) -> bool:
    deadline = time.monotonic() + within
    while relays(docker_client, name):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_ssh_agent_is_relayed_to_a_container_of_another_uid(
    cai: Any, workspace: Path, docker_client: Any, debian: str, ssh_agent: str
) -> None:
    assert os.getuid() != 1000  # the case a bind mount of the socket cannot serve
    name = cai("run").out.strip()
    listed = shell(cai, "ssh-add", "-L")
    assert ssh_agent in listed
    volume = volume_of(docker_client, workspace)
    assert not any(
        b"PRIVATE KEY" in node.data for node in read_volume(docker_client, volume).values()
    )
    found = shell(cai, "sh", "-c", "grep -rls 'PRIVATE KEY' /home /tmp /run /etc || true")
    assert found.strip() == ""
    # Another uid in the container is refused.
    code, output = docker_client.containers.get(name).exec_run(
        ["ssh-add", "-l"],
        user="1234",
        environment={"SSH_AUTH_SOCK": "/run/containai/ssh/agent.sock"},
    )
    assert code != 0 and ssh_agent.encode() not in output


def test_the_relay_ends_with_its_container_and_comes_back_with_it(
    cai: Any, workspace: Path, docker_client: Any, debian: str, ssh_agent: str
) -> None:
    name = cai("run").out.strip()
    assert len(relays(docker_client, name)) == 1
    assert cai("stop").code == 0
    assert gone(docker_client, name), "the relay outlived its container by 5 s"
    assert cai("run").code == 0
    assert len(relays(docker_client, name)) == 1
    assert ssh_agent in shell(cai, "ssh-add", "-L")


def test_two_containers_have_two_relays_and_one_stops_alone(
    cai: Any, tmp_path: Path, docker_client: Any, debian: str, ssh_agent: str
) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    one = cai("run", str(first)).out.strip()
    two = cai("run", str(second)).out.strip()
    assert len(relays(docker_client, one)) == 1 and len(relays(docker_client, two)) == 1
    assert cai("stop", str(first)).code == 0
    assert gone(docker_client, one)
    assert len(relays(docker_client, two)) == 1
    listed = cai("shell", str(second), "--", "ssh-add", "-L")
    assert listed.code == 0 and ssh_agent in listed.out
