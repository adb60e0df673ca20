"""Which data volume a command works on, and what a valid volume name is."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from containai.errors import UsageError

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
