"""One row per engine (issue 19): W1's cold import, no-op import, export and restore, run against
each DOCKER_HOST given with ``--engines``. A failure is reported in the row, never raised."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any

from bench import baselines
from bench.config import COLD, EXPORT, NOOP, RESTORE, Samples, log
from bench.harness import Bench, CaiFailed, connect
from bench.measure import summary
from bench.sequence import generate

LOCAL = "unix:///var/run/docker.sock"
# What `--engines all` means: the engines scripts/engines/* bring up on this machine.
KNOWN = (
    LOCAL,
    "unix:///run/containai-podman/podman.sock",
    "tcp://127.0.0.1:23750",
    "ssh://root@127.0.0.1:2222",
)
COMMANDS = (COLD, NOOP, EXPORT, RESTORE)


def main_host() -> str:
    return os.environ.get("DOCKER_HOST") or LOCAL


def parse(value: str) -> list[str]:
    """``all`` or a comma-separated list of DOCKER_HOST values, in order, without repeats."""
    hosts = [h.strip() for h in value.split(",") if h.strip()]
    expanded = [h for host in hosts for h in (KNOWN if host == "all" else (host,))]
    return list(dict.fromkeys(expanded))


def engine_name(client: Any) -> str:
    version = client.version()
    platform = (version.get("Platform") or {}).get("Name") or ""
    components = [c.get("Name", "") for c in version.get("Components") or []]
    kind = "Podman" if "podman" in f"{platform} {components}".lower() else "Docker"
    return f"{kind} {version.get('Version', '?')}"


def main_row(samples: Samples | None) -> dict[str, Any] | None:
    """The main run's W1 numbers as this engine's row (same run, same commands)."""
    if samples is None:
        return None
    client = None
    with contextlib.suppress(Exception):
        client = connect(None, timeout=30)
    row: dict[str, Any] = {
        "host": main_host(),
        "engine": engine_name(client) if client is not None else "?",
        "source": "the main run (W1)",
        "seconds": {c: summary(samples.times.get(c, [])) for c in COMMANDS},
        "peak_rss_mib": {c: max(samples.rss.get(c, []) or [0]) for c in COMMANDS},
        "failed": {},
    }
    if client is not None:
        client.close()
    return row


def measure(bench: Bench, hosts: list[str]) -> list[dict[str, Any]]:
    """W1's four commands on each engine; the main engine's row comes from the main run."""
    rows: list[dict[str, Any]] = []
    others = [h for h in hosts if h != main_host()]
    if not others:
        return rows
    workload = generate(bench, "W1")
    try:
        for host in others:
            log(f"engine {host}: W1 import, no-op, export, restore")
            rows.append(_engine(bench, host, workload.home))
    finally:
        if not bench.config.keep:
            shutil.rmtree(workload.home, ignore_errors=True)
    return rows


def _ssh_config(home: Path) -> None:
    """An ssh:// engine needs the client's SSH config and known hosts (the docker-ssh script
    writes them to the user's ~/.ssh); cai runs with the workload as HOME and never imports
    ~/.ssh, so a copy there changes nothing that is measured."""
    real = Path(os.path.expanduser("~")) / ".ssh"
    target = home / ".ssh"
    target.mkdir(mode=0o700, exist_ok=True)
    for name in ("config", "known_hosts"):
        if (real / name).exists():
            shutil.copy2(real / name, target / name)


def _engine(bench: Bench, host: str, home: Path) -> dict[str, Any]:
    row: dict[str, Any] = {"host": host, "engine": "?", "source": "measured", "failed": {}}
    try:
        client = connect(host, timeout=120)
        row["engine"] = engine_name(client)
    except Exception as error:
        row["failed"]["connect"] = f"{type(error).__name__}: {error}"[:300]
        log(f"engine {host}: cannot connect: {row['failed']['connect']}")
        return row
    if host.startswith("ssh://"):
        _ssh_config(home)
    samples = Samples()
    warmup = 0 if bench.config.smoke else max(1, bench.config.warmup)
    try:
        for number in range(warmup + bench.config.runs):
            target = samples if number >= warmup else Samples()
            if not _once(bench, client, host, home, target, row["failed"]):
                break
    finally:
        client.close()
        shutil.rmtree(home / ".ssh", ignore_errors=True)
    row["seconds"] = {c: summary(samples.times.get(c, [])) for c in COMMANDS}
    row["peak_rss_mib"] = {c: max(samples.rss.get(c, []) or [0]) for c in COMMANDS}
    return row


def _once(
    bench: Bench, client: Any, host: str, home: Path, target: Samples, failed: dict[str, str]
) -> bool:
    """One cold import, no-op, export and restore on ``host``; False (and ``failed`` filled in)
    at the first failure."""
    main = baselines.new_volume_name("engine")
    restored = baselines.new_volume_name("engine-restore")
    archive = bench.tmp / "engine-export.tgz"
    steps = (
        (COLD, ("import", "--data-volume", main)),
        (NOOP, ("import", "--data-volume", main)),
        (EXPORT, ("export", "--data-volume", main, "-o", str(archive))),
        (RESTORE, ("import", "--from", str(archive), "--data-volume", restored)),
    )
    try:
        for name, args in steps:
            try:
                bench.cai(home, *args, into=(target, name), docker_host=host)
            except CaiFailed as error:
                failed[name] = error.last_words[:300]
                log(f"engine {host}: {name} failed: {failed[name]}")
                return False
    finally:
        for volume in (main, restored):
            baselines.remove_volume(client, volume)
        archive.unlink(missing_ok=True)
    return True
