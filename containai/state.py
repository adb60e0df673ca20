"""What containai remembers between commands: which volume a workspace was reset to.

Kept apart from the user's hand-written settings, in ``${XDG_STATE_HOME:-~/.local/state}/
containai/state.toml``, and read as a settings layer (above the project's containai.toml, below
--config, the environment and flags). Its only content is ``[workspace."/abs/path"]`` tables.
"""

from __future__ import annotations

import json
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from containai.errors import ConfigError


def state_file(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_STATE_HOME") or str(Path(environ.get("HOME", "~"), ".local", "state"))
    return Path(base).expanduser() / "containai" / "state.toml"


def record_volume(workspace: Path, volume: str) -> Path:
    """Remember ``volume`` as the workspace's data volume (written atomically)."""
    path = state_file()
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
