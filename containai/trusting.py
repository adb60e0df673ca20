"""`cai trust`: review a workspace's project files, and trust them as they are now (or stop)."""

from __future__ import annotations

import json
from typing import Any

from containai import project as projects
from containai import workspaces
from containai.errors import UsageError
from containai.printable import printable


def trust(*, workspace: str | None, revoke: bool, show: bool, json_output: bool) -> None:
    if revoke and show:
        raise UsageError("--revoke and --show cannot be used together")
    path = workspaces.workspace_path(workspace)
    layer = projects.load(path)
    if revoke:
        done = projects.revoke_trust(path)
        layer = projects.load(path)
        message = "no longer trusted" if done else "was not trusted"
    elif show:
        message = layer.trust
    elif not layer.files:
        message = "has no containai.toml or .containai/ files: nothing to trust"
    else:
        projects.record_trust(layer)
        layer = projects.load(path)
        message = f"trusted ({len(layer.files)} files, sha256 {layer.digest[:12]})"
    if json_output:
        print(json.dumps(_document(layer), indent=2))
        return
    for file in layer.files:
        print(f"{layer.trust:<10}{printable(str(file.path))}  ({len(file.data)} bytes)")
    for problem in layer.problems:
        print(f"{'ignored':<10}{printable(problem)}")
    print(f"{printable(str(path))}: {message}")


def _document(layer: projects.ProjectLayer) -> dict[str, Any]:
    return {
        "version": 1,
        "workspace": str(layer.workspace),
        "trust": layer.trust,
        "digest": layer.digest,
        "files": [{"path": str(f.path), "size": len(f.data)} for f in layer.files],
        "ignored": list(layer.problems),
    }
