"""Issue 13 against a real engine: the agent owns the volume and archives come from anywhere.

Memory stays bounded whatever the volume holds, every export restores, a restore owns what it
writes, verify refuses what restore would write unlisted, no control character reaches the
terminal, and one lock per volume serialises commands of different homes. (An interrupt leaves
no helper behind: test_interrupts.py.)
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import Cai, cai_env, run_cai
from tests.support.engine import in_volume, read_volume, volume_exists
from tests.support.files import write_files
from tests.support.tars import header, write_tgz

pytestmark = [pytest.mark.engine]

ESC = "\x1b]52;c;ZXZpbA==\x07"  # OSC 52: writes the clipboard of the terminal that prints it
MiB = 1024 * 1024
RSS_LIMIT = 200 * 1000 * 1000  # bytes
EXCLUDE_NODE_MODULES = {".config/containai/containai.toml": 'excludes = ["node_modules/"]\n'}


def peak_rss(home: Path, *args: str) -> tuple[int, int, str]:
    """Run ``cai ARGS`` as the only child of a fresh interpreter: (exit code, peak RSS in
    bytes, stderr)."""
    probe = (
        "import resource, subprocess, sys\n"
        "done = subprocess.run([sys.executable, '-m', 'containai', *sys.argv[1:]],"
        " capture_output=True, text=True)\n"
        "sys.stderr.write(done.stderr)\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        env=cai_env(home),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    code, kib = done.stdout.split()
    return int(code), int(kib) * 1024, done.stderr


# -- bounded memory ----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_huge_sparse_state_file_costs_no_memory(
    isolated_env: Path, docker_client: Any, volume: str
) -> None:
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})
    assert run_cai(isolated_env, "import", "--data-volume", volume).code == 0
    in_volume(
        docker_client, volume, "dd if=/dev/zero of=/v/.containai/state.json bs=1M seek=2048 count=0"
    )
    write_files(isolated_env, {".claude/CLAUDE.md": "new notes\n"})

    code, rss, err = peak_rss(isolated_env, "import", "--data-volume", volume)

    assert code == 0, err
    assert rss < RSS_LIMIT, f"peak RSS {rss / MiB:.0f} MiB"
    assert "state.json is 2147483648 bytes" in err and "ignored" in err
    assert read_volume(docker_client, volume)[".claude/CLAUDE.md"].data == b"new notes\n"


@pytest.mark.slow
def test_an_export_streams_a_huge_hard_linked_file(
    isolated_env: Path, docker_client: Any, tmp_path: Path, volume: str
) -> None:
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n", **EXCLUDE_NODE_MODULES})
    assert run_cai(isolated_env, "import", "--data-volume", volume).code == 0
    # The first name is excluded (node_modules/): the export fetches the content through the
    # second name, which must stream.
    in_volume(
        docker_client,
        volume,
        "mkdir -p /v/node_modules && dd if=/dev/zero of=/v/node_modules/big bs=1M seek=1024"
        " count=0 && ln /v/node_modules/big /v/big-link",
    )
    archive = tmp_path / "big.tgz"

    code, rss, err = peak_rss(isolated_env, "export", "--data-volume", volume, "-o", str(archive))

    assert code == 0, err
    assert rss < RSS_LIMIT, f"peak RSS {rss / MiB:.0f} MiB"
    with tarfile.open(archive) as tar:
        assert tar.getmember("big-link").size == 1024 * MiB


# -- exports always restore --------------------------------------------------------------------


ODD_VOLUME = """
set -e
cd /v
echo '[user]' > .gitconfig
ln -s .gitconfig s && ln s hl                      # a hard link to a symlink (cp -al)
mkdir -p .containai d1 d2 node_modules
ln -s ../.gitconfig d1/up && ln d1/up .containai/hl2  # the same, one name under .containai/
echo shared > d1/f && ln d1/f d2/f                   # hard links across directories
echo excluded > node_modules/x && ln node_modules/x kept  # to a file excluded by a pattern
ln -s /etc/passwd abs && ln abs abs-link             # to a symlink a restore refuses
"""


def test_every_export_of_an_odd_volume_verifies_and_restores(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    source, target = new_volume("odd"), new_volume("odd-restored")
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n", **EXCLUDE_NODE_MODULES})
    assert cai("import", "--data-volume", source).code == 0
    in_volume(docker_client, source, ODD_VOLUME)
    archive = tmp_path / "odd.tgz"

    exported = cai("export", "--data-volume", source, "-o", str(archive))
    assert exported.code == 0, exported.err
    assert "internal error" not in exported.err
    verified = cai("export", "--verify", str(archive))
    assert verified.code == 0, verified.out + verified.err
    restored = cai("import", "--data-volume", target, "--from", str(archive))
    assert restored.code == 0, restored.err

    nodes = read_volume(docker_client, target)
    assert nodes["hl"].kind == "symlink" and nodes["hl"].linkname == ".gitconfig"
    assert nodes["d2/f"].data == b"shared\n" and nodes["d1/f"].data == b"shared\n"
    assert nodes["kept"].data == b"excluded\n"
    assert "node_modules/x" not in nodes
    assert "abs" not in nodes and "abs-link" not in nodes  # left out, with a warning
    assert "abs-link" in exported.err


# -- restore owns what it writes ---------------------------------------------------------------


def test_a_restore_gives_everything_to_the_agent_and_strips_special_bits(
    cai: Any, docker_client: Any, tmp_path: Path, volume: str
) -> None:
    archive = write_tgz(
        tmp_path / "hostile-owners.tgz",
        [
            (header("shared", tarfile.DIRTYPE, mode=0o7777, uid=0, gid=0), None),
            (header(".claude", tarfile.DIRTYPE, mode=0o700, uid=0, gid=0), None),
            (header(".claude/settings.json", mode=0o4755, uid=0, gid=0, size=3), b"{}\n"),
            (header("sticky", mode=0o1644, uid=4321, gid=4321, size=2), b"x\n"),
            (header("locked", tarfile.DIRTYPE, mode=0o000, uid=0, gid=0), None),
        ],
    )

    result = cai("import", "--data-volume", volume, "--from", str(archive))

    assert result.code == 0, result.err
    nodes = read_volume(docker_client, volume)
    for path in ("shared", ".claude", ".claude/settings.json", "sticky", "locked"):
        assert (nodes[path].uid, nodes[path].gid) == (1000, 1000), path
        assert nodes[path].mode & 0o7000 == 0, f"{path}: {nodes[path].mode:o}"
    assert nodes["shared"].mode == 0o777
    assert nodes[".claude"].mode == 0o700 and nodes["locked"].mode == 0o700
    assert nodes[".claude/settings.json"].mode == 0o755


# -- verify = what restore would write ---------------------------------------------------------


def test_an_archive_whose_hard_link_smuggles_other_content_fails_verify_and_restore(
    cai: Any, docker_client: Any, tmp_path: Path, volume: str
) -> None:
    from containai.archive.schema import ExportManifest, ManifestFile, manifest_tarinfo

    good, evil = b"[user]\n\tname = Good\n", b"[core]\n\tsshCommand = evil\n"

    manifest = ExportManifest(
        tool_version="0.1.0",
        created="2026-12-06T00:00:00Z",
        volume_name="v",
        volume_labels={},
        excludes=True,
        secrets=True,
        files={"cfg": ManifestFile(len(good), hashlib.sha256(good).hexdigest(), False, 0o644)},
    )
    data = manifest.to_json()
    archive = write_tgz(
        tmp_path / "alias.tgz",
        [
            (header("cfg", size=len(evil)), evil),
            (header("alias", tarfile.LNKTYPE, linkname="cfg"), None),
            (header("cfg", size=len(good)), good),
            (manifest_tarinfo(data, mtime=0, uid=0, gid=0), data),
        ],
    )

    verified = cai("export", "--verify", str(archive))
    assert verified.code == 1
    assert "alias" in verified.out + verified.err
    restored = cai("import", "--data-volume", volume, "--from", str(archive))
    assert restored.code == 1 and "alias" in restored.err
    assert not volume_exists(docker_client, volume)


# -- nothing raw reaches the terminal ----------------------------------------------------------


def no_control(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text, repr(text)


def test_a_hostile_name_in_the_container_reaches_the_terminal_escaped(
    cai: Any, docker_client: Any, agent_run_env: str, tmp_path: Path, engine_cleanup: None
) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    started = cai("run", str(workspace))
    assert started.code == 0, started.err
    name = started.out.strip()
    container = docker_client.containers.get(name)
    # The agent plants a symlink named with a terminal escape where a manifest entry goes.
    code, _ = container.exec_run(
        ["sh", "-c", f"rm -f ~/.gitconfig && ln -s '/x{ESC}' ~/.gitconfig"], user="1000:1000"
    )
    assert code == 0

    result = cai("sync", "--container", name, "-v")
    no_control(result.out + result.err)
    assert "\\x1b]52" in result.out + result.err


def test_hostile_archive_names_and_a_non_utf8_name_print_safely(
    isolated_env: Path, tmp_path: Path, volume: str
) -> None:
    archive = write_tgz(tmp_path / "names.tgz", [(header(f"evil{ESC}.txt", size=1), b"x")])
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})
    (isolated_env / os.fsdecode(b".claude/raw-\xff.md")).write_bytes(b"x")

    for args in (
        ("import", "--data-volume", volume, "-v"),
        ("import", "--data-volume", volume, "--from", str(archive), "--dry-run", "-v"),
    ):
        # Strict: an unencodable name printed raw would be a crash, not a replacement.
        result = run_cai(isolated_env, *args, PYTHONIOENCODING="utf-8:strict")
        assert result.code == 0, result.err
        assert "Traceback" not in result.err
        no_control(result.out + result.err)


# -- one lock per volume, across homes ---------------------------------------------------------


@pytest.mark.slow
def test_two_homes_importing_into_one_volume_never_mix(
    tmp_path: Path, docker_client: Any, volume: str
) -> None:
    homes = []
    for tag in ("a", "b"):
        home = tmp_path / f"home-{tag}"
        files = {f".claude/commands/c{n:02d}.md": f"{tag} {n}\n" * 50 for n in range(50)}
        write_files(home, files)
        homes.append(home)

    for round_ in range(20):
        runs = [Cai(home, "import", "--data-volume", volume) for home in homes]
        results = [run.finish(timeout=120) for run in runs]
        for result in results:
            assert result.code == 0, f"round {round_}: {result.err}"
        nodes = read_volume(docker_client, volume)
        tags = {nodes[f".claude/commands/c{n:02d}.md"].data[:1] for n in range(50)}
        assert tags in ({b"a"}, {b"b"}), f"round {round_}: a mix of both homes"
        staged = [p for p in nodes if p.startswith(".containai/staging/")]
        assert staged == [], f"round {round_}: {staged}"
