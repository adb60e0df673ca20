"""B-upstream: upstream's §9 import mechanism, for the B-upstream/P1 comparison.

One ``docker run --rm`` rsync helper over a bind-mounted source (one rsync per manifest entry,
sequentially), plus the extra helper containers upstream starts per import.
"""

from __future__ import annotations

import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from bench.baselines import TEST_IMAGE, VOLUME_LABEL

AGENT = "1000:1000"

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


def script(manifest: Path, excludes: list[str]) -> str:
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


def run(client: Any, tree: Path, volume: str, script: str, image: str) -> None:
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
