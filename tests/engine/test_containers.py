"""Agent containers against a real engine: `cai run`, hot-reload import, in-container sync.

The "Done when" list of issue 5. Every assertion reads real engine state: container inspect
data, commands executed in the container as the agent user, and the data volume's content.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from containai import render
from containai import workspaces as volumes
from containai.container import sync_script as insync
from containai.host import manifest
from containai.paths import user_config_dir
from tests.support.engine import TEST_IMAGE, in_volume, read_volume, volume_checksum
from tests.support.files import new_dir, trust, write_files

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("engine_cleanup", "agent_run_env")]

AGENT = "1000:1000"
HOME = "/home/agent"
DATA = "/home/agent/.containai/data"
WORKSPACE_MOUNT = "/home/agent/workspace"
LABEL_MANAGED = "containai.managed"
LABEL_WORKSPACE = "containai.workspace"
LABEL_VOLUME = "containai.data-volume"
SYNC_DONE = "containai-sync: done"
BULK_ENTRIES = 2000
STAMPED = re.compile(r"^\.containai/backups/[^/]+/(?P<path>.+)$")


# -- helpers -----------------------------------------------------------------------------------


def sentinel() -> str:
    return f"SENTINEL-{uuid.uuid4().hex}"


def gitconfig(home: Path, name: str) -> None:
    write_files(home, {".gitconfig": f"[user]\n\tname = {name}\n"})


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The workspace of the test's agent container (its real path)."""
    return new_dir(tmp_path / "ws").resolve()


def add_project_entry(workspace: Path) -> None:
    """A project manifest adding the file entry ~/.projtool.conf, trusted."""
    entry = '[[entries]]\ntool = "projtool"\nsource = ".projtool.conf"\nkind = "file"\n'
    write_files(workspace, {".containai/manifests/project.toml": entry})
    trust(workspace)


def sh_code(container: Any, script: str, user: str = AGENT) -> tuple[int, str]:
    """Run ``script`` in the container (as the agent unless told), with the agent's HOME: its
    exit code and output."""
    code, output = container.exec_run(["sh", "-c", script], user=user, environment={"HOME": HOME})
    return int(code), output.decode(errors="replace")


def sh(container: Any, script: str, user: str = AGENT) -> str:
    """The output of ``script``, which must succeed."""
    code, output = sh_code(container, script, user)
    assert code == 0, f"{script}: {output}"
    return output


def read_as_agent(container: Any, path: str) -> str:
    return sh(container, f"cat {path}")


def link_of(container: Any, path: str) -> str:
    """Where the symlink ``path`` in the container points (it must be a symlink)."""
    return sh(container, f"readlink {path}").strip()


def inspect(client: Any, name: str) -> dict[str, Any]:
    attrs: dict[str, Any] = client.api.inspect_container(name)
    return attrs


def start_agent(cai: Any, client: Any, workspace: Path, *args: str) -> Any:
    """`cai run WORKSPACE` → the running container it printed the name of."""
    result = cai("run", str(workspace), *args)
    assert result.code == 0, result.err
    name = result.out.strip()
    container = client.containers.get(name)
    assert container.status == "running"
    return container


def import_volume_only(cai: Any, workspace: Path) -> str:
    """`cai import` run in the workspace (no hot reload): returns the volume it wrote."""
    with contextlib.chdir(workspace):
        result = cai("import", "--json")
    assert result.code == 0, result.err
    name: str = json.loads(result.out)["volume"]["name"]
    return name


def containers_of(client: Any, workspace: Path) -> list[Any]:
    found: list[Any] = client.containers.list(
        all=True, filters={"label": f"{LABEL_WORKSPACE}={workspace}"}
    )
    return found


