"""Three-way import on a real engine: a change on one side only is kept, a no-op reads only
containai's records; `cai status` and `cai diff` say where host and volume stand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containai.engine.helpers import Helper
from tests.support.engine import in_volume, read_volume
from tests.support.files import write_files

SETTINGS = ".claude/settings.json"
HOSTS = ".config/gh/hosts.yml"
HOST_TOKEN = "gho_HOSTSECRETHOSTSECRET"
AGENT_TOKEN = "gho_AGENTSECRETAGENTSECRET"


def import_json(cai: Any, volume: str, *args: str) -> dict[str, Any]:
    result = cai("import", "--data-volume", volume, "--json", *args)
    assert result.code == 0, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def actions(document: dict[str, Any]) -> dict[str, str]:
    return {item["path"]: item["action"] for item in document["items"]}


def states(cai: Any, volume: str) -> dict[str, str]:
    result = cai("status", "--data-volume", volume, "--json")
    assert result.code == 0, result.err
    return {item["path"]: item["state"] for item in json.loads(result.out)["items"]}


def agent_writes(client: Any, volume: str, path: str, text: str) -> None:
    in_volume(client, volume, f"printf '%s' '{text}' > /v/{path} && chown 1000:1000 /v/{path}")


@pytest.fixture
def home(isolated_env: Path) -> Path:
    write_files(
        isolated_env,
        {
            SETTINGS: '{"theme": "dark"}\n',
            ".claude/skills/one/SKILL.md": "one\n",
            HOSTS: f"github.com:\n  oauth_token: {HOST_TOKEN}\n",
            ".config/gh/config.yml": "git_protocol: ssh\n",
        },
    )
    return isolated_env


@pytest.fixture
def requests(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Every archive request cai makes of its helper (method, volume path), engine unchanged."""
    seen: list[tuple[str, str]] = []
    real = Helper._archive

    def spy(self: Helper, method: str, path: str) -> Any:
        seen.append((method, path))
        return real(self, method, path)

    monkeypatch.setattr(Helper, "_archive", spy)
    yield seen


# -- one side changed ----------------------------------------------------------------------


