"""`cai config`: the effective settings and the layer each value came from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from containai import project as projects
from containai import settings, workspaces
from containai.printable import printable


def show(*, workspace: str | None, config: str | None, json_output: bool) -> None:
    path = workspaces.workspace_path(workspace)
    project = projects.load(path)
    loaded = settings.load(path, config_file=Path(config) if config else None, project=project)
    volume = workspaces.resolve_name(None, loaded.get_str("data_volume"), path)
    ignored = [*project.problems, *loaded.warnings]
    layer = {
        "trust": project.trust,
        "honoured": project.trusted,
        "files": [str(f.path) for f in project.files],
        "ignored": ignored,
    }
    if json_output:
        document: dict[str, Any] = {
            "version": 1,
            "workspace": str(path),
            "data_volume": volume,
            "project": layer,
            "settings": loaded.as_dict(),
            "origins": {key: origin for key, _value, origin in loaded.leaves()},
        }
        print(json.dumps(document, indent=2))
        return
    print(f"# workspace: {printable(str(path))}")
    print(f"# data volume: {printable(volume)}")
    state = "trusted" if project.trusted else f"{project.trust}, ignored"
    for file in project.files:
        print(f"# project file: {printable(str(file.path))} ({state})")
    if project.files and not project.trusted:
        print(f"# review them, then run 'cai trust {printable(str(path))}' to use them")
    for problem in ignored:
        print(f"# ignored: {printable(problem)}")
    width = max(len(key) for key, _v, _o in loaded.leaves())
    for key, value, origin in loaded.leaves():
        print(f"{key:<{width}} = {json.dumps(value)}  # {printable(origin)}")
