"""Rewrites of a file's content on its way into the volume (manifest ``transform``), besides
the git config filter (gitconfig.py)."""

from __future__ import annotations

import json
from typing import Any

MAX_BYTES = 4 * 1024 * 1024  # a JSON record larger than this is copied as it is


def home_paths(data: bytes, host_homes: tuple[str, ...], agent_home: str) -> bytes | None:
    """``data`` (JSON) with every string that starts with a host home directory (Claude's
    plugin records: installPath, installLocation) moved to the agent's home; None when it is
    not JSON (then it is copied as it is)."""
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return None
    prefixes = sorted({home.rstrip("/") for home in host_homes if home}, key=len, reverse=True)

    def moved(value: Any) -> Any:
        if isinstance(value, str):
            for prefix in prefixes:
                if value == prefix or value.startswith(f"{prefix}/"):
                    return agent_home + value[len(prefix) :]
            return value
        if isinstance(value, list):
            return [moved(item) for item in value]
        if isinstance(value, dict):
            return {key: moved(item) for key, item in value.items()}
        return value

    return (json.dumps(moved(document), indent=2, ensure_ascii=False) + "\n").encode()
