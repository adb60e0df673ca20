"""Where the packaged data (settings.toml, workflows/, templates/) lives.

The repository keeps these at its top level, beside the package, so teams can read and copy
them easily. A wheel cannot ship files outside its packages, so the wheel build copies them to
``containai/_data/`` (see ``[tool.hatch.build.targets.wheel.force-include]``). An editable
install or a plain checkout has no ``_data``: it reads the top-level folders directly. Mapping
the folders into the package with setuptools ``package-dir`` was seen to break editable
installs, hence this explicit lookup (and a test that builds the wheel).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


@cache
def data_root() -> Path:
    packaged = _PACKAGE_DIR / "_data"
    if packaged.is_dir():
        return packaged
    checkout = _PACKAGE_DIR.parent
    if (checkout / "settings.toml").is_file():
        return checkout
    raise RuntimeError(f"containai's data files are missing: looked in {packaged} and {checkout}")


def packaged_settings() -> Path:
    return data_root() / "settings.toml"


def packaged_workflows() -> Path:
    return data_root() / "workflows"


def packaged_templates() -> Path:
    return data_root() / "templates"


def packaged_manifest() -> Path:
    return _PACKAGE_DIR / "sync-manifest.toml"
