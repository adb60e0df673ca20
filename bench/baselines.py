"""The baselines: what the engine (and the upstream mechanism) can do with the same files.

B-raw-in    SDK put_archive of a streamed tar into a fresh volume (created, never-started container)
B-raw-out   SDK get_archive of a volume + Python gzip at containai's export.compression_level
B-cp        ``docker cp TREE/. holder:/data`` into a fresh volume
B-upstream  upstream's §9 import: one ``docker run --rm`` rsync helper over a bind-mounted source
            (one rsync per manifest entry, sequentially) plus the extra helper containers
            upstream starts per import
"""

from __future__ import annotations

import contextlib
import gzip
import shlex
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEST_IMAGE = "containai-test/busybox:latest"
MOUNT = "/data"
CHUNK = 1024 * 1024
PREFIX = "cai-bench-"
LABEL = "containai-bench"
AGENT = "1000:1000"
VOLUME_LABEL = "cai-bench.volume"  # lets the event count attribute a container to its volume


def new_volume_name(tag: str) -> str:
    return f"{PREFIX}{tag}-{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def holder(client: Any, volume: str, *, read_only: bool = False) -> Iterator[str]:
    """A created, never-started container with ``volume`` at /data; removed afterwards."""
    container = client.api.create_container(
        image=TEST_IMAGE,
        command=["true"],
        labels={LABEL: "holder", VOLUME_LABEL: volume},
        network_disabled=True,
        host_config=client.api.create_host_config(
            binds={volume: {"bind": MOUNT, "mode": "ro" if read_only else "rw"}},
            network_mode="none",
        ),
    )
    try:
        yield str(container["Id"])
    finally:
        client.api.remove_container(container["Id"], force=True)


def _tar_chunks(tree: Path) -> Iterator[bytes]:
    """A GNU tar of ``tree``'s content, owned by the agent, read from the pipe in 1 MiB chunks."""
    command = ["tar", "-C", str(tree), "--owner=1000", "--group=1000", "--numeric-owner", "-c", "."]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    assert process.stdout is not None
    try:
        while chunk := process.stdout.read(CHUNK):
            yield chunk
    finally:
        process.stdout.close()
        if process.wait() != 0:
            raise RuntimeError(f"tar failed: {shlex.join(command)}")


def raw_in(client: Any, tree: Path, volume: str) -> None:
    """B-raw-in: put_archive of ``tree`` into ``volume`` (which the engine creates on use)."""
    with holder(client, volume) as container:
        client.api.put_archive(container, MOUNT, _tar_chunks(tree))


def raw_out(client: Any, volume: str, out: Path, level: int) -> int:
    """B-raw-out: get_archive of the whole volume, gzip-compressed at ``level`` into ``out``."""
    with holder(client, volume, read_only=True) as container:
        stream, _stat = client.api.get_archive(container, MOUNT, chunk_size=CHUNK)
        with (
            open(out, "wb") as raw,
            gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=level) as gz,
        ):
            for chunk in stream:
                gz.write(chunk)
    return out.stat().st_size


def docker_cp(client: Any, tree: Path, volume: str) -> None:
    """B-cp: the docker CLI copies ``tree`` into the volume through a created container."""
    with holder(client, volume) as container:
        subprocess.run(
            ["docker", "cp", f"{tree}/.", f"{container}:{MOUNT}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )


# -- B-upstream ---------------------------------------------------------------------------------

# What upstream starts besides the main rsync container for one directory-mode import (§9):
# plugin transform, marketplaces, orphan cleanup, enabledPlugins read + write, copilot, git, zsh,
# timestamp, env; each a ``docker run --rm --network=none`` against the volume. Their work is
# tiny; what they cost is container start-up, which is the point of the comparison.
UPSTREAM_EXTRA_HELPERS: tuple[tuple[str, str], ...] = (
    (
        "plugin-transform",
        "test -f /t/.claude/settings.json && cat /t/.claude/settings.json >/dev/null || true",
    ),
    ("marketplaces", "mkdir -p /t/.claude/plugins && ls /t/.claude/plugins >/dev/null"),
    ("orphan-cleanup", "ls -a /t/.claude >/dev/null 2>&1 || true"),
    ("enabled-plugins-read", "cat /t/.claude/settings.json >/dev/null 2>&1 || true"),
    ("enabled-plugins-write", "touch /t/.claude/settings.json"),
    ("copilot-1", "mkdir -p /t/.copilot && ls /t/.copilot >/dev/null"),
    ("copilot-2", "test -f /t/.copilot/config.json || echo '{}' >/t/.copilot/config.json"),
    ("git", "test -f /t/.gitconfig && sed -i '/helper/d' /t/.gitconfig || true"),
    ("zsh", "test -f /t/.zshrc && cat /t/.zshrc >/dev/null || true"),
    ("timestamp", "date +%s >/t/.containai-import-timestamp"),
    ("env", "echo BENCH=1 >/t/.containai-env"),
)


def upstream_script(manifest: Path, excludes: list[str]) -> str:
    """The shell script the main rsync helper runs: one rsync per manifest entry, in order."""
    entries = tomllib.loads(manifest.read_text())["entries"]
    flags = " ".join(["-a", f"--chown={AGENT}", *(f"--exclude={shlex.quote(p)}" for p in excludes)])
    lines = ["set -eu"]
    for entry in entries:
        if not entry.get("enabled", True) or entry.get("credential"):
            continue
        source = entry["source"]
        target = entry.get("target", source)
        src, dst = shlex.quote(f"/source/{source}"), shlex.quote(f"/target/{target}")
        if entry["kind"] == "dir":
            lines.append(f"if [ -d {src} ]; then mkdir -p {dst} && rsync {flags} {src}/ {dst}/; fi")
        else:
            parent = shlex.quote(str(Path(f"/target/{target}").parent))
            lines.append(
                f"if [ -f {src} ]; then mkdir -p {parent} && rsync {flags} {src} {dst}; fi"
            )
    return "\n".join(lines) + "\n"


def upstream(client: Any, tree: Path, volume: str, script: str, image: str) -> None:
    """B-upstream: volume inspect/create, the main rsync helper, then the extra helpers."""
    subprocess.run(["docker", "volume", "create", volume], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [
            "docker", "run", "--rm", "--network=none", "--user=0:0",
            f"--label={VOLUME_LABEL}={volume}",
            "-v", f"{tree}:/source:ro", "-v", f"{volume}:/target",
            image, "sh", "-c", script,
        ],
        check=True,
    )  # fmt: skip
    for _name, command in UPSTREAM_EXTRA_HELPERS:
        subprocess.run(
            [
                "docker", "run", "--rm", "--network=none", f"--label={VOLUME_LABEL}={volume}",
                "-v", f"{volume}:/t", TEST_IMAGE, "sh", "-c", command,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )  # fmt: skip


def remove_volume(client: Any, volume: str) -> None:
    with contextlib.suppress(Exception):
        client.api.remove_volume(volume, force=True)
