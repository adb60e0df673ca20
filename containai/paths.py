"""Where containai keeps the user's files on the host (XDG base directories)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

Environ = Mapping[str, str]


def _base(environ: Environ, variable: str, *default: str) -> Path:
    # An empty variable means unset (the XDG spec says so).
    base = environ.get(variable) or str(Path(environ.get("HOME", "~"), *default))
    return Path(base).expanduser() / "containai"


def user_config_dir(environ: Environ = os.environ) -> Path:
    """~/.config/containai: the user's settings, manifests, workflow and template overrides."""
    return _base(environ, "XDG_CONFIG_HOME", ".config")


def state_dir(environ: Environ = os.environ) -> Path:
    """~/.local/state/containai: what containai remembers between commands."""
    return _base(environ, "XDG_STATE_HOME", ".local", "state")


def state_file(environ: Environ = os.environ) -> Path:
    return state_dir(environ) / "state.toml"
