"""containai.host.additional_paths: what ``[import] additional_paths`` may name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.unit.config_files import (
    SCAN_ONLY,
    warned,
    write_trusted,
)


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/etc", "is outside the home directory"),
        ("~/../outside", "is outside the home directory"),
        ("~", "cannot sync the whole home directory"),
        ("relative/path", "must start with ~/ or be absolute"),
        ("~root/.ssh", "~user paths are not supported"),
    ],
)
def test_an_additional_path_escaping_home_is_one_warning_and_skipped(
    path: str, problem: str, cai: Any, home: Path, work: Path
) -> None:
    write_trusted(
        home / ".config/containai/containai.toml", f'[import]\nadditional_paths = ["{path}"]\n'
    )
    write_trusted(work / ".containai/workflows/import.toml", SCAN_ONLY)

    result = cai("import", "--dry-run")

    line = warned(result, problem)
    assert line.startswith(f"cai: warning: [import] additional_paths[0] ({path!r})"), line
