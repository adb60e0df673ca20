"""`cai config`: the effective settings and the layer each value came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from containai import settings
from containai import workspaces as volumes


def show(*, workspace: str | None, config: str | None, json_output: bool) -> None:
    path = volumes.workspace_path(workspace)
    loaded = settings.load(path, config_file=Path(config) if config else None)
    volume = volumes.resolve_name(None, loaded.get_str("data_volume"), path)
    if json_output:
        document: dict[str, Any] = {
            "workspace": str(path),
            "data_volume": volume,
            "settings": loaded.as_dict(),
            "origins": {key: origin for key, _value, origin in loaded.leaves()},
        }
        print(json.dumps(document, indent=2))
        return
    print(f"# workspace: {path}")
    print(f"# data volume: {volume}")
    width = max(len(key) for key, _v, _o in loaded.leaves())
    for key, value, origin in loaded.leaves():
        print(f"{key:<{width}} = {json.dumps(value)}  # {origin}")
