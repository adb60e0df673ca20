"""The architecture, checked: the pure core never reaches for the engine or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import containai

PACKAGE = Path(containai.__file__).parent
CORE = ("host", "transfer", "archive")
# What the core may never import: it is tested without an engine and runs under any command.
OUTER = ("containai.engine", "containai.steps", "containai.workflow", "containai.cli")
OUTER += ("containai.tasks",)


def imports_of(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(*packages: str) -> list[Path]:
    return sorted(p for name in packages for p in (PACKAGE / name).rglob("*.py"))


@pytest.mark.parametrize("path", modules(*CORE), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_the_core_never_imports_the_engine_the_steps_or_the_command_line(path: Path) -> None:
    outer = sorted(m for m in imports_of(path) if m.startswith(OUTER))
    assert outer == []


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from containai.engine import Engine\n")
    assert "containai.engine" in imports_of(sample)


def test_only_the_engine_package_imports_the_docker_sdk() -> None:
    users = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(m == "docker" or m.startswith("docker.") for m in imports_of(path))
    }
    assert users and all(user.startswith("engine/") for user in users), users


def test_no_module_is_long() -> None:
    lengths = {str(p.relative_to(PACKAGE)): len(p.read_text().splitlines()) for p in modules("")}
    assert {name: n for name, n in lengths.items() if n > 360} == {}
