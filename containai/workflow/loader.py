"""Named workflows: data files listing steps, run in order against one shared Run.

A workflow file (``workflows/import.toml``) names its steps::

    description = "..."
    [[steps]]
    use = "scan_host"            # a name in containai.steps.REGISTRY
    with = { option = "value" }  # keyword arguments for that step (optional)

A team replaces a workflow by putting a file of the same name in the project's
``.containai/workflows/`` or in ``~/.config/containai/workflows/``: the first found wins whole.
Everything is validated before the first step runs.
"""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from containai.errors import ConfigError
from containai.resources import packaged_workflows

StepFunction = Callable[..., None]


@dataclass(frozen=True)
class Step:
    name: str
    function: StepFunction
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Workflow:
    name: str
    path: Path
    description: str
    steps: tuple[Step, ...]


def search_path(project_dir: Path | None, user_dir: Path) -> list[Path]:
    folders = [user_dir / "workflows", packaged_workflows()]
    if project_dir is not None:
        folders.insert(0, project_dir / ".containai" / "workflows")
    return folders


def find(name: str, folders: list[Path]) -> Path:
    for folder in folders:
        candidate = folder / f"{name}.toml"
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no workflow named {name!r} (looked in {', '.join(map(str, folders))})")


def load(name: str, folders: list[Path], registry: dict[str, StepFunction]) -> Workflow:
    path = find(name, folders)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    unknown = set(data) - {"description", "steps"}
    if unknown:
        raise ConfigError(f"{path}: unknown key '{sorted(unknown)[0]}'")
    rows = data.get("steps")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: a workflow needs at least one [[steps]] table")
    steps = tuple(_step(path, index, row, registry) for index, row in enumerate(rows))
    return Workflow(name, path, str(data.get("description", "")), steps)


def _step(path: Path, index: int, row: Any, registry: dict[str, StepFunction]) -> Step:
    where = f"{path}: step {index + 1}"
    if not isinstance(row, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(row) - {"use", "with"}
    if unknown:
        raise ConfigError(f"{where}: unknown key '{sorted(unknown)[0]}' (use 'use' and 'with')")
    name = row.get("use")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: 'use' must name a step")
    function = registry.get(name)
    if function is None:
        known = ", ".join(sorted(registry))
        raise ConfigError(f"{where}: unknown step {name!r}; known steps: {known}")
    options = row.get("with", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where} ({name}): 'with' must be a table")
    try:
        inspect.signature(function).bind(None, **options)
    except TypeError as error:
        raise ConfigError(f"{where} ({name}): wrong options: {error}") from None
    return Step(name, function, options)


def run(workflow: Workflow, context: Any) -> None:
    """Run every step in order; a step stops the workflow early by setting ``context.stop``."""
    for step in workflow.steps:
        step.function(context, **step.options)
        if getattr(context, "stop", False):
            break
