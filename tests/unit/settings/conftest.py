"""Fixtures of the settings tests: a workspace beside the fake HOME, and the user's file."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """The workspace: a repository (it holds .git) beside the fake HOME."""
    path = tmp_path / "projects" / "app"
    (path / ".git").mkdir(parents=True)
    return path


@pytest.fixture
def user_file(home: Path) -> Path:
    return home / ".config" / "containai" / "containai.toml"
