"""Writing a fake home or workspace, and trusting a project as `cai trust` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# What the packaged manifest marks private in a developer's home: the seed secrets (copied as
# 0600 files) and the login token stores (credentials: never copied from $HOME unless opted in).
SEED_SECRETS = [
    ".claude.json",
    ".gemini/google_accounts.json",
    ".gemini/oauth_creds.json",
    ".local/share/opencode/auth.json",
    ".config/gh/hosts.yml",
    ".aider.conf.yml",
    ".continue/config.yaml",
    ".continue/config.json",
]
CREDENTIALS = [".claude/.credentials.json", ".codex/auth.json"]


def new_dir(path: Path) -> Path:
    """``path``, made as an empty directory (with its parents)."""
    path.mkdir(parents=True)
    return path


def write_files(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def write_linked_skills(skills: Path) -> None:
    """A skills folder holding real.md, sub/deep.md and symlinks: ``relative`` (to real.md),
    ``inside`` and ``sub/inside`` (absolute, to real.md) and ``outside`` (to /etc/hostname)."""
    write_files(skills, {"real.md": "real\n", "sub/deep.md": "deep\n"})
    (skills / "relative").symlink_to("real.md")
    (skills / "inside").symlink_to(skills / "real.md")
    (skills / "sub/inside").symlink_to(skills / "real.md")
    (skills / "outside").symlink_to("/etc/hostname")


def trust(workspace: Path) -> Any:
    """What `cai trust WORKSPACE` does: trust the project's files as they are now."""
    from containai import project

    project.record_trust(project.load(workspace.resolve()))
    return project.load(workspace.resolve())
