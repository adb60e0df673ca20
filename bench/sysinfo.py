"""The machine and the engine the numbers were measured on."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def fstype(path: str | Path) -> str:
    return _run("findmnt", "-no", "FSTYPE", "-T", str(path)) or "unknown"


def machine(workdir: Path) -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    total_kib = next(
        (int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:")), 0
    )
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        platform.processor() or "unknown",
    )
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu": model,
        "ram_gib": round(total_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": _run("sh", "-c", ". /etc/os-release && echo $PRETTY_NAME") or platform.system(),
        "python": platform.python_version(),
        "workdir": str(workdir),
        "workdir_fstype": fstype(workdir),
    }


def engine(client: Any) -> dict[str, Any]:
    version = client.version()
    info = client.info()
    root = info.get("DockerRootDir", "")
    status = dict(info.get("DriverStatus") or [])
    import docker

    return {
        "server_version": version.get("Version", ""),
        "api_version": version.get("ApiVersion", ""),
        "cli_version": _run("docker", "version", "--format", "{{.Client.Version}}"),
        "sdk_version": docker.__version__,
        "storage_driver": info.get("Driver", ""),
        "backing_filesystem": status.get("Backing Filesystem", ""),
        "docker_root_dir": root,
        "data_root_fstype": fstype(root) if root else "unknown",
        "logging_driver": info.get("LoggingDriver", ""),
        "cgroup": f"{info.get('CgroupDriver', '')} v{info.get('CgroupVersion', '')}",
    }
