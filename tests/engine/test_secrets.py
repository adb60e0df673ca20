"""Secrets against a real engine (issue 7): they reach no output, and secret files and their
folders are private in the volume (and the volume root too).
"""

from __future__ import annotations

import contextlib
import tarfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from containai.host.manifest import parse_file
from containai.resources import packaged_manifest
from tests.support.crash import META
from tests.support.engine import AGENT, assert_private, read_volume, volume_root
from tests.support.files import write_files
from tests.support.tars import header, tar_bytes

pytestmark = pytest.mark.engine


@pytest.fixture
def own_helper_image(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A helper image name of this test's own (engine.helper_image): containai generates the
    image from its current template, whatever images other runs left under the default name."""
    name = f"cai-test/helper-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("CONTAINAI_ENGINE__HELPER_IMAGE", name)
    yield name
    for image in docker_client.images.list(name=name):
        with contextlib.suppress(Exception):
            docker_client.images.remove(image.id, force=True)


def manifest_secrets() -> list[str]:
    """Every file source the packaged manifest marks secret or credential."""
    return [
        entry.source
        for entry in parse_file(packaged_manifest())
        if (entry.secret or entry.credential) and not entry.is_dir
    ]


@pytest.mark.slow
def test_secrets_reach_no_output_and_are_private_in_the_volume(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    own_helper_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = isolated_env
    tokens: dict[str, str] = {}
    secrets = [*manifest_secrets(), ".ssh/id_ed25519", ".ssh/id_rsa", ".netrc"]
    assert ".claude/.credentials.json" in secrets and ".codex/auth.json" in secrets
    for path in secrets:
        tokens[path] = f"SENTINEL-{uuid.uuid4().hex}"
        body = f'{{"token": "{tokens[path]}"}}\n' if path.endswith(".json") else tokens[path]
        write_files(home, {path: body})
    tokens["gitconfig"] = f"SENTINEL-{uuid.uuid4().hex}"
    write_files(
        home,
        {
            ".gitconfig": "[user]\n\tname = Ada\n"
            f"\tsigningkey = {tokens['gitconfig']}\n"
            f"[credential]\n\thelper = store --file {tokens['gitconfig']}\n"
            f'[url "https://ada:{tokens["gitconfig"]}@example.com/"]\n'
            "\tinsteadOf = https://example.com/\n",
            ".claude/CLAUDE.md": "# notes\n",
            ".config/containai/containai.toml": "[import]\nadditional_paths = "
            '["~/.ssh", "~/.netrc", "~/.claude/.credentials.json", "~/.codex/auth.json"]\n',
        },
    )
    tokens["environment"] = f"SENTINEL-{uuid.uuid4().hex}"
    monkeypatch.setenv("GITHUB_TOKEN", tokens["environment"])
    monkeypatch.setenv("ANTHROPIC_API_KEY", tokens["environment"])
    volume = new_volume("secrets")
    restored = new_volume("secrets-restored")
    archive = tmp_path / "secrets.tgz"

    outputs: dict[str, Any] = {}
    for label, args in [
        ("import --dry-run", ("import", "--dry-run")),
        ("import", ("import",)),
        ("import --no-secrets --verbose", ("import", "--no-secrets", "--verbose")),
        ("import --verbose", ("import", "--verbose")),
        ("import --json", ("import", "--json")),
        ("import --dry-run --json --verbose", ("import", "--dry-run", "--json", "--verbose")),
        ("export", ("export", "-o", str(archive), "--force")),
        ("export --json", ("export", "-o", str(archive), "--force", "--json")),
        ("export --verbose", ("export", "-o", str(archive), "--force", "--verbose")),
        ("export --verify", ("export", "--verify", str(archive), "--verbose")),
    ]:
        if args[0] == "export" and "--verify" in args:
            outputs[label] = cai(*args)
        else:
            outputs[label] = cai(*args, "--data-volume", volume)
    for label, args in [
        ("restore --dry-run --json", ("--dry-run", "--json")),
        ("restore", ("--verbose",)),
        ("restore again --json", ("--json", "--verbose")),
    ]:
        outputs[label] = cai("import", "--data-volume", restored, "--from", str(archive), *args)
    outputs["config --json"] = cai("config", "--json")
    outputs["config"] = cai("config")

    for label, result in outputs.items():
        assert result.code == 0, f"{label}: {result.err}"
        for source, token in tokens.items():
            assert token not in result.out, f"{label} printed the secret of {source}"
            assert token not in result.err, f"{label} printed the secret of {source}"
    with tarfile.open(archive) as tar:
        member = tar.extractfile(f"{META}/export.json")
        assert member is not None
        manifest = member.read().decode()
    for source, token in tokens.items():
        assert token not in manifest, source

    for name in (volume, restored):
        files = read_volume(docker_client, name)
        root = volume_root(docker_client, name)
        assert (root.mode, root.uid, root.gid) == (0o700, *AGENT), name
        for path in secrets:
            assert tokens[path] in files[path].data.decode(), f"{name}: {path} not copied"
            assert_private(files, path, f"{name}: ")


def test_import_no_secrets_leaves_a_directory_of_secrets_private(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(
        isolated_env,
        {
            ".ssh/id_ed25519": "PRIVATE KEY\n",
            ".ssh/config": "Host example\n",
            ".config/containai/containai.toml": '[import]\nadditional_paths = ["~/.ssh"]\n',
        },
    )
    (isolated_env / ".ssh").chmod(0o755)  # as many home directories have it
    assert cai("import", "--data-volume", volume).code == 0
    assert read_volume(docker_client, volume)[".ssh"].mode == 0o700

    result = cai("import", "--data-volume", volume, "--no-secrets")

    assert result.code == 0, result.err
    files = read_volume(docker_client, volume)
    assert files[".ssh/id_ed25519"].data == b"PRIVATE KEY\n"  # left untouched, as promised
    assert files[".ssh/id_ed25519"].mode == 0o600
    assert files[".ssh"].mode == 0o700, f".ssh/ is now {files['.ssh'].mode:o} around a key"


def test_a_helper_image_left_by_an_older_containai_does_not_open_up_new_volumes(
    cai: Any, isolated_env: Path, docker_client: Any, own_helper_image: str, volume: str
) -> None:
    """The helper image's mount point gives a new volume its root: an image generated by an
    earlier containai (whose template made it 0755) must not be reused as it is."""
    mount = header("data", tarfile.DIRTYPE, mode=0o755, uid=AGENT[0], gid=AGENT[1])
    docker_client.api.import_image_from_data(
        tar_bytes([(mount, None)]), repository=own_helper_image, tag="uid1000-gid1000"
    )
    write_files(isolated_env, {".claude.json": '{"token": "secret"}\n'})

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    root = volume_root(docker_client, volume)
    assert (root.mode, root.uid, root.gid) == (0o700, *AGENT), f"volume root {root.mode:o}"