@pytest.mark.core
def test_an_agent_edit_survives_an_import_and_force_puts_the_host_version_back(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    agent_writes(docker_client, volume, SETTINGS, '{"theme": "light"}\n')

    kept = import_json(cai, volume)

    assert actions(kept)[SETTINGS] == "unchanged"
    assert kept["result"]["backups"] == []
    assert read_volume(docker_client, volume)[SETTINGS].data == b'{"theme": "light"}\n'
    assert states(cai, volume) == {SETTINGS: "volume-changed"}
    shown = cai("diff", "--data-volume", volume)
    assert shown.code == 1, shown.err
    assert '-{"theme": "dark"}\n+{"theme": "light"}' in shown.out

    forced = import_json(cai, volume, "--force")

    files = read_volume(docker_client, volume)
    assert files[SETTINGS].data == b'{"theme": "dark"}\n'
    [backup] = forced["result"]["backups"]
    assert backup.endswith(SETTINGS)
    assert files[backup].data == b'{"theme": "light"}\n'
    assert states(cai, volume) == {}
    assert cai("diff", "--data-volume", volume).code == 0


@pytest.mark.core
def test_a_host_change_is_written_when_the_volume_kept_what_containai_wrote(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    write_files(home, {SETTINGS: '{"theme": "solarized"}\n'})
    assert states(cai, volume) == {SETTINGS: "host-changed"}

    document = import_json(cai, volume)

    assert actions(document)[SETTINGS] == "update"
    assert read_volume(docker_client, volume)[SETTINGS].data == b'{"theme": "solarized"}\n'
    assert states(cai, volume) == {}


@pytest.mark.parametrize(
    ("policy", "action", "content"),
    [
        ("backup", "conflict", b"host\n"),
        ("skip", "conflict", b"agent\n"),
        ("overwrite", "conflict", b"host\n"),
    ],
)
def test_a_change_on_both_sides_follows_the_conflict_policy(
    policy: str,
    action: str,
    content: bytes,
    cai: Any,
    home: Path,
    docker_client: Any,
    volume: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import_json(cai, volume)
    agent_writes(docker_client, volume, SETTINGS, "agent\n")
    write_files(home, {SETTINGS: "host\n"})
    assert states(cai, volume) == {SETTINGS: "conflict"}
    monkeypatch.setenv("CONTAINAI_IMPORT__ON_CONFLICT", policy)

    document = import_json(cai, volume)

    [item] = [i for i in document["items"] if i["path"] == SETTINGS]
    assert (item["action"], item["resolution"]) == (action, policy)
    files = read_volume(docker_client, volume)
    assert files[SETTINGS].data == content
    backups = document["result"]["backups"]
    assert [files[b].data for b in backups] == ([b"agent\n"] if policy == "backup" else [])


def test_the_same_change_on_both_sides_is_in_sync(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    agent_writes(docker_client, volume, SETTINGS, "same\n")
    write_files(home, {SETTINGS: "same\n"})

    assert states(cai, volume) == {}
    document = import_json(cai, volume)

    assert actions(document)[SETTINGS] == "unchanged"
    assert document["result"]["files_sent"] == 0


def test_a_file_gone_from_the_host_stays_in_the_volume_and_is_host_deleted(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    (home / ".claude/skills/one/SKILL.md").unlink()

    assert states(cai, volume) == {".claude/skills/one/SKILL.md": "host-deleted"}
    import_json(cai, volume)

    assert read_volume(docker_client, volume)[".claude/skills/one/SKILL.md"].data == b"one\n"


def test_a_directory_the_agent_replaced_by_a_file_is_kept_and_a_host_change_below_it_conflicts(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    in_volume(docker_client, volume, "rm -rf /v/.config/gh && echo mine > /v/.config/gh")

    untouched = import_json(cai, volume)
    write_files(home, {".config/gh/config.yml": "git_protocol: https\n"})
    changed = import_json(cai, volume)

    assert actions(untouched)[".config/gh/config.yml"] == "unchanged"
    [item] = [i for i in changed["items"] if i["path"] == ".config/gh/config.yml"]
    assert (item["action"], item["resolution"]) == ("conflict", "skip")
    assert read_volume(docker_client, volume)[".config/gh"].data == b"mine\n"


# -- secrets -------------------------------------------------------------------------------


def test_a_secret_changed_on_both_sides_shows_no_byte_of_either_version(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    agent_writes(docker_client, volume, HOSTS, f"oauth_token: {AGENT_TOKEN}\n")
    write_files(home, {HOSTS: f"oauth_token: {HOST_TOKEN}-rotated\n"})

    status = cai("status", "--data-volume", volume, "--json")
    shown = cai("diff", "--data-volume", volume)
    shown_json = cai("diff", "--data-volume", volume, "--json")

    assert [(i["path"], i["state"]) for i in json.loads(status.out)["items"]] == [
        (HOSTS, "conflict")
    ]
    assert shown.code == shown_json.code == 1
    assert "secret: contents differ" in shown.out
    for output in (status.out, status.err, shown.out, shown.err, shown_json.out, shown_json.err):
        assert "SECRET" not in output and "oauth_token" not in output


# -- status and diff -----------------------------------------------------------------------


@pytest.mark.core
def test_right_after_an_import_nothing_differs(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    write_files(home, {".gitconfig": "[user]\n\tname = A\n[credential]\n\thelper = store\n"})
    import_json(cai, volume)

    status = cai("status", "--data-volume", volume)
    shown = cai("diff", "--data-volume", volume)

    assert status.code == 0 and status.out.splitlines()[-1].startswith("in sync: ")
    assert f"volume {volume}: last import 20" in status.out
    assert (shown.code, shown.out) == (0, "")


def test_status_json_names_the_volume_its_last_import_and_every_path_with_verbose(
    cai: Any, home: Path, volume: str
) -> None:
    before = json.loads(cai("status", "--data-volume", volume, "--json").out)
    import_json(cai, volume)

    after = json.loads(cai("status", "--data-volume", volume, "--json", "--verbose").out)

    assert (before["volume"], before["last_import"], before["volume_exists"]) == (
        volume,
        None,
        False,
    )
    assert {i["state"] for i in before["items"]} == {"host-changed"}
    assert after["version"] == 1 and after["last_import"].endswith("Z")
    assert after["container"] is None
    assert {i["path"]: i["state"] for i in after["items"]}[SETTINGS] == "in-sync"


def test_diff_takes_paths_and_says_binary_files_differ(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    write_files(home, {".claude/skills/one/icon.bin": b"\x00\x01host"})
    import_json(cai, volume)
    in_volume(docker_client, volume, "printf 'x\\000y' > /v/.claude/skills/one/icon.bin")
    agent_writes(docker_client, volume, SETTINGS, "agent\n")

    one = cai("diff", "--data-volume", volume, "--", "~/.claude/skills/")

    assert one.code == 1
    assert "Binary files a/.claude/skills/one/icon.bin and b/.claude/skills/one/icon.bin" in one.out
    assert SETTINGS not in one.out


def test_agent_text_with_escape_sequences_is_shown_escaped(
    cai: Any, home: Path, docker_client: Any, volume: str
) -> None:
    import_json(cai, volume)
    in_volume(docker_client, volume, f"printf '\\033]52;c;cHduZWQ=\\007\\n' > /v/{SETTINGS}")

    shown = cai("diff", "--data-volume", volume)

    assert "\x1b" not in shown.out and "\x07" not in shown.out
    assert "\\x1b]52" in shown.out


# -- cost ----------------------------------------------------------------------------------


def test_a_no_op_reads_only_containai_records_and_sends_nothing(
    cai: Any, home: Path, volume: str, requests: list[tuple[str, str]]
) -> None:
    import_json(cai, volume)
    requests.clear()

    document = import_json(cai, volume)

    assert document["result"]["files_sent"] == 0
    assert requests == [("head", ".containai/staging"), ("get", ".containai/state.json")]


def test_a_changed_file_sends_one_file_and_looks_only_at_its_path(
    cai: Any, home: Path, volume: str, requests: list[tuple[str, str]]
) -> None:
    write_files(home, {f".claude/skills/s{n}/SKILL.md": f"{n}\n" for n in range(40)})
    import_json(cai, volume)
    write_files(home, {".claude/skills/s7/SKILL.md": "seven\n"})
    requests.clear()

    document = import_json(cai, volume)

    assert document["result"]["files_sent"] == 1
    looked_at = {path for _, path in requests} - {".containai/staging", ".containai/state.json"}
    # The file, and its parents (an agent may have put a file or symlink where one must go).
    assert looked_at == {
        ".claude",
        ".claude/skills",
        ".claude/skills/s7",
        ".claude/skills/s7/SKILL.md",
    }
    assert ("get", "") not in requests
