"""The packaged data reaches both a wheel install and an editable install.

Builds from a copy of the checkout (no build artifacts land in the repository), installs into
fresh virtual environments and runs the real `cai` console script there. Needs no Docker engine,
but needs the package index for the dependencies, and takes a while.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# Captured at import, before the autouse isolated_env fixture swaps HOME: pip reads its index
# configuration and its cache from the real home.
REAL_HOME = os.environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir
TIMEOUT = 300

WHEEL_DATA = [
    "containai/_data/settings.toml",
    "containai/_data/workflows/import.toml",
    "containai/_data/templates/placeholders/json.j2",
    "containai/sync-manifest.toml",
]


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def cai(self) -> Path:
        return self.root / "bin" / "cai"


def tool_env() -> dict[str, str]:
    """The environment for venv/pip/build: the real HOME, nothing pointing into the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("CONTAINAI_")
        and not key.endswith("_FOR_DYNACONF")
        and key not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")
    }
    env["HOME"] = REAL_HOME
    return env


def check(*args: str | Path, cwd: Path | None = None) -> None:
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"


def make_venv(root: Path, *install: str | Path) -> Venv:
    check(sys.executable, "-m", "venv", root)
    venv = Venv(root)
    check(venv.python, "-m", "pip", "install", "--quiet", *install)
    return venv


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the checkout, without its virtualenv, caches or version control."""
    copy = tmp_path_factory.mktemp("checkout") / "containai"
    shutil.copytree(
        REPO,
        copy,
        symlinks=True,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "venv",
            "__pycache__",
            "*.pyc",
            ".pytest_cache",
            ".ruff_cache",
            ".mypy_cache",
            "build",
            "dist",
            "*.egg-info",
            "_data",
        ),
    )
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    check(sys.executable, "-m", "build", "--wheel", "--outdir", out, source, cwd=source)
    wheels = list(out.glob("containai-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return make_venv(tmp_path_factory.mktemp("wheel") / "venv", wheel)


@pytest.fixture(scope="module")
def editable_venv(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Venv:
    return make_venv(tmp_path_factory.mktemp("editable") / "venv", "-e", source)


@pytest.fixture
def outside(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working directory and an environment far from the checkout, with an empty HOME."""
    home = tmp_path / "cai-home"
    home.mkdir()
    cwd = tmp_path / "somewhere"
    cwd.mkdir()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home), "LANG": "C.UTF-8"}
    return cwd, env


def run_in(where: tuple[Path, dict[str, str]], *args: str | Path) -> str:
    """Run ``args`` in the working directory and environment ``where``: its stdout (it must
    succeed, without a traceback)."""
    cwd, env = where
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stderr}"
    assert "Traceback" not in done.stderr
    return done.stdout


def run_cai(venv: Venv, where: tuple[Path, dict[str, str]], *args: str) -> str:
    return run_in(where, venv.cai, *args)


def version(source: Path) -> str:
    # pyproject.toml takes the version from the package (hatch's dynamic version).
    text = (source / "containai" / "__init__.py").read_text()
    match = re.search(r'^__version__ = "([^"]+)"', text, re.MULTILINE)
    assert match, "containai/__init__.py must define __version__"
    return match.group(1)


def data_root(venv: Venv, where: tuple[Path, dict[str, str]]) -> Path:
    script = "from containai import resources; print(resources.data_root())"
    return Path(run_in(where, venv.python, "-c", script).strip())


# --- the wheel ------------------------------------------------------------------------------


@pytest.mark.parametrize("member", WHEEL_DATA, ids=str)
def test_the_wheel_carries_the_packaged_data(wheel: Path, member: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        assert member in archive.namelist()


def test_the_wheel_carries_the_same_settings_as_the_checkout(wheel: Path, source: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("containai/_data/settings.toml")
    assert packaged == (source / "settings.toml").read_bytes()


def test_cai_version_runs_from_the_wheel(
    wheel_venv: Venv, source: Path, outside: tuple[Path, dict[str, str]]
) -> None:
    assert version(source) in run_cai(wheel_venv, outside, "--version")


def test_cai_config_json_runs_from_the_wheel(
    wheel_venv: Venv, outside: tuple[Path, dict[str, str]]
) -> None:
    document = json.loads(run_cai(wheel_venv, outside, "config", "--json"))
    assert document["workspace"] == str(outside[0])
    assert document["data_volume"].startswith("containai-somewhere-")
    assert document["settings"]["agent"]["uid"] == 1000
    assert document["origins"]["agent.uid"] == "default"


def test_the_wheel_reads_its_data_from_inside_the_venv(
    wheel_venv: Venv, outside: tuple[Path, dict[str, str]]
) -> None:
    root = data_root(wheel_venv, outside)
    assert root.is_relative_to(wheel_venv.root.resolve())
    assert root.name == "_data"


def test_cai_import_help_runs_from_the_wheel(
    wheel_venv: Venv, outside: tuple[Path, dict[str, str]]
) -> None:
    assert "--dry-run" in run_cai(wheel_venv, outside, "import", "--help")


# --- the editable install -------------------------------------------------------------------


def test_cai_config_json_runs_from_an_editable_install(
    editable_venv: Venv, outside: tuple[Path, dict[str, str]]
) -> None:
    document = json.loads(run_cai(editable_venv, outside, "config", "--json"))
    assert document["workspace"] == str(outside[0])
    assert document["settings"]["import"]["exclude_priv"] is True


def test_cai_version_runs_from_an_editable_install(
    editable_venv: Venv, source: Path, outside: tuple[Path, dict[str, str]]
) -> None:
    assert version(source) in run_cai(editable_venv, outside, "--version")


def test_an_editable_install_reads_the_top_level_folders_of_its_checkout(
    editable_venv: Venv, source: Path, outside: tuple[Path, dict[str, str]]
) -> None:
    assert data_root(editable_venv, outside) == source.resolve()
