"""Named workflows: data files listing steps, validated whole before the first step runs.

A workflow file (``workflows/import.toml``) names its steps::

    description = "..."
    [[steps]]
    use = "reset_volume"         # a name in containai.steps.REGISTRY
    when = "reset"               # only when this option is on (optional)
    with = { option = "value" }  # keyword arguments for that step (optional)

A team replaces a workflow by putting a file of the same name in the project's
``.containai/workflows/`` or in ``~/.config/containai/workflows/``: the first found wins whole.
Each step declares what it needs and gives (``@step``); the loader refuses an order in which a
step needs what no earlier (unconditional) step gives, a ``when`` that names no option of the
command, and ``with`` options the step does not take or of the wrong type.
"""

from __future__ import annotations

import dataclasses
import inspect
import tomllib
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from containai.errors import ConfigError
from containai.project import ProjectLayer
from containai.resources import packaged_workflows
from containai.workflow.run import Options, Run

StepFunction = Callable[..., None]


@dataclass(frozen=True)
class StepDef:
    """A step function and its contract: the phases it needs and gives (see workflow.run)."""

    function: StepFunction
    needs: frozenset[str]
    gives: frozenset[str]

    def __call__(self, run: Run[Any], **options: Any) -> None:
        self.function(run, **options)

    @property
    def options_type(self) -> type[Options]:
        """The options class the step's ``run`` parameter is annotated with."""
        first = next(iter(inspect.signature(self.function).parameters))
        args = get_args(typing.get_type_hints(self.function).get(first))
        return args[0] if args and isinstance(args[0], type) else Options


def step(*, needs: tuple[str, ...] = (), gives: tuple[str, ...] = ()) -> Callable[..., StepDef]:
    def declare(function: StepFunction) -> StepDef:
        return StepDef(function, frozenset(needs), frozenset(gives))

    return declare


@dataclass(frozen=True)
class Step:
    name: str
    definition: StepDef
    options: dict[str, Any] = field(default_factory=dict)
    when: str | None = None


@dataclass(frozen=True)
class Workflow:
    name: str
    path: Path
    description: str
    steps: tuple[Step, ...]


def search_path(project: ProjectLayer | None, user_dir: Path) -> list[Path | ProjectLayer]:
    """Where a workflow is looked for: the (trusted) project, the user's folder, the package."""
    places: list[Path | ProjectLayer] = [user_dir / "workflows", packaged_workflows()]
    return [project, *places] if project is not None else places


def find(name: str, places: list[Path | ProjectLayer]) -> tuple[Path, str]:
    """The first file named ``name``.toml, and its text."""
    for place in places:
        if isinstance(place, ProjectLayer):
            wanted = place.workspace / ".containai" / "workflows" / f"{name}.toml"
            found = [f for f in place.folder("workflows") if f.path == wanted]
            if found:
                return wanted, found[0].text()
        elif (place / f"{name}.toml").is_file():
            path = place / f"{name}.toml"
            try:
                return path, path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise ConfigError(f"{path}: invalid TOML: {error}") from None
    shown = ", ".join(str(p.workspace if isinstance(p, ProjectLayer) else p) for p in places)
    raise ConfigError(f"no workflow named {name!r} (looked in {shown})")


def load(
    name: str,
    places: list[Path | ProjectLayer],
    registry: Mapping[str, StepDef],
    options_type: type[Options] = Options,
) -> Workflow:
    path, text = find(name, places)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    unknown = set(data) - {"description", "steps"}
    if unknown:
        raise ConfigError(f"{path}: unknown key '{sorted(unknown)[0]}'")
    rows = data.get("steps")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{path}: a workflow needs at least one [[steps]] table")
    steps = tuple(
        _step(f"{path}: step {index + 1}", row, registry, options_type)
        for index, row in enumerate(rows)
    )
    _check_order(path, steps)
    return Workflow(name, path, str(data.get("description", "")), steps)


def _step(where: str, row: Any, registry: Mapping[str, StepDef], options_type: type) -> Step:
    if not isinstance(row, dict):
        raise ConfigError(f"{where} must be a table")
    unknown = set(row) - {"use", "with", "when"}
    if unknown:
        raise ConfigError(f"{where}: unknown key '{sorted(unknown)[0]}' (use, when, with)")
    name = row.get("use")
    if not isinstance(name, str):
        raise ConfigError(f"{where}: 'use' must name a step")
    definition = registry.get(name)
    if definition is None:
        known = ", ".join(sorted(registry))
        raise ConfigError(f"{where}: unknown step {name!r}; known steps: {known}")
    where = f"{where} ({name})"
    if not issubclass(options_type, definition.options_type):
        raise ConfigError(f"{where}: this step belongs to another command")
    options = row.get("with", {})
    if not isinstance(options, dict):
        raise ConfigError(f"{where}: 'with' must be a table")
    _check_options(where, definition.function, options)
    return Step(name, definition, options, _condition(where, row.get("when"), options_type))


def _check_options(where: str, function: StepFunction, options: dict[str, Any]) -> None:
    try:
        inspect.signature(function).bind(None, **options)
    except TypeError as error:
        raise ConfigError(f"{where}: wrong options: {error}") from None
    hints = typing.get_type_hints(function)
    for key, value in options.items():
        expected = _expected(hints[key], value)
        if expected:
            raise ConfigError(f"{where}: '{key}' must be {expected}, not {value!r}")


def _expected(hint: Any, value: Any) -> str:
    """What ``value`` should have been for a parameter annotated ``hint`` ("" if it is fine)."""
    union = get_args(hint) if isinstance(hint, types.UnionType) or get_origin(hint) is Union else ()
    kinds = [k for k in union or (hint,) if k is not type(None)]
    literals = [v for k in kinds if get_origin(k) is Literal for v in get_args(k)]
    plain = [k for k in kinds if isinstance(k, type)]
    if value in literals or type(value) in plain:  # TOML values have exact types: True is no int
        return ""
    if literals:
        return "one of " + ", ".join(map(repr, literals))
    return " or ".join(k.__name__ for k in plain)


def _condition(where: str, when: Any, options_type: type) -> str | None:
    if when is None:
        return None
    flags = sorted(f.name for f in dataclasses.fields(options_type) if f.type in ("bool", bool))
    if when not in flags:
        raise ConfigError(f"{where}: 'when' must name one of this command's options: {flags}")
    return str(when)


def _check_order(path: Path, steps: tuple[Step, ...]) -> None:
    """Every phase a step needs is given by an earlier step that always runs."""
    given: set[str] = set()
    for index, item in enumerate(steps):
        missing = sorted(item.definition.needs - given)
        if missing:
            raise ConfigError(
                f"{path}: step {index + 1} ({item.name}) needs the {missing[0]}, which no "
                "earlier step (without 'when') gives"
            )
        if item.when is None:
            given |= item.definition.gives


def run(workflow: Workflow, context: Run[Any]) -> None:
    """Run every step in order, skipping those whose ``when`` option is off."""
    for item in workflow.steps:
        if item.when is None or getattr(context.options, item.when):
            item.definition(context, **item.options)
