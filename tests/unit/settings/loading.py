"""Writing settings files, and loading the settings of a workspace whose project is trusted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containai import settings
from containai.errors import ConfigError
from tests.support.files import trust


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def load(workspace: Path, **kwargs: Any) -> settings.Settings:
    trust(workspace)
    return settings.load(workspace, **kwargs)


def load_error(workspace: Path, **kwargs: Any) -> ConfigError:
    trust(workspace)
    with pytest.raises(ConfigError) as caught:
        settings.load(workspace, **kwargs)
    return caught.value
