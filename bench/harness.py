"""The bench's plumbing: the engine client, the cai child processes, volumes, container counts."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import tomllib
from pathlib import Path
from typing import Any

from bench import baselines, rsync_image
from bench.config import CAI, PYTHON, ROOT, Config, Samples, log
from bench.measure import Child, EventRecorder, run_child

# The end of the summary line of `cai import` (text output), and ui.human_bytes's units.
_SENT = re.compile(r"(\d+) files \(([\d.]+) (B|kB|MB|GB|TB)\) sent")
_UNITS = {"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}
# What `cai import --verbose` says after a three-way re-import read only the changed paths.
_READ = re.compile(r"read (\d+) changed paths of the volume in (\d+) requests")


class CaiFailed(RuntimeError):
    """A cai command exited non-zero."""

    def __init__(self, args: tuple[str, ...], code: int, stderr: str) -> None:
        words = stderr.strip()
        super().__init__(f"cai {' '.join(args)} exited {code}: {words[-2000:]}")
        lines = words.splitlines()
        self.last_words = f"exit {code}: {lines[-1] if lines else '(nothing on stderr)'}"


def connect(host: str | None = None, timeout: int = 600) -> Any:
    """A Docker SDK client for ``host`` (a DOCKER_HOST value; None: the environment's). An
    ssh:// host is reached with the ssh binary (paramiko is not installed)."""
    import docker

    if host is None:
        host = os.environ.get("DOCKER_HOST")
    if host is None:
        client = docker.from_env(timeout=timeout)
    else:
        client = docker.DockerClient(
            base_url=host, timeout=timeout, use_ssh_client=host.startswith("ssh://")
        )
    client.ping()
    return client


class Bench:
    def __init__(self, config: Config, client: Any, tmp: Path) -> None:
        self.config = config
        self.client = client
        self.tmp = tmp
        self.work = tmp / "workspace"  # cwd of every cai command: no containai.toml above it
        self.work.mkdir()
        self.volumes: set[str] = set()
        self.source = ROOT
        self.revision = describe(ROOT, None)
        if config.ref:
            self.source = snapshot(config.ref, tmp / "checkout")
            self.revision = describe(ROOT, config.ref)
        settings = tomllib.loads((self.source / "settings.toml").read_text())
        self.level = int(settings["export"]["compression_level"])
        self.excludes = list(settings["import"]["default_excludes"])
        self.upstream_image: str | None = None
        self.recorder = EventRecorder(client)
        self.upstream_note = ""
        self.compile()

    def compile(self) -> None:
        """Byte-compile containai (into its ``__pycache__``, which git ignores) before anything
        is timed: pip does so at install, and without it every command compiles each module it
        imports (about 0.1 s on W1's import). Stale bytecode (a file edited since) is redone."""
        argv = [str(PYTHON), "-m", "compileall", "-q", str(self.source / "containai")]
        done = subprocess.run(argv, env=self.env(self.work), capture_output=True, check=False)
        if done.returncode != 0:
            log(f"compileall failed ({done.returncode}): {done.stdout.decode()[-300:]}")

    # -- volumes ---------------------------------------------------------------------------------

    def volume(self, tag: str) -> str:
        name = baselines.new_volume_name(tag)
        self.volumes.add(name)
        return name

    def drop(self, name: str, client: Any = None) -> None:
        baselines.remove_volume(client or self.client, name)
        self.volumes.discard(name)

    # -- cai -------------------------------------------------------------------------------------

    def env(self, home: Path, docker_host: str | None = None) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith("CONTAINAI_")
            and not key.endswith("_FOR_DYNACONF")
            and key not in ("XDG_CONFIG_HOME", "GIT_CONFIG_GLOBAL", "VIRTUAL_ENV")
            and key != "PYTHONDONTWRITEBYTECODE"  # an installed cai has its bytecode
        }
        env["HOME"] = str(home)
        if docker_host is not None:
            env["DOCKER_HOST"] = docker_host
        if self.source != ROOT:
            env["PYTHONPATH"] = str(self.source)  # ahead of the editable install's /work path
        return env

    def child(self, home: Path, argv: list[str], docker_host: str | None = None) -> Child:
        return run_child(argv, env=self.env(home, docker_host), cwd=self.work)

    def cai(
        self,
        home: Path,
        *args: str,
        into: tuple[Samples, str] | None = None,
        docker_host: str | None = None,
    ) -> Child:
        """Run cai; ``into`` records its wall time and peak RSS under a measurement name."""
        child = self.child(home, [str(CAI), *args], docker_host)
        if child.code != 0:
            raise CaiFailed(args, child.code, child.stderr or child.stdout)
        if into is not None:
            samples, name = into
            samples.add(name, child.wall)
            samples.rss.setdefault(name, []).append(child.maxrss_mib)
        return child

    def count(self, samples: Samples, name: str, started: float, ended: float, volume: str) -> None:
        counts = self.recorder.count(started, ended, volume)
        samples.containers.setdefault(name, []).append(counts)

    # -- the rsync image for B-upstream ---------------------------------------------------------

    def prepare_upstream(self) -> None:
        if not self.config.upstream:
            self.upstream_note = "skipped (--no-upstream)"
            return
        if rsync_image.exists():
            self.upstream_image = rsync_image.IMAGE
            return
        if not self.config.build_image:
            self.upstream_note = (
                f"skipped: image {rsync_image.IMAGE} absent (smoke mode does not build it)"
            )
            log(self.upstream_note)
            return
        log(f"building {rsync_image.IMAGE} with debootstrap (once; cached by tag)")
        try:
            rsync_image.build(quiet=True)
        except Exception as error:
            self.upstream_note = f"skipped: could not build {rsync_image.IMAGE}: {error}"
            log(self.upstream_note)
            return
        self.upstream_image = rsync_image.IMAGE

    # -- the end ---------------------------------------------------------------------------------

    def foreign_containers(self) -> int:
        created = [e for e in self.recorder.events if e.get("Action") == "create"]
        return sum(
            1
            for event in created
            if not any(
                str(value).startswith(baselines.PREFIX)
                for value in ((event.get("Actor") or {}).get("Attributes") or {}).values()
            )
        )

    def cleanup(self) -> None:
        self.recorder.close()
        for name in list(self.volumes):
            self.drop(name)
        with contextlib.suppress(Exception):
            for container in self.client.api.containers(
                all=True, filters={"label": baselines.LABEL}
            ):
                self.client.api.remove_container(container["Id"], force=True)


