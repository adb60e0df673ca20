"""Layered settings: defaults < user file < project file < --config < environment < flags."""

from containai.settings.layers import Settings, load, user_file

__all__ = ["Settings", "load", "user_file"]
