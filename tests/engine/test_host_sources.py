"""Bad host sources against a real engine (issue 7): what cannot be read fails that path
only, a file vanishing or rewritten mid-run is neither lost nor missed.
"""

from __future__ import annotations

import dataclasses
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from containai.steps import REGISTRY
from tests.support.cai import Cai
from tests.support.crash import TREE
from tests.support.engine import read_volume
from tests.support.files import write_files
from tests.support.privileges import as_an_ordinary_reader

pytestmark = pytest.mark.engine


def make_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = Path.cwd()
    os.chdir(path.parent)  # a relative name: the full path may exceed the 108-byte limit
    try:
        server.bind(path.name)
    finally:
        os.chdir(here)
    return server


def test_bad_host_sources_are_reported_per_path_and_the_rest_is_imported(
    isolated_env: Path, docker_client: Any, volume: str
) -> None:
    home = isolated_env
    write_files(
        home,
        {
            f"{TREE}/ok.md": "fine\n",
            f"{TREE}/nested/ok2.md": "fine too\n",
            f"{TREE}/locked.md": "cannot be read\n",
            f"{TREE}/private/inside.md": "behind a locked directory\n",
            ".claude/agents/reviewer.md": "agent\n",
            ".bash_aliases": "alias ll='ls -l'\n",
            ".inputrc": "set editing-mode vi\n",
            ".claude/commands": "a file where a directory belongs\n",
        },
    )
    os.mkfifo(home / ".claude/CLAUDE.md")  # a FIFO where a file is expected
    (home / ".zshrc").mkdir()  # a directory where a file is expected
    (home / ".vimrc").symlink_to(home / ".vimrc2")  # a symlink loop
    (home / ".vimrc2").symlink_to(home / ".vimrc")
    os.mkfifo(home / TREE / "pipe")  # a FIFO and a socket inside a directory entry
    server = make_socket(home / TREE / "agent.sock")
    (home / TREE / "locked.md").chmod(0)  # unreadable
    (home / TREE / "private").chmod(0)
    (home / ".bash_aliases").chmod(0)
    capabilities = as_an_ordinary_reader()

    try:
        result = Cai(home, "import", "--data-volume", volume, preexec_fn=capabilities).finish()
    finally:
        server.close()
        for path in (home / TREE / "private", home / TREE / "locked.md", home / ".bash_aliases"):
            path.chmod(0o700)

    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    expected = {
        "~/.claude/CLAUDE.md": "expected a file, found not a regular file",
        "~/.zshrc": "expected a file, found a directory",
        "~/.vimrc": "too many levels of symbolic links",
        "~/.claude/commands": "expected a directory",
        f"~/{TREE}/pipe": "not a regular file",
        f"~/{TREE}/agent.sock": "not a regular file",
        f"~/{TREE}/private": "permission denied",
        f"{TREE}/locked.md": "permission denied",
        ".bash_aliases": "permission denied",
    }
    lines = result.out.splitlines()
    for path, reason in expected.items():
        reported = [line for line in lines if re.search(rf"\s{re.escape(path)}\s", line)]
        assert reported, f"{path} not reported:\n{result.out}"
        assert reported[0].startswith("error"), reported
        assert reason in reported[0], reported
    assert re.search(r"\b9 failed\b", lines[-1]), lines[-1]
    files = read_volume(docker_client, volume)
    readable = {
        f"{TREE}/ok.md": b"fine\n",
        f"{TREE}/nested/ok2.md": b"fine too\n",
        ".claude/agents/reviewer.md": b"agent\n",
        ".inputrc": b"set editing-mode vi\n",
    }
    assert {path: files[path].data for path in readable if path in files} == readable
    for path in (
        ".claude/CLAUDE.md",
        ".zshrc",
        ".vimrc",
        ".bash_aliases",
        f"{TREE}/pipe",
        f"{TREE}/agent.sock",
        f"{TREE}/locked.md",
        f"{TREE}/private/inside.md",
        ".claude/commands",
    ):
        assert path not in files, path


def test_a_file_vanishing_between_plan_and_transfer_fails_that_path_only(
    cai: Any, isolated_env: Path, docker_client: Any, monkeypatch: pytest.MonkeyPatch, volume: str
) -> None:
    home = isolated_env
    write_files(home, {f"{TREE}/gone.md": "first\n", f"{TREE}/stays.md": "stays\n"})
    assert cai("import", "--data-volume", volume).code == 0
    write_files(home, {f"{TREE}/gone.md": "second, longer\n", f"{TREE}/new.md": "new\n"})
    apply_import = REGISTRY["apply_import"]

    def vanish_then_apply(run: Any) -> None:
        (home / TREE / "gone.md").unlink()  # planned as an update, gone when it is read
        apply_import(run)

    replaced = dataclasses.replace(apply_import, function=vanish_then_apply)
    monkeypatch.setitem(REGISTRY, "apply_import", replaced)
    result = cai("import", "--data-volume", volume)
    monkeypatch.setitem(REGISTRY, "apply_import", apply_import)

    assert result.code == 1, result.err
    assert re.search(rf"^error\s+{re.escape(TREE)}/gone\.md\s+\(no such file", result.out, re.M)
    files = read_volume(docker_client, volume)
    assert files[f"{TREE}/gone.md"].data == b"first\n"  # the old copy, untouched
    assert files[f"{TREE}/new.md"].data == b"new\n"
    assert files[f"{TREE}/stays.md"].data == b"stays\n"
    again = cai("import", "--data-volume", volume)
    assert again.code == 0, again.err
    assert read_volume(docker_client, volume)[f"{TREE}/gone.md"].data == b"first\n"


def test_a_file_rewritten_in_the_second_of_the_import_keeping_its_size_is_imported_again(
    cai: Any, isolated_env: Path, docker_client: Any, volume: str
) -> None:
    """The quick check (size and whole-second mtime) must not hide a change made in the same
    second as the import that read the file: the host's mtimes are finer than a second."""
    settings = isolated_env / ".claude/settings.json"
    settings.parent.mkdir()
    second = int(time.time())
    settings.write_text('{"theme": "dark"}\n')
    os.utime(settings, ns=(second * 10**9 + 200_000_000,) * 2)
    assert cai("import", "--data-volume", volume).code == 0
    settings.write_text('{"theme": "lite"}\n')  # an editor saving again, same size
    os.utime(settings, ns=(second * 10**9 + 700_000_000,) * 2)

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/settings.json"].data == (
        b'{"theme": "lite"}\n'
    )