def sent(child: Child) -> tuple[int, int]:
    """(files_sent, bytes_sent) of an import or restore: from ``result`` under ``--json``, else
    from the summary line (``...; 12 files (3.4 MB) sent``; bytes exact below 1 kB)."""
    if child.stdout.lstrip().startswith("{"):
        result = json.loads(child.stdout)["result"]
        return int(result["files_sent"]), int(result["bytes_sent"])
    found = _SENT.findall(child.stdout)
    if not found:
        raise RuntimeError(f"no 'N files (X) sent' in cai's output: {child.stdout[-500:]!r}")
    files, number, unit = found[-1]
    return int(files), round(float(number) * _UNITS[unit])


def volume_reads(child: Child) -> tuple[int, int] | None:
    """(paths, requests) of ``read N changed paths of the volume in M requests``, if said."""
    found = _READ.search(child.stderr)
    return (int(found.group(1)), int(found.group(2))) if found else None


def snapshot(ref: str, into: Path) -> Path:
    """``git archive REF`` unpacked into ``into``: a frozen containai for a stable measurement."""
    into.mkdir()
    archive = subprocess.Popen(["git", "-C", str(ROOT), "archive", ref], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(into)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise SystemExit(f"bench: git archive {ref} failed")
    return into


def describe(root: Path, ref: str | None) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "rev-parse", "--short", ref or "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    revision = done.stdout.strip() or "unknown"
    if ref is None:
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "containai", "settings.toml"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
        return (
            f"{revision} + uncommitted changes (work tree)" if dirty else f"{revision} (work tree)"
        )
    return f"{revision} ({ref}, snapshot)"
