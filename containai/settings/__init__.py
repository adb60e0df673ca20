"""Layered settings: defaults < user file < project file < --config < environment < flags."""

from containai.settings.layers import Settings, load, project_file, user_file

__all__ = ["Settings", "load", "project_file", "user_file"]
