"""The first end-to-end slice: git and gh configs land in a named volume, owned by the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support.engine import read_volume
from tests.support.files import write_files

pytestmark = pytest.mark.engine


def test_import_copies_git_and_gh_into_a_labelled_volume(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(
        isolated_env,
        {
            ".gitconfig": "[user]\n\tname = Ada\n[credential]\n\thelper = store\n",
            ".config/gh/config.yml": "git_protocol: ssh\n",
        },
    )

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    files = read_volume(docker_client, volume)
    assert files[".config/gh/config.yml"].data == b"git_protocol: ssh\n"
    assert b"name = Ada" in files[".gitconfig"].data
    assert b"helper" not in files[".gitconfig"].data
    for path in (".gitconfig", ".config/gh/config.yml", ".config/gh", ".config"):
        assert (files[path].uid, files[path].gid) == (1000, 1000), path
    labels = docker_client.volumes.get(volume).attrs["Labels"]
    assert labels["containai.managed"] == "true"
    assert labels["containai.workspace"] == str(Path.cwd())
