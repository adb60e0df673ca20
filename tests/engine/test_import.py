"""`cai import` against a real engine, with a fake HOME: the "Done when" list of issue 3."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import (
    TEST_IMAGE,
    Node,
    assert_private,
    containers_created,
    in_volume,
    read_volume,
    volume_checksum,
    volume_containers,
    volume_exists,
)
from tests.support.files import SEED_SECRETS, write_files, write_linked_skills

pytestmark = pytest.mark.engine

AGENT = (1000, 1000)
SAFE_DIRECTORY = "/home/agent/workspace"
# Mirror deletions run `rm` in a container of engine.shell_image; use the local test image.
SHELL_IMAGE = f'[engine]\nshell_image = "{TEST_IMAGE}"\n'
STAMPED_BACKUP = re.compile(r"^\.containai/backups/[^/]+/\.claude/settings\.json$")


# -- helpers -----------------------------------------------------------------------------------


def sentinel() -> str:
    return f"SENTINEL-{uuid.uuid4().hex}"


def user_config(home: Path, text: str) -> None:
    write_files(home, {".config/containai/containai.toml": text})


def import_json(cai: Any, volume: str, *args: str, code: int = 0) -> dict[str, Any]:
    result = cai("import", "--data-volume", volume, "--json", *args)
    assert result.code == code, result.err
    document: dict[str, Any] = json.loads(result.out)
    return document


def imported(cai: Any, client: Any, volume: str, *args: str) -> tuple[Any, dict[str, Node]]:
    """`cai import --data-volume VOLUME ARGS`, which must succeed; its result and what the
    volume holds then."""
    result = cai("import", "--data-volume", volume, *args)
    assert result.code == 0, result.err
    return result, read_volume(client, volume)


@pytest.fixture
def imported_once(cai: Any, isolated_env: Path, new_volume: Any) -> Callable[..., str]:
    """``imported_once(files)``: a new volume into which a home holding ``files`` was imported."""

    def make(files: dict[str, str | bytes]) -> str:
        write_files(isolated_env, files)
        volume = new_volume("once")
        assert cai("import", "--data-volume", volume).code == 0
        return str(volume)

    return make


def items(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["path"]: item for item in document["items"]}


def actions(document: dict[str, Any]) -> dict[str, str]:
    return {item["path"]: item["action"] for item in document["items"]}


def actions_of(document: dict[str, Any], path: str) -> list[str]:
    """Every action the plan lists for ``path`` (a path may appear more than once)."""
    return [item["action"] for item in document["items"] if item["path"] == path]


# -- secrets -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SEED_SECRETS, ids=SEED_SECRETS)
@pytest.mark.core
def test_a_seed_secret_is_imported_private_and_owned_by_the_agent(
    path: str, cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    token = sentinel()
    write_files(isolated_env, {path: f"token: {token}\n"})

    files = imported(cai, docker_client, volume)[1]

    assert files[path].data == f"token: {token}\n".encode()
    assert_private(files, path)


@pytest.mark.parametrize("path", SEED_SECRETS, ids=SEED_SECRETS)
def test_no_secrets_leaves_a_seed_secret_out_of_a_fresh_volume(
    path: str, cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {path: sentinel(), ".claude/CLAUDE.md": "# notes\n"})

    files = imported(cai, docker_client, volume, "--no-secrets")[1]

    assert path not in files
    assert files[".claude/CLAUDE.md"].data == b"# notes\n"


@pytest.mark.parametrize("path", SEED_SECRETS, ids=SEED_SECRETS)
def test_no_secrets_leaves_an_existing_volume_copy_untouched(
    path: str, cai: Any, isolated_env: Path, docker_client: Any, imported_once: Any
) -> None:
    volume = imported_once({path: "first token\n"})
    before = read_volume(docker_client, volume)[path]
    write_files(isolated_env, {path: "a rotated, longer token\n"})

    result = cai("import", "--data-volume", volume, "--no-secrets")

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[path] == before


@pytest.mark.parametrize(
    "flags",
    [("--verbose",), ("--dry-run",), ("--json",), ("--dry-run", "--json", "--verbose")],
    ids=["verbose", "dry-run", "json", "dry-run-json-verbose"],
)
def test_secret_content_never_appears_in_any_output(
    flags: tuple[str, ...], cai: Any, isolated_env: Path, volume: str
) -> None:
    token = sentinel()
    write_files(isolated_env, dict.fromkeys(SEED_SECRETS, f"{token}\n"))
    write_files(isolated_env, {".claude/.credentials.json": token, ".ssh/id_ed25519": token})
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.ssh"]\n')

    first = cai("import", "--data-volume", volume, *flags)
    second = cai("import", "--data-volume", volume, *flags)

    for result in (first, second):
        assert result.code == 0, result.err
        assert token not in result.out
        assert token not in result.err


def test_a_secret_reached_through_an_additional_directory_is_still_a_secret(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    # ~/.config/gh is opted in as a whole; hosts.yml inside it is a seed secret all the same.
    token = sentinel()
    write_files(isolated_env, {".config/gh/hosts.yml": token, ".config/gh/config.yml": "a: b\n"})
    (isolated_env / ".config/gh/hosts.yml").chmod(0o644)
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.config/gh"]\n')
    volume = new_volume("ghdir")
    hidden = new_volume("ghdir-nosecret")

    assert cai("import", "--data-volume", volume).code == 0
    assert cai("import", "--data-volume", hidden, "--no-secrets").code == 0

    files = read_volume(docker_client, volume)
    assert files[".config/gh/hosts.yml"].data == token.encode()
    assert_private(files, ".config/gh/hosts.yml")
    without = read_volume(docker_client, hidden)
    assert without[".config/gh/config.yml"].data == b"a: b\n"
    assert ".config/gh/hosts.yml" not in without


# -- credentials -------------------------------------------------------------------------------


@pytest.fixture
def credential_token(isolated_env: Path) -> str:
    """The token of a Claude login (a credential) in the fake home."""
    token = sentinel()
    write_files(isolated_env, {".claude/.credentials.json": token})
    return token


def test_a_host_credential_becomes_an_empty_private_placeholder(
    cai: Any, docker_client: Any, credential_token: str, volume: str
) -> None:
    token = credential_token

    result, files = imported(cai, docker_client, volume, "--verbose")

    assert files[".claude/.credentials.json"].data == b""
    assert_private(files, ".claude/.credentials.json")
    assert token not in result.out + result.err


def test_a_credential_named_in_additional_paths_is_copied(
    cai: Any, isolated_env: Path, docker_client: Any, credential_token: str, volume: str
) -> None:
    token = credential_token
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.claude/.credentials.json"]\n')

    files = imported(cai, docker_client, volume)[1]

    assert files[".claude/.credentials.json"].data == token.encode()
    assert_private(files, ".claude/.credentials.json")


def test_an_opted_in_credential_replaces_the_placeholder_of_an_earlier_import(
    cai: Any, isolated_env: Path, docker_client: Any, credential_token: str, volume: str
) -> None:
    token = credential_token
    assert cai("import", "--data-volume", volume).code == 0
    assert read_volume(docker_client, volume)[".claude/.credentials.json"].data == b""
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.claude/.credentials.json"]\n')

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/.credentials.json"].data == token.encode()


def test_a_credential_in_a_backup_directory_given_with_from_is_copied(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    token = sentinel()
    backup = isolated_env.parent / "backup"
    write_files(backup, {".claude/.credentials.json": token, ".claude/CLAUDE.md": "# backed up\n"})

    files = imported(cai, docker_client, volume, "--from", str(backup))[1]

    assert files[".claude/.credentials.json"].data == token.encode()
    assert_private(files, ".claude/.credentials.json")
    assert files[".claude/CLAUDE.md"].data == b"# backed up\n"


# -- placeholders ------------------------------------------------------------------------------


def test_a_missing_claude_settings_file_becomes_an_empty_json_object(
    cai: Any, docker_client: Any, volume: str
) -> None:

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    node = read_volume(docker_client, volume)[".claude/settings.json"]
    # "{}" (a trailing newline is tolerated: the content is the JSON object and nothing else)
    assert node.data.rstrip(b"\n") == b"{}"
    assert json.loads(node.data) == {}
    assert (node.uid, node.gid) == AGENT


def test_a_placeholder_never_overwrites_an_existing_volume_file(
    cai: Any, isolated_env: Path, docker_client: Any, imported_once: Any
) -> None:
    volume = imported_once({".claude/settings.json": '{"theme": "dark"}\n'})
    (isolated_env / ".claude/settings.json").unlink()

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/settings.json"].data == (
        b'{"theme": "dark"}\n'
    )


# -- git config --------------------------------------------------------------------------------

GITCONFIG = """\
[user]
\tname = Ada Lovelace
\temail = ada@example.com
\tsigningkey = ABCDEF0123456789
[commit]
\tgpgsign = true
[gpg]
\tprogram = gpg2
[credential]
\thelper = store
[alias]
\tco = checkout
"""


def test_the_git_config_is_filtered_and_trusts_the_workspace(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".gitconfig": GITCONFIG})

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    text = read_volume(docker_client, volume)[".gitconfig"].data.decode()
    assert "name = Ada Lovelace" in text
    assert "email = ada@example.com" in text
    assert "co = checkout" in text
    for dropped in ("signingkey", "gpgsign", "gpg2", "helper", "[commit]", "[gpg]", "[credential]"):
        assert dropped not in text
    assert text.endswith(f"[safe]\n\tdirectory = {SAFE_DIRECTORY}\n")
    assert text.count("[safe]") == 1


def test_importing_the_git_config_twice_gives_identical_bytes(
    cai: Any, isolated_env: Path, docker_client: Any, imported_once: Any
) -> None:
    volume = imported_once({".gitconfig": GITCONFIG})
    first = read_volume(docker_client, volume)[".gitconfig"].data
    # A touched host file (new mtime, same content) must not make the safe block grow either.
    os.utime(isolated_env / ".gitconfig", (time.time() + 5, time.time() + 5))

    assert cai("import", "--data-volume", volume).code == 0

    assert read_volume(docker_client, volume)[".gitconfig"].data == first


# -- private shell snippets and excludes -------------------------------------------------------

BASHRC_D = {
    ".bashrc.d/normal.sh": "export A=1\n",
    ".bashrc.d/secrets.priv.sh": "export TOKEN=x\n",
    ".bashrc.d/work.priv.stuff.sh": "export WORK=y\n",
}
PRIVATE = {".bashrc.d/secrets.priv.sh", ".bashrc.d/work.priv.stuff.sh"}


@pytest.mark.parametrize(
    ("flags", "config", "priv_imported"),
    [
        ((), "", False),
        (("--no-excludes",), "", False),
        ((), "[import]\nexclude_priv = false\n", True),
        (("--no-excludes",), "[import]\nexclude_priv = false\n", True),
    ],
    ids=["default", "no-excludes", "exclude-priv-off", "exclude-priv-off-and-no-excludes"],
)
def test_priv_files_in_bashrc_d_are_excluded_unless_exclude_priv_is_off(
    flags: tuple[str, ...],
    config: str,
    priv_imported: bool,
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    volume: str,
) -> None:
    write_files(isolated_env, BASHRC_D)
    if config:
        user_config(isolated_env, config)

    files = imported(cai, docker_client, volume, *flags)[1]

    assert files[".bashrc.d/normal.sh"].data == b"export A=1\n"
    for path in PRIVATE:
        assert (path in files) is priv_imported, path


def test_an_excluded_priv_file_is_reported_as_a_skipped_file_not_a_directory(
    cai: Any, isolated_env: Path, volume: str
) -> None:
    write_files(isolated_env, BASHRC_D)

    document = import_json(cai, volume, "--dry-run")
    text = cai("import", "--data-volume", volume, "--dry-run", "--verbose").out

    for path in PRIVATE:
        item = items(document)[path]
        assert item["action"] == "skip:excluded"
        assert item["kind"] == "file", item
        assert re.search(rf"^skip:excluded\s+{re.escape(path)}\s", text, re.MULTILINE), text


SKILLS = {
    ".claude/skills/review/SKILL.md": "review\n",
    ".claude/skills/big/model.bin": "weights\n",
    ".claude/skills/big/nested/more.bin": "more\n",
    ".claude/skills/tool/node_modules/dep/index.js": "js\n",
    ".claude/skills/tool/__pycache__/x.pyc": "pyc\n",
}


def test_config_excludes_drop_a_subtree_and_no_excludes_brings_it_back(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    write_files(isolated_env, SKILLS)
    user_config(isolated_env, 'excludes = [".claude/skills/big/"]\n')
    excluded = new_volume("excl")
    everything = new_volume("noexcl")

    result = cai("import", "--data-volume", excluded, "--verbose")
    assert cai("import", "--data-volume", everything, "--no-excludes").code == 0

    assert result.code == 0, result.err
    files = read_volume(docker_client, excluded)
    assert files[".claude/skills/review/SKILL.md"].data == b"review\n"
    assert not any(path.startswith(".claude/skills/big") for path in files)
    assert re.search(r"^skip:excluded\s+\.claude/skills/big/?\s.*\(excludes\)", result.out, re.M)
    all_files = read_volume(docker_client, everything)
    for path in SKILLS:
        assert path in all_files, path


def test_packaged_default_excludes_drop_caches_and_verbose_names_the_rule(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, SKILLS)
    write_files(isolated_env, {".claude/projects/p1/session.jsonl": "{}\n", ".claude/x.md": "x\n"})
    # ~/.claude as a whole, so that its projects/ folder is walked and has to be excluded.
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.claude"]\n')

    result, files = imported(cai, docker_client, volume, "--verbose")

    assert files[".claude/x.md"].data == b"x\n"
    assert files[".claude/skills/big/model.bin"].data == b"weights\n"
    for gone in (
        ".claude/projects",
        ".claude/skills/tool/node_modules",
        ".claude/skills/tool/__pycache__",
    ):
        assert not any(path == gone or path.startswith(f"{gone}/") for path in files), gone
        assert re.search(
            rf"^skip:excluded\s+{re.escape(gone)}/?\s.*import\.default_excludes", result.out, re.M
        ), (gone, result.out)


# -- dry run -----------------------------------------------------------------------------------


def test_a_dry_run_on_a_new_volume_name_creates_nothing(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".claude/settings.json": "{}\n"})

    result = cai("import", "--data-volume", volume, "--dry-run")

    assert result.code == 0, result.err
    assert not volume_exists(docker_client, volume)
    first = result.out.splitlines()[0]
    assert volume in first
    assert "would create" in first
    assert re.search(r"^add\s+\.claude/settings\.json", result.out, re.M)
    assert volume_containers(docker_client, volume) == []


def test_a_dry_run_on_an_existing_volume_changes_nothing(
    cai: Any, isolated_env: Path, docker_client: Any, imported_once: Any
) -> None:
    volume = imported_once({".claude/settings.json": "{}\n", ".claude/CLAUDE.md": "one\n"})
    before = volume_checksum(docker_client, volume)
    write_files(isolated_env, {".claude/CLAUDE.md": "two, longer\n", ".vimrc": "set nu\n"})

    text = cai("import", "--data-volume", volume, "--dry-run")
    document = import_json(cai, volume, "--dry-run")

    assert text.code == 0, text.err
    assert volume_checksum(docker_client, volume) == before
    assert "would create" not in text.out
    assert document["volume"] == {"name": volume, "exists": True}
    found = actions(document)
    assert found[".claude/CLAUDE.md"] == "update"
    assert found[".vimrc"] == "add"
    assert found[".claude/settings.json"] == "unchanged"
    assert found[".claude/.credentials.json"] == "skip:credential"
    assert "result" not in document


def test_the_dry_run_json_plan_lists_the_expected_actions_without_content(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    token = sentinel()
    write_files(
        isolated_env,
        {
            ".claude/settings.json": '{"theme": "dark"}\n',
            ".claude/.credentials.json": token,
            ".config/gh/hosts.yml": token,
            **BASHRC_D,
        },
    )

    result = cai("import", "--data-volume", volume, "--dry-run", "--json")

    assert result.code == 0, result.err
    assert token not in result.out + result.err
    document = json.loads(result.out)
    assert document["dry_run"] is True
    assert document["volume"] == {"name": volume, "exists": False}
    plan = items(document)
    assert plan[".claude/settings.json"]["action"] == "add"
    assert plan[".claude/settings.json"]["size"] == len('{"theme": "dark"}\n')
    assert plan[".config/gh/hosts.yml"]["action"] == "add"
    assert plan[".config/gh/hosts.yml"]["secret"] is True
    assert plan[".claude.json"]["action"] == "placeholder"
    assert plan[".claude/.credentials.json"]["action"] == "placeholder"
    assert "credential" in plan[".claude/.credentials.json"]["detail"]
    assert plan[".claude/commands"] == {
        "path": ".claude/commands",
        "action": "placeholder",
        "kind": "dir",
        "detail": "no source on the host",
    }
    for optional in (".gemini/settings.json", ".aider.conf.yml", ".cursor/rules"):
        assert plan[optional]["action"] == "skip:missing", optional
    for path in PRIVATE:
        assert plan[path]["action"] == "skip:excluded", path
    assert plan[".bashrc.d/normal.sh"]["action"] == "add"
    assert document["summary"]["add"] >= 3
    assert not volume_exists(docker_client, volume)


def test_a_real_run_with_json_prints_the_dry_run_plan_and_its_result(
    cai: Any, isolated_env: Path, volume: str
) -> None:
    write_files(isolated_env, {".claude/settings.json": "{}\n", **BASHRC_D})

    dry = import_json(cai, volume, "--dry-run")
    real = import_json(cai, volume)

    assert real["items"] == dry["items"]
    assert real["summary"] == dry["summary"]
    assert real["dry_run"] is False
    written = dry["summary"].get("add", 0) + dry["summary"].get("placeholder", 0)
    assert real["result"]["files_sent"] == written
    assert real["result"]["failed"] == {}


# -- incremental -------------------------------------------------------------------------------


@pytest.mark.core
def test_a_second_import_sends_nothing_and_one_change_sends_one_file(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(
        isolated_env,
        {
            ".claude/settings.json": '{"theme": "dark"}\n',
            ".claude/CLAUDE.md": "# notes\n",
            ".claude/skills/review/SKILL.md": "review\n",
            ".claude/.credentials.json": sentinel(),
            ".gitconfig": GITCONFIG,
            ".config/gh/hosts.yml": "token\n",
            **BASHRC_D,
        },
    )
    first = import_json(cai, volume)
    assert first["result"]["files_sent"] > 5

    second = import_json(cai, volume)
    text = cai("import", "--data-volume", volume)
    write_files(isolated_env, {".claude/skills/review/SKILL.md": "review, more carefully\n"})
    third = import_json(cai, volume)

    assert second["result"]["files_sent"] == 0
    assert second["result"]["bytes_sent"] == 0
    assert "update" not in second["summary"] and "add" not in second["summary"]
    assert text.code == 0 and "0 files (0 B) sent" in text.out, text.out
    assert third["result"]["files_sent"] == 1
    changed = [i["path"] for i in third["items"] if i["action"] in ("add", "update", "conflict")]
    assert changed == [".claude/skills/review/SKILL.md"]
    data = read_volume(docker_client, volume)[".claude/skills/review/SKILL.md"].data
    assert data == b"review, more carefully\n"


@pytest.mark.core
def test_a_file_removed_on_the_host_stays_in_the_volume_unless_mirror_is_on(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    write_files(isolated_env, {".claude/skills/a.md": "a\n", ".claude/skills/b.md": "b\n"})
    kept = new_volume("nomirror")
    pruned = new_volume("mirror")
    assert cai("import", "--data-volume", kept).code == 0
    assert cai("import", "--data-volume", pruned).code == 0
    (isolated_env / ".claude/skills/b.md").unlink()

    assert cai("import", "--data-volume", kept).code == 0
    user_config(isolated_env, "[import]\nmirror = true\n" + SHELL_IMAGE)
    dry = import_json(cai, pruned, "--dry-run")
    assert cai("import", "--data-volume", pruned).code == 0

    assert read_volume(docker_client, kept)[".claude/skills/b.md"].data == b"b\n"
    assert actions_of(dry, ".claude/skills/b.md") == ["delete"]
    files = read_volume(docker_client, pruned)
    assert ".claude/skills/b.md" not in files
    assert files[".claude/skills/a.md"].data == b"a\n"


def test_mirror_with_no_secrets_keeps_the_secrets_already_in_the_volume(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".ssh/id_ed25519": "KEY\n", ".ssh/config": "Host x\n"})
    user_config(
        isolated_env, '[import]\nadditional_paths = ["~/.ssh"]\nmirror = true\n' + SHELL_IMAGE
    )
    assert cai("import", "--data-volume", volume).code == 0

    dry = import_json(cai, volume, "--dry-run", "--no-secrets")
    result = cai("import", "--data-volume", volume, "--no-secrets")

    assert result.code == 0, result.err
    assert actions_of(dry, ".ssh/id_ed25519") == ["skip:secret"]
    assert read_volume(docker_client, volume)[".ssh/id_ed25519"].data == b"KEY\n"


# -- ssh ---------------------------------------------------------------------------------------

SSH = {
    ".ssh/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n",
    ".ssh/id_ed25519.pub": "ssh-ed25519 AAAA ada@example.com\n",
    ".ssh/config": "Host example\n  User ada\n",
}


def test_ssh_keys_never_reach_the_volume_without_opt_in(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, SSH)

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert not any(path.startswith(".ssh") for path in read_volume(docker_client, volume))


def test_ssh_opt_in_imports_the_private_key_privately(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, SSH)
    (isolated_env / ".ssh").chmod(0o755)  # a lax host folder: the volume copy is private anyway
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.ssh"]\n')

    files = imported(cai, docker_client, volume)[1]

    assert files[".ssh/id_ed25519"].data == SSH[".ssh/id_ed25519"].encode()
    assert files[".ssh/id_ed25519.pub"].data == SSH[".ssh/id_ed25519.pub"].encode()
    assert files[".ssh/config"].data == SSH[".ssh/config"].encode()
    assert_private(files, ".ssh/id_ed25519")


def test_ssh_opt_in_with_no_secrets_leaves_the_private_key_out(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, SSH)
    user_config(isolated_env, '[import]\nadditional_paths = ["~/.ssh"]\n')

    files = imported(cai, docker_client, volume, "--no-secrets")[1]

    assert ".ssh/id_ed25519" not in files
    assert files[".ssh/config"].data == SSH[".ssh/config"].encode()
    assert files[".ssh/id_ed25519.pub"].data == SSH[".ssh/id_ed25519.pub"].encode()


# -- changed in the container ------------------------------------------------------------------

EDIT_IN_CONTAINER = (
    "echo changed > /v/.claude/settings.json && chown 1000:1000 /v/.claude/settings.json"
)


@pytest.fixture
def conflicted(imported_once: Any, isolated_env: Path, docker_client: Any) -> str:
    """A volume whose settings.json the agent changed since the import, while the host's changed
    too: the next import finds a conflict."""
    volume = imported_once({".claude/settings.json": '{"theme": "dark"}\n'})
    in_volume(docker_client, volume, EDIT_IN_CONTAINER)
    write_files(isolated_env, {".claude/settings.json": '{"theme": "light"}\n'})
    return str(volume)


@pytest.mark.core
def test_a_file_edited_in_the_container_is_backed_up_when_the_host_copy_wins(
    cai: Any, docker_client: Any, conflicted: str
) -> None:
    volume = conflicted

    document = import_json(cai, volume)

    files = read_volume(docker_client, volume)
    assert files[".claude/settings.json"].data == b'{"theme": "light"}\n'
    backups = [path for path in files if STAMPED_BACKUP.match(path)]
    assert len(backups) == 1, sorted(files)
    assert files[backups[0]].data == b"changed\n"
    item = items(document)[".claude/settings.json"]
    assert (item["action"], item["resolution"]) == ("conflict", "backup")
    assert document["result"]["backups"] == backups


def test_a_conflict_is_reported_in_the_default_output(cai: Any, conflicted: str) -> None:
    volume = conflicted

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert re.search(r"^conflict:backup\s+\.claude/settings\.json", result.out, re.M), result.out
    assert "1 conflicts" in result.out and "1 backed up" in result.out


def test_on_conflict_skip_keeps_the_container_copy(
    cai: Any, isolated_env: Path, docker_client: Any, conflicted: str
) -> None:
    volume = conflicted
    user_config(isolated_env, '[import]\non_conflict = "skip"\n')

    document = import_json(cai, volume)

    files = read_volume(docker_client, volume)
    assert files[".claude/settings.json"].data == b"changed\n"
    assert not any(path.startswith(".containai/backups") for path in files)
    item = items(document)[".claude/settings.json"]
    assert (item["action"], item["resolution"]) == ("conflict", "skip")


def test_a_forced_import_does_not_replace_a_volume_file_where_a_directory_must_go(
    cai: Any, docker_client: Any, imported_once: Any
) -> None:
    volume = imported_once({".config/gh/config.yml": "git_protocol: ssh\n"})
    # The agent replaced the folder with a file of its own.
    in_volume(
        docker_client,
        volume,
        "rm -rf /v/.config/gh && echo mine > /v/.config/gh && chown 1000:1000 /v/.config/gh",
    )

    # --force: the host must win, yet the agent's file is not replaced (three-way: see
    # test_three_way.py for the default, which keeps it without a word).
    document = import_json(cai, volume, "--force")

    node = read_volume(docker_client, volume)[".config/gh"]
    assert (node.kind, node.data) == ("file", b"mine\n")
    assert actions(document)[".config/gh/config.yml"] == "conflict"


# -- symlinks ----------------------------------------------------------------------------------


@pytest.mark.core
def test_symlinks_inside_a_directory_entry_are_kept_or_made_relative(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    skills = isolated_env / ".claude/skills"
    write_linked_skills(skills)
    (skills / "dirlink").symlink_to(skills / "sub")

    result, files = imported(cai, docker_client, volume, "--verbose")

    expected = {
        "relative": "real.md",
        "inside": "real.md",
        "sub/inside": "../real.md",
        "outside": "/etc/hostname",
        "dirlink": "sub",
    }
    for name, linkname in expected.items():
        node = files[f".claude/skills/{name}"]
        assert (node.kind, node.linkname) == ("symlink", linkname), name
        assert (node.uid, node.gid) == AGENT, name
    assert "/etc/hostname" in result.err and "outside" in result.err


def test_an_entry_that_is_itself_a_symlink_is_followed(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(
        isolated_env,
        {
            "dotfiles/nvim/init.lua": "vim.o.number = true\n",
            "dotfiles/nvim/lua/plugins.lua": "return {}\n",
            "dotfiles/vimrc": "set nu\n",
        },
    )
    (isolated_env / ".config").mkdir()
    (isolated_env / ".config/nvim").symlink_to(isolated_env / "dotfiles/nvim")
    (isolated_env / ".vimrc").symlink_to("dotfiles/vimrc")

    files = imported(cai, docker_client, volume)[1]

    assert files[".config/nvim"].kind == "dir"
    assert files[".config/nvim/init.lua"].data == b"vim.o.number = true\n"
    assert files[".config/nvim/lua/plugins.lua"].data == b"return {}\n"
    assert (files[".vimrc"].kind, files[".vimrc"].data) == ("file", b"set nu\n")


# -- modes and mtimes --------------------------------------------------------------------------


@pytest.mark.core
def test_a_hook_script_keeps_its_mode_and_mtime(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(
        isolated_env,
        {".claude/hooks/pre.sh": "#!/bin/sh\necho hi\n", ".claude/hooks/notes.txt": "plain\n"},
    )
    script = isolated_env / ".claude/hooks/pre.sh"
    script.chmod(0o755)
    (isolated_env / ".claude/hooks/notes.txt").chmod(0o640)
    os.utime(script, (1_600_000_000.75, 1_600_000_000.75))

    files = imported(cai, docker_client, volume)[1]

    node = files[".claude/hooks/pre.sh"]
    assert (node.mode, node.mtime, node.uid, node.gid) == (0o755, 1_600_000_000, *AGENT)
    assert files[".claude/hooks/notes.txt"].mode == 0o640


@pytest.mark.core
def test_a_mode_change_on_the_host_reaches_the_volume(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".claude/hooks/pre.sh": "#!/bin/sh\necho hi\n"})
    script = isolated_env / ".claude/hooks/pre.sh"
    script.chmod(0o644)
    assert cai("import", "--data-volume", volume).code == 0
    script.chmod(0o755)  # chmod +x changes neither size nor mtime

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/hooks/pre.sh"].mode == 0o755


# -- host failures -----------------------------------------------------------------------------


def make_fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def make_dir(path: Path) -> None:
    path.mkdir(parents=True)


@pytest.mark.parametrize(
    ("relative", "make", "reason"),
    [
        (".claude/CLAUDE.md", make_fifo, "not a regular file"),
        (".claude/CLAUDE.md", make_dir, "a directory"),
        (".claude/skills/pipe", make_fifo, "not a regular file"),
        (".claude/skills", lambda path: write_files(path.parent, {path.name: "x"}), "directory"),
    ],
    ids=["fifo-for-a-file", "directory-for-a-file", "fifo-in-a-directory", "file-for-a-directory"],
)
def test_a_host_path_of_the_wrong_type_fails_that_path_only(
    relative: str,
    make: Any,
    reason: str,
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    volume: str,
) -> None:
    write_files(isolated_env, {".claude/settings.json": '{"a": 1}\n', ".vimrc": "set nu\n"})
    make(isolated_env / relative)

    document = import_json(cai, volume, code=1)
    text = cai("import", "--data-volume", volume)

    errors = [item for item in document["items"] if item["action"] == "error"]
    assert len(errors) == 1, errors
    assert errors[0]["path"].endswith(relative)
    assert reason in errors[0]["detail"]
    assert text.code == 1
    assert re.search(rf"^error\s+\S*{re.escape(relative)}", text.out, re.M), text.out
    files = read_volume(docker_client, volume)
    assert files[".claude/settings.json"].data == b'{"a": 1}\n'
    assert files[".vimrc"].data == b"set nu\n"


# -- engine use --------------------------------------------------------------------------------


def test_each_import_creates_at_most_one_helper_and_leaves_none(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".claude/settings.json": "{}\n", ".claude/skills/a.md": "a\n"})
    assert volume_containers(docker_client, volume) == []

    seen: set[str] = set()
    for args in ((), (), ("--dry-run",)):
        start = int(time.time()) - 1
        result = cai("import", "--data-volume", volume, *args)
        end = int(time.time()) + 1
        assert result.code == 0, result.err
        # The window may overlap the last run's.
        created = containers_created(docker_client, volume, start, end) - seen
        seen |= created
        assert len(created) == 1, (args, created)
        assert volume_containers(docker_client, volume) == []
