"""Fixtures of the unit tests: the directories a test works in, a fake volume and its helper,
and an engine that is never there."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes.engine import NOW, FakeHelper, FakeVolume
from tests.support.files import new_dir
from tests.unit.config_files import NO_ENGINE


@pytest.fixture
def home(isolated_env: Path) -> Path:
    """The fake HOME (a module may give the name to a home of its own)."""
    return isolated_env


@pytest.fixture
def work(isolated_env: Path) -> Path:
    """The current directory of the test (set by the autouse isolated_env fixture)."""
    return Path.cwd()


@pytest.fixture
def user_dir(isolated_env: Path) -> Path:
    """The user's containai folder under the fake HOME (not created)."""
    return isolated_env / ".config" / "containai"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty project directory beside the fake HOME."""
    return new_dir(tmp_path / "project")


@pytest.fixture
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    """DOCKER_HOST points at nothing, and locks and state stay in the fake HOME."""
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def volume() -> FakeVolume:
    """An empty fake volume whose clock stands at ``NOW``."""
    return FakeVolume("vol", clock=lambda: NOW)


@pytest.fixture
def helper(volume: FakeVolume) -> FakeHelper:
    return FakeHelper(volume)