def sync_json(cai: Any, container: str, *args: str, code: int = 0) -> dict[str, Any]:
    result = cai("sync", "--container", container, "--json", *args)
    assert result.code == code, result.out + result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def entries(document: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {entry["path"]: entry for entry in document["entries"]}


def backups_of(nodes: dict[str, Any], path: str) -> list[bytes]:
    found = []
    for name, node in nodes.items():
        match = STAMPED.match(name)
        if match and match["path"] == path and node.kind == "file":
            found.append(node.data)
    return found


def rendered_script(workspace: Path) -> str:
    """The in-container sync script, rendered as `cai` renders it (default settings)."""
    user_dir = user_config_dir()
    project = trust(workspace)
    return insync.script(
        render.environment(project, user_dir),
        manifest.load(project, user_config_dir=user_dir).entries,
        data_mount=DATA,
        home=HOME,
    )


# -- cai run -----------------------------------------------------------------------------------


@pytest.mark.core
def test_run_creates_the_labelled_container_with_both_mounts_and_links_gitconfig(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    name = sentinel()
    gitconfig(isolated_env, name)
    volume = import_volume_only(cai, workspace)
    assert containers_of(docker_client, workspace) == []

    container = start_agent(cai, docker_client, workspace)

    [only] = containers_of(docker_client, workspace)
    assert only.id == container.id
    attrs = inspect(docker_client, container.id)
    assert attrs["Config"]["Labels"][LABEL_MANAGED] == "true"
    assert attrs["Config"]["Labels"][LABEL_WORKSPACE] == str(workspace)
    assert attrs["Config"]["Labels"][LABEL_VOLUME] == volume  # same workspace → same volume
    assert attrs["Config"]["User"] == AGENT
    assert attrs["HostConfig"]["NetworkMode"] == "none"
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert set(mounts) == {WORKSPACE_MOUNT, DATA}
    assert mounts[WORKSPACE_MOUNT]["Type"] == "bind"
    assert Path(mounts[WORKSPACE_MOUNT]["Source"]).resolve() == workspace
    assert mounts[WORKSPACE_MOUNT]["RW"] is True
    assert mounts[DATA]["Type"] == "volume"
    assert mounts[DATA]["Name"] == volume
    assert mounts[DATA]["RW"] is True

    # The container's processes run as the agent (exec without a user takes the container's).
    code, ids = container.exec_run(["sh", "-c", "id -u; id -g"])
    assert (code, ids.decode().split()) == (0, ["1000", "1000"])
    # The workspace is really the host directory.
    (workspace / "marker.txt").write_text("from the host\n")
    assert read_as_agent(container, f"{WORKSPACE_MOUNT}/marker.txt") == "from the host\n"

    assert link_of(container, "~/.gitconfig") == f"{DATA}/.gitconfig"
    assert f"name = {name}" in read_as_agent(container, "~/.gitconfig")
    assert f"name = {name}".encode() in read_volume(docker_client, volume)[".gitconfig"].data


def test_run_without_the_image_fails_clearly(cai: Any, docker_client: Any, workspace: Path) -> None:
    missing = f"containai-test/missing-{uuid.uuid4().hex[:8]}:latest"
    result = cai("run", str(workspace), "--image", missing)
    assert result.code == 1
    assert missing in result.err
    assert "cannot be pulled" in result.err
    assert containers_of(docker_client, workspace) == []


@pytest.mark.core
def test_run_fresh_recreates_the_container_on_the_same_volume(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    first = start_agent(cai, docker_client, workspace)
    volume = first.labels[LABEL_VOLUME]
    text = sentinel()
    # A real directory created in the container (where the start-up sync left a link).
    sh(first, f"rm ~/.cursor/rules && mkdir ~/.cursor/rules && echo {text} > ~/.cursor/rules/x.md")
    assert sync_json(cai, first.name)["counts"]["moved"] == 1
    assert read_volume(docker_client, volume)[".cursor/rules/x.md"].data == f"{text}\n".encode()

    second = start_agent(cai, docker_client, workspace, "--fresh")

    assert second.id != first.id
    assert second.name == first.name
    assert [c.id for c in containers_of(docker_client, workspace)] == [second.id]
    assert second.labels[LABEL_VOLUME] == volume
    assert link_of(second, "~/.cursor/rules") == f"{DATA}/.cursor/rules"
    assert read_as_agent(second, "~/.cursor/rules/x.md") == f"{text}\n"


def test_run_starts_an_existing_container_and_waits_for_its_start_up_sync(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    """`cai run` on a stopped container starts the same container and, as on creation, returns
    only once the start-up sync of *this* start has finished. Many manifest entries make that
    sync take long enough (about a second) to tell waiting from not waiting."""
    bulk = "".join(
        f'[[entries]]\ntool = "bulk"\nsource = ".bulk/f{i:04}"\nkind = "file"\noptional = true\n\n'
        for i in range(BULK_ENTRIES)
    )
    write_files(isolated_env, {".config/containai/manifests/bulk.toml": bulk})
    container = start_agent(cai, docker_client, workspace)
    last = f"~/.bulk/f{BULK_ENTRIES - 1:04}"
    assert container.logs().decode().count(SYNC_DONE) == 1

    again = start_agent(cai, docker_client, workspace)  # already running: nothing happens
    assert again.id == container.id
    assert container.logs().decode().count(SYNC_DONE) == 1

    # A real file at a link path, created in the container; the next start-up sync moves it.
    sh(container, f"rm {last} && echo mine > {last}")
    stopped = cai("stop", str(workspace), "--json")
    assert stopped.code == 0, stopped.err
    assert json.loads(stopped.out) == {
        "version": 1,
        "command": "stop",
        "container": container.name,
        "was": "running",
    }
    assert inspect(docker_client, container.id)["State"]["Running"] is False

    restarted = start_agent(cai, docker_client, workspace)
    document = json.loads(cai("run", str(workspace), "--json").out)  # running: nothing to do

    assert (document["command"], document["container"]) == ("run", container.name)
    assert restarted.id == container.id
    assert [c.id for c in containers_of(docker_client, workspace)] == [container.id]
    finished = restarted.logs().decode().count(SYNC_DONE)
    assert finished == 2, "cai run returned before the restart's start-up sync had finished"
    assert link_of(restarted, last) == f"{DATA}/.bulk/f{BULK_ENTRIES - 1:04}"
    assert read_as_agent(restarted, last) == "mine\n"


# -- hot-reload import ---------------------------------------------------------------------------


@pytest.mark.core
def test_hot_reload_import_shows_the_new_content_without_a_restart(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    old, new = sentinel(), sentinel()
    gitconfig(isolated_env, old)
    import_volume_only(cai, workspace)
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    assert f"name = {old}" in read_as_agent(container, "~/.gitconfig")
    started = inspect(docker_client, container.id)["State"]["StartedAt"]

    gitconfig(isolated_env, new)
    before = volume_checksum(docker_client, volume)
    dry = cai("import", str(workspace), "--dry-run")
    assert dry.code == 0, dry.err
    assert f"would reload configs into container {container.name}" in dry.out + dry.err
    assert volume_checksum(docker_client, volume) == before
    assert f"name = {old}" in read_as_agent(container, "~/.gitconfig")

    result = cai("import", str(workspace))

    assert result.code == 0, result.err
    content = read_as_agent(container, "~/.gitconfig")
    assert f"name = {new}" in content
    assert old not in content
    after = inspect(docker_client, container.id)
    assert after["State"]["Status"] == "running"
    assert after["State"]["StartedAt"] == started
    assert after["RestartCount"] == 0


def test_hot_reload_links_an_entry_added_since_the_start(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    """A manifest entry added by the user after `cai run` appears in the running container."""
    container = start_agent(cai, docker_client, workspace)
    assert sh_code(container, "test -e ~/.mytool.conf || test -L ~/.mytool.conf")[0] != 0
    text = sentinel()
    write_files(
        isolated_env,
        {
            ".mytool.conf": f"{text}\n",
            ".config/containai/manifests/mytool.toml": (
                '[[entries]]\ntool = "mytool"\nsource = ".mytool.conf"\nkind = "file"\n'
            ),
        },
    )

    result = cai("import", str(workspace))

    assert result.code == 0, result.err
    assert link_of(container, "~/.mytool.conf") == f"{DATA}/.mytool.conf"
    assert read_as_agent(container, "~/.mytool.conf") == f"{text}\n"


def test_hot_reload_by_container_name_and_by_a_relative_workspace(
    cai: Any,
    docker_client: Any,
    isolated_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    workspace: Path,
) -> None:
    container = start_agent(cai, docker_client, workspace)
    started = inspect(docker_client, container.id)["State"]["StartedAt"]

    by_name = sentinel()
    gitconfig(isolated_env, by_name)
    result = cai("import", "--container", container.name)
    assert result.code == 0, result.err
    assert f"name = {by_name}" in read_as_agent(container, "~/.gitconfig")

    relative = sentinel()
    gitconfig(isolated_env, relative)
    monkeypatch.chdir(workspace)
    result = cai("import", ".")
    assert result.code == 0, result.err
    assert f"name = {relative}" in read_as_agent(container, "~/.gitconfig")
    assert inspect(docker_client, container.id)["State"]["StartedAt"] == started


def test_hot_reload_by_container_name_uses_the_containers_workspace(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    """`cai import --container NAME` from another directory imports what `cai import WORKSPACE`
    would: the project manifests of the container's workspace (its label) included."""
    add_project_entry(workspace)
    container = start_agent(cai, docker_client, workspace)
    text = sentinel()
    write_files(isolated_env, {".projtool.conf": f"{text}\n"})

    result = cai("import", "--container", container.name)  # from the test's cwd

    assert result.code == 0, result.err
    volume = container.labels[LABEL_VOLUME]
    assert read_volume(docker_client, volume)[".projtool.conf"].data == f"{text}\n".encode()
    assert read_as_agent(container, "~/.projtool.conf") == f"{text}\n"


def test_hot_reload_with_several_containers_for_the_workspace_asks_for_one(
    cai: Any, docker_client: Any, isolated_env: Path, plain_container: Any, workspace: Path
) -> None:
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    other = plain_container(
        labels={LABEL_MANAGED: "true", LABEL_WORKSPACE: str(workspace), LABEL_VOLUME: volume},
        volumes={volume: {"bind": DATA, "mode": "rw"}},
    )
    gitconfig(isolated_env, sentinel())
    before = volume_checksum(docker_client, volume)

    result = cai("import", str(workspace))

    assert result.code == 2
    assert container.name in result.err
    assert other.name in result.err
    assert "--container" in result.err
    assert volume_checksum(docker_client, volume) == before


def test_credentials_stay_isolated_in_the_container_across_hot_reloads(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    """The host's login token never reaches the container; the container's own login (written
    through the link into its 0600 placeholder) survives a hot-reload import."""
    host_token, container_token = sentinel(), sentinel()
    write_files(isolated_env, {".claude/.credentials.json": f'{{"token": "{host_token}"}}\n'})
    volume = import_volume_only(cai, workspace)
    container = start_agent(cai, docker_client, workspace)
    credentials = "~/.claude/.credentials.json"
    assert link_of(container, credentials) == f"{DATA}/.claude/.credentials.json"
    assert read_as_agent(container, credentials) == ""
    node = read_volume(docker_client, volume)[".claude/.credentials.json"]
    assert (node.kind, node.mode, node.uid, node.gid) == ("file", 0o600, 1000, 1000)

    sh(container, f"echo {container_token} > {credentials}")  # the agent logs in
    gitconfig(isolated_env, sentinel())
    result = cai("import", str(workspace))

    assert result.code == 0, result.err
    assert read_as_agent(container, credentials) == f"{container_token}\n"
    nodes = read_volume(docker_client, volume)
    assert nodes[".claude/.credentials.json"].data == f"{container_token}\n".encode()
    assert nodes[".claude/.credentials.json"].mode == 0o600
    assert not [path for path, n in nodes.items() if host_token.encode() in n.data]


def test_import_into_a_stopped_container_is_refused_and_changes_nothing(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    gitconfig(isolated_env, sentinel())
    import_volume_only(cai, workspace)
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    stopped = cai("stop", str(workspace))
    assert stopped.code == 0, stopped.err
    assert inspect(docker_client, container.id)["State"]["Running"] is False
    gitconfig(isolated_env, sentinel())  # something that an import would write
    before = volume_checksum(docker_client, volume)

    for extra in ([], ["--dry-run"]):
        result = cai("import", str(workspace), *extra)

        assert result.code == 1, (extra, result.out, result.err)
        message = result.err.strip()
        assert len(message.splitlines()) == 1, message
        assert "running" in message
        assert f"cai import --data-volume {volume}" in message
        assert result.out == ""
        assert volume_checksum(docker_client, volume) == before
        assert inspect(docker_client, container.id)["State"]["Running"] is False

    sync = cai("sync", "--container", container.name)
    assert sync.code == 1
    assert "not running" in sync.err
    assert volume_checksum(docker_client, volume) == before


def test_import_without_a_container_suggests_cai_run(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    gitconfig(isolated_env, sentinel())

    result = cai("import", str(workspace))

    assert result.code != 0
    assert "cai run" in result.err
    assert str(workspace) in result.err
    derived = volumes.derived_name(workspace)
    assert docker_client.volumes.list(filters={"name": derived}) == []

    missing = f"cai-test-missing-{uuid.uuid4().hex[:8]}"
    result = cai("import", "--container", missing)
    assert result.code == 1
    assert f"container {missing} not found" in result.err
    stop = cai("stop", str(workspace))
    assert stop.code == 1
    assert "no containai container" in stop.err


def test_import_into_a_container_not_managed_by_containai_is_a_usage_error(
    cai: Any, docker_client: Any, plain_container: Any
) -> None:
    other = plain_container()

    result = cai("import", "--container", other.name)

    assert result.code == 2
    assert "not managed by containai" in result.err
    assert other.name in result.err
    sync = cai("sync", "--container", other.name)
    assert sync.code == 2
    assert "not managed by containai" in sync.err


# -- cai sync --container: the compose agent -----------------------------------------------------


def test_compose_agent_sync_moves_a_real_dir_into_the_volume_and_links_it(
    cai: Any, docker_client: Any, compose_agent: Any, compose_volume: str
) -> None:
    attrs = inspect(docker_client, compose_agent.id)
    assert attrs["Config"]["Labels"][LABEL_VOLUME] == compose_volume
    assert attrs["Config"]["User"] == AGENT
    assert any(
        m["Type"] == "volume" and m["Name"] == compose_volume and m["Destination"] == DATA
        for m in attrs["Mounts"]
    )
    # cai import gave the volume root to the agent
    assert sh(compose_agent, f"stat -c %u:%g {DATA}").strip() == AGENT
    # The compose container ran no start-up sync: ~/.cursor must not exist yet.
    sh(compose_agent, "test ! -e ~/.cursor && test ! -L ~/.cursor")
    text = sentinel()
    sh(compose_agent, f"mkdir -p ~/.cursor/rules && echo {text} > ~/.cursor/rules/x.md")

    first = cai("sync", "--container", compose_agent.name)

    assert first.code == 0, first.out + first.err
    assert re.search(r"^moved\s+~/\.cursor/rules\s", first.out, re.MULTILINE), first.out
    nodes = read_volume(docker_client, compose_volume)
    assert nodes[".cursor/rules"].kind == "dir"
    assert nodes[".cursor/rules/x.md"].data == f"{text}\n".encode()
    # The sync ran as the agent: everything in the volume, and the new links, are the agent's.
    assert {(node.uid, node.gid) for node in nodes.values()} == {(1000, 1000)}
    assert set(sh(compose_agent, "stat -c %u:%g ~/.gitconfig ~/.cursor/rules").split()) == {AGENT}
    assert link_of(compose_agent, "~/.cursor/rules") == f"{DATA}/.cursor/rules"
    assert read_as_agent(compose_agent, "~/.cursor/rules/x.md") == f"{text}\n"
    # Every other entry is linked too.
    assert link_of(compose_agent, "~/.gitconfig") == f"{DATA}/.gitconfig"

    before = volume_checksum(docker_client, compose_volume)
    second = cai("sync", "--container", compose_agent.name)
    assert second.code == 0, second.out + second.err
    assert "nothing to do" in second.out
    assert volume_checksum(docker_client, compose_volume) == before

    document = sync_json(cai, compose_agent.name)
    assert document["command"] == "sync"
    assert document["exit_code"] == 0
    counts = document["counts"]
    assert set(counts) == {"moved", "linked", "unchanged", "skipped", "failed"}
    assert (counts["moved"], counts["linked"], counts["failed"]) == (0, 0, 0)
    assert counts["unchanged"] > 0
    assert volume_checksum(docker_client, compose_volume) == before


def test_sync_container_uses_the_manifests_of_the_containers_workspace(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    """`cai sync --container` runs the same sync as the container's start-up: with the project
    manifests of the container's workspace (its label), wherever it is run from."""
    add_project_entry(workspace)
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    # The start-up sync linked it.
    assert link_of(container, "~/.projtool.conf") == f"{DATA}/.projtool.conf"
    text = sentinel()
    sh(container, f"rm ~/.projtool.conf && echo {text} > ~/.projtool.conf")

    document = sync_json(cai, container.name)  # from the test's cwd, not the workspace

    assert entries(document).get(".projtool.conf", {}).get("action") == "moved", document
    assert read_volume(docker_client, volume)[".projtool.conf"].data == f"{text}\n".encode()
    assert link_of(container, "~/.projtool.conf") == f"{DATA}/.projtool.conf"


def test_sync_container_uses_the_settings_of_the_containers_workspace(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    """The workspace's settings move the data mount; `cai run` mounts the volume there, and
    `cai sync --container` from another directory must sync against that same mount."""
    mount = "/home/agent/.cai-data"
    section = f'[workspace."{workspace}".agent]\ndata_mount = "{mount}"\n'
    write_files(isolated_env, {".config/containai/containai.toml": section})
    container = start_agent(cai, docker_client, workspace)
    assert mount in {m["Destination"] for m in inspect(docker_client, container.id)["Mounts"]}
    assert link_of(container, "~/.gitconfig") == f"{mount}/.gitconfig"

    result = cai("sync", "--container", container.name)  # from the test's cwd

    assert result.code == 0, result.err
    assert "nothing to do" in result.out


# -- in-container sync without the data mount ------------------------------------------------------


def test_sync_script_refuses_to_run_where_the_data_mount_is_not_a_mount(
    docker_client: Any, plain_container: Any, workspace: Path
) -> None:
    script = rendered_script(workspace)
    container = plain_container()
    # The data directory exists but is a plain directory of the container.
    sh(container, f"mkdir -p {DATA} && chown -R 1000:1000 {HOME}", user="0:0")

    code, output = container.exec_run(
        ["sh", "-c", script], user=AGENT, environment={"HOME": HOME}, demux=True
    )

    stdout, stderr = (part.decode() if part else "" for part in output)
    assert code == insync.NOT_MOUNTED_EXIT
    assert "not a mounted volume" in stderr
    assert DATA in stderr
    assert stdout == ""
    assert sh(container, "ls -A ~").split() == [".containai"]  # nothing linked, nothing created
    assert sh(container, f"ls -A {DATA}").strip() == ""


def test_sync_script_refuses_in_a_container_without_the_data_dir(
    docker_client: Any, workspace: Path
) -> None:
    import docker.errors

    script = rendered_script(workspace)
    with pytest.raises(docker.errors.ContainerError) as refused:
        docker_client.containers.run(
            TEST_IMAGE,
            ["sh", "-c", script],
            user=AGENT,
            environment={"HOME": HOME},
            remove=True,
            network_mode="none",
        )
    assert refused.value.exit_status == insync.NOT_MOUNTED_EXIT
    assert b"not a mounted volume" in refused.value.stderr


def test_cai_sync_container_without_the_data_mount_exits_1(
    cai: Any, plain_container: Any, workspace: Path
) -> None:
    container = plain_container(
        labels={
            LABEL_MANAGED: "true",
            LABEL_WORKSPACE: str(workspace),
            LABEL_VOLUME: f"cai-test-unmounted-{uuid.uuid4().hex[:8]}",
        },
        user=AGENT,
        environment={"HOME": HOME},
    )

    result = cai("sync", "--container", container.name)

    assert result.code == 1
    assert "not a mounted volume" in result.err
    assert container.name in result.err
    assert sh(container, "ls -A ~").strip() == ""


def test_cai_sync_on_a_host_without_the_data_mount_refuses_and_links_nothing(
    cai: Any, isolated_env: Path
) -> None:
    """`cai sync` (the in-container form) run where the data mount is not mounted, e.g. on the
    developer's machine: refused before it touches $HOME."""
    write_files(isolated_env, {".gitconfig": "[user]\n"})
    before = sorted(str(p.relative_to(isolated_env)) for p in isolated_env.rglob("*"))

    for extra in ([], ["--dry-run"], ["--json"]):
        result = cai("sync", *extra)

        assert result.code == 1, (extra, result.out, result.err)
        assert "not a mounted volume" in result.err
        assert len(result.err.strip().splitlines()) == 1
        assert sorted(str(p.relative_to(isolated_env)) for p in isolated_env.rglob("*")) == before
        assert not (isolated_env / ".gitconfig").is_symlink()


# -- sync conflict rules -------------------------------------------------------------------------


@pytest.mark.core
def test_sync_conflicts_backup_merge_type_errors_and_foreign_links(
    cai: Any, docker_client: Any, isolated_env: Path, workspace: Path
) -> None:
    volume_git, container_git = sentinel(), sentinel()
    gitconfig(isolated_env, volume_git)
    write_files(
        isolated_env,
        {
            ".config/nvim/init.lua": "-- host init\n",
            ".config/nvim/same.lua": "-- host same\n",
        },
    )
    import_volume_only(cai, workspace)
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    # The volume holds a directory where the manifest has the file ~/.vimrc.
    in_volume(docker_client, volume, "rm -f /v/.vimrc && mkdir /v/.vimrc && chown 1000 /v/.vimrc")
    sh(
        container,
        "set -e\n"
        # file + file: the container's copy must win, the volume's be kept as a backup
        f"rm ~/.gitconfig && printf '[user]\\n\\tname = {container_git}\\n' > ~/.gitconfig\n"
        # dir + dir: merged, the container's files win
        "rm ~/.config/nvim && mkdir ~/.config/nvim\n"
        "echo '-- container same' > ~/.config/nvim/same.lua\n"
        "echo '-- container only' > ~/.config/nvim/extra.lua\n"
        # a real file where the volume has a directory: that entry fails
        "rm ~/.vimrc && echo 'set nocompatible' > ~/.vimrc\n"
        # a real file where the manifest has a directory: that entry fails
        "rm ~/.cursor/rules && echo 'not a dir' > ~/.cursor/rules\n"
        # a symlink elsewhere: left alone
        "rm ~/.vim && ln -s /tmp ~/.vim\n",
    )

    before = volume_checksum(docker_client, volume)
    dry = sync_json(cai, container.name, "--dry-run", code=1)
    assert dry["dry_run"] is True
    assert {e["path"]: e["action"] for e in dry["entries"]}[".gitconfig"] == "moved"
    assert volume_checksum(docker_client, volume) == before
    # The dry run changed nothing in the container either.
    sh(container, "test ! -L ~/.gitconfig && test ! -L ~/.config/nvim")

    document = sync_json(cai, container.name, code=1)

    assert document["exit_code"] == 1
    assert document["dry_run"] is False
    got = entries(document)
    assert got[".gitconfig"]["action"] == "moved"
    assert got[".config/nvim"]["action"] == "moved"
    assert got[".vimrc"]["action"] == "failed"
    assert got[".cursor/rules"]["action"] == "failed"
    assert got[".vim"]["action"] == "skipped"
    counts = document["counts"]
    assert (counts["moved"], counts["failed"], counts["skipped"]) == (2, 2, 1)

    nodes = read_volume(docker_client, volume)
    # file + file
    assert f"name = {container_git}".encode() in nodes[".gitconfig"].data
    [backup] = backups_of(nodes, ".gitconfig")
    assert f"name = {volume_git}".encode() in backup
    assert read_as_agent(container, "~/.gitconfig").count(container_git) == 1
    assert link_of(container, "~/.gitconfig") == f"{DATA}/.gitconfig"
    # dir + dir
    assert nodes[".config/nvim/init.lua"].data == b"-- host init\n"
    assert nodes[".config/nvim/same.lua"].data == b"-- container same\n"
    assert nodes[".config/nvim/extra.lua"].data == b"-- container only\n"
    assert link_of(container, "~/.config/nvim") == f"{DATA}/.config/nvim"
    assert read_as_agent(container, "~/.config/nvim/init.lua") == "-- host init\n"
    # the failed entries: nothing lost on either side
    assert nodes[".vimrc"].kind == "dir"
    sh(container, "test ! -L ~/.vimrc && test -f ~/.vimrc")
    assert read_as_agent(container, "~/.vimrc") == "set nocompatible\n"
    assert nodes[".cursor/rules"].kind == "dir"
    assert read_as_agent(container, "~/.cursor/rules") == "not a dir\n"
    # the foreign symlink
    assert link_of(container, "~/.vim") == "/tmp"
    assert "/tmp" in got[".vim"]["detail"]

    text = cai("sync", "--container", container.name)
    assert text.code == 1
    assert re.search(r"^skipped\s+~/\.vim\s.*left alone", text.out, re.MULTILINE), text.out
    assert re.search(r"^failed\s+~/\.vimrc\s", text.out, re.MULTILINE), text.out
    assert "nothing to do" not in text.out


ELSEWHERE = ["/tmp/elsewhere", "/tmp/elsewhere/rules", "/tmp/elsewhere/rules/x.md"]


def test_sync_refuses_links_under_a_symlinked_parent(
    cai: Any, docker_client: Any, workspace: Path
) -> None:
    """~/.cursor replaced by a symlink out of $HOME: its entries are refused, nothing written
    through it; the volume's .cursor made a symlink: the same."""
    container = start_agent(cai, docker_client, workspace)
    volume = container.labels[LABEL_VOLUME]
    sh(
        container,
        "set -e\n"
        "mkdir -p /tmp/elsewhere/rules && echo outside > /tmp/elsewhere/rules/x.md\n"
        "rm -rf ~/.cursor && ln -s /tmp/elsewhere ~/.cursor\n"
        "rm ~/.gitconfig && echo '[user]' > ~/.gitconfig\n",
    )

    document = sync_json(cai, container.name, code=1)

    got = entries(document)
    cursor = {path: entry for path, entry in got.items() if path.startswith(".cursor/")}
    assert cursor, got
    assert all(entry["action"] == "failed" for entry in cursor.values()), cursor
    assert all("symlink" in entry["detail"] for entry in cursor.values()), cursor
    assert got[".gitconfig"]["action"] == "moved"  # the other entries go on
    assert sh(container, "find /tmp/elsewhere | sort").split() == ELSEWHERE  # nothing written
    assert link_of(container, "~/.cursor") == "/tmp/elsewhere"
    assert read_volume(docker_client, volume)[".cursor/rules"].kind == "dir"

    # The volume side: its .cursor replaced by a symlink (the agent can do that).
    sh(
        container,
        "set -e\n"
        "rm ~/.cursor && mkdir -p ~/.cursor/rules && echo mine > ~/.cursor/rules/y.md\n"
        f"mv {DATA}/.cursor {DATA}/.cursor.old && ln -s /tmp/elsewhere {DATA}/.cursor\n",
    )
    document = sync_json(cai, container.name, code=1)
    assert entries(document)[".cursor/rules"]["action"] == "failed"
    assert sh(container, "find /tmp/elsewhere | sort").split() == ELSEWHERE  # nothing written
    assert read_as_agent(container, "~/.cursor/rules/y.md") == "mine\n"
