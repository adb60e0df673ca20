"""containai.paths: where containai keeps the user's files (XDG base directories)."""

from __future__ import annotations

from pathlib import Path

from containai import paths


def test_the_user_config_dir_defaults_to_dot_config_under_home(tmp_path: Path) -> None:
    assert paths.user_config_dir({"HOME": str(tmp_path)}) == tmp_path / ".config" / "containai"


def test_the_user_config_dir_follows_xdg_config_home(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert paths.user_config_dir(environ) == tmp_path / "xdg" / "containai"
