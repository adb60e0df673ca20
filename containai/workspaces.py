"""Workspaces and their data volumes: valid names, derived names, labels, and the volume a
workspace was given by ``--reset`` (remembered in ``${XDG_STATE_HOME:-~/.local/state}/containai/
state.toml``, read as a settings layer)."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from containai import paths
from containai.errors import ConfigError, UsageError

# Docker's own rule for volume names; checked before any name reaches the engine, because a
# name that looks like a path would turn a mount specification into a bind mount.
_VALID = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
_MAX_LENGTH = 255
_PREFIX = "containai"

LABEL_MANAGED = "containai.managed"
LABEL_WORKSPACE = "containai.workspace"
LABEL_VOLUME = "containai.data-volume"


def validate_name(name: str) -> str:
    if not name or len(name) > _MAX_LENGTH or not _VALID.match(name):
        raise UsageError(
            f"invalid volume name {name!r}: use 1-255 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return name


def derived_name(workspace: Path) -> str:
    """containai-<readable basename>-<hash of the resolved path>: stable and unique per path."""
    resolved = workspace.expanduser().resolve()
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    base = re.sub(r"[^a-z0-9_.-]+", "-", resolved.name.lower()).strip("-._")[:40] or "root"
    return f"{_PREFIX}-{base}-{digest}"


def resolve_name(explicit: str | None, configured: str, workspace: Path) -> str:
    """--data-volume, else the settings (config files, workspace sections, env), else derived."""
    return validate_name(explicit or configured or derived_name(workspace))


def labels_for(workspace: Path) -> dict[str, str]:
    return {LABEL_MANAGED: "true", LABEL_WORKSPACE: str(workspace.expanduser().resolve())}


def nearest_registered(path: Path, registered: set[str]) -> Path | None:
    """The workspace ``path`` lies in: itself or its nearest ancestor that has a containai
    volume or container (upstream's nested workspaces), or None."""
    for candidate in (path, *path.parents):
        if str(candidate) in registered:
            return candidate
    return None


def workspace_path(workspace: str | None) -> Path:
    path = Path(workspace).expanduser() if workspace else Path.cwd()
    if not path.is_dir():
        raise UsageError(f"workspace {path} is not a directory")
    return path.resolve()


def record_volume(workspace: Path, volume: str) -> Path:
    """Remember ``volume`` as the workspace's data volume (written atomically)."""
    path = paths.state_file()
    workspaces = _read(path)
    workspaces[str(workspace)] = {"data_volume": volume}
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["# Written by containai (cai run --reset). Safe to edit or delete.\n"]
    for key in sorted(workspaces):
        # JSON strings are valid TOML basic strings for everything a path or name holds.
        lines.append(f"\n[workspace.{json.dumps(key)}]\n")
        for name, value in sorted(workspaces[key].items()):
            lines.append(f"{name} = {json.dumps(value)}\n")
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
        handle.writelines(lines)
    Path(handle.name).replace(path)
    return path


def _read(path: Path) -> dict[str, dict[str, Any]]:
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as error:
        raise ConfigError(f"{path}: cannot read containai's state: {error}") from None
    workspaces = data.get("workspace", {})
    return {k: dict(v) for k, v in workspaces.items() if isinstance(v, dict)}
