"""Layered settings: packaged defaults < user file < project file < --config < environment < flags.

Dynaconf does the layering: each layer's leaves are ``set`` with a dotted key, so tables merge
key by key while lists replace (Dynaconf's own ``merge_enabled`` would append lists), and the
``CONTAINAI_*`` environment is parsed by Dynaconf's env loader. Before a file reaches Dynaconf it
is parsed with ``tomllib`` and checked against the packaged ``settings.toml``, so that a typo or a
wrong type is reported with the file and the key, before anything runs.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

from containai import paths
from containai.errors import ConfigError
from containai.resources import packaged_settings

FILENAME = "containai.toml"
ENV_PREFIX = "CONTAINAI"
WORKSPACE_TABLE = "workspace"
# In a [workspace."/p"] table these lists add to the global ones instead of replacing them.
_ADDITIVE_IN_WORKSPACE = frozenset({"excludes", "import.additional_paths"})
# import.on_conflict: what happens to a file changed on both sides (see transfer.plan).
ConflictPolicy = Literal["backup", "skip", "overwrite"]
CONFLICT_POLICIES: tuple[str, ...] = get_args(ConflictPolicy)


@dataclass(frozen=True)
class Layer:
    """One source of settings: where it came from (for messages) and its nested values."""

    origin: str
    values: dict[str, Any]


class Settings:
    """The effective settings of one command, with the layer each value came from."""

    def __init__(
        self,
        values: dict[str, Any],
        origins: dict[str, str],
        workspace: Path,
        explicit_files: tuple[str, ...] = (),
    ) -> None:
        self._values = values
        self.origins = origins
        self.workspace = workspace
        self.explicit_files = explicit_files  # --config files: they outrank containai's state

    def get(self, key: str) -> Any:
        node: Any = self._values
        for part in key.split("."):
            node = node[part]
        return node

    def get_str(self, key: str) -> str:
        value = self.get(key)
        assert isinstance(value, str), key
        return value

    def get_int(self, key: str) -> int:
        value = self.get(key)
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def get_bool(self, key: str) -> bool:
        value = self.get(key)
        assert isinstance(value, bool), key
        return value

    def get_list(self, key: str) -> list[str]:
        value = self.get(key)
        assert isinstance(value, list), key
        return value

    def as_dict(self) -> dict[str, Any]:
        copied: dict[str, Any] = _copy(self._values)
        return copied

    def leaves(self) -> Iterator[tuple[str, Any, str]]:
        """(dotted key, value, origin) for every setting, in file order."""
        for key, value in _leaves(self._values):
            yield key, value, self.origins.get(key, "default")


def load(
    workspace: Path,
    *,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings for a command run against ``workspace``."""
    workspace = workspace.expanduser().resolve()
    defaults = _read_toml(packaged_settings())
    schema = dict(_leaves(defaults))

    files = [user_file(os.environ), project_file(workspace), _state_layer()]
    layers = [Layer(str(path), _read_toml(path)) for path in files if path is not None]
    if config_file is not None:
        path = config_file.expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        layers.append(Layer(str(path), _read_toml(path)))
    for layer in layers:
        _check_layer(layer, schema)

    for overlay in _workspace_overlays(layers, workspace):
        layers.append(_merge_additive(overlay, layers, defaults))
    layers = [Layer(layer.origin, _without_workspaces(layer.values)) for layer in layers]

    values, origins = _layer_with_dynaconf(defaults, layers, schema)
    _check_ranges(values, origins)
    explicit = (str(config_file.expanduser()),) if config_file is not None else ()
    return Settings(values, origins, workspace, explicit)


# Values whose type is not enough: (test, what is expected).
_RANGES: dict[str, tuple[Any, str]] = {
    "import.on_conflict": (
        lambda v: v in CONFLICT_POLICIES,
        f"one of {', '.join(map(json.dumps, CONFLICT_POLICIES))}",
    ),
    "export.compression_level": (lambda v: 0 <= v <= 9, "a gzip level from 0 to 9"),
    "agent.uid": (lambda v: v >= 0, "a user id (0 or more)"),
    "agent.gid": (lambda v: v >= 0, "a group id (0 or more)"),
    "lock.timeout": (lambda v: v >= 0, "a number of seconds (0 or more)"),
    "engine.timeout": (lambda v: v > 0, "a number of seconds (more than 0)"),
    "export.max_restore_bytes": (lambda v: v > 0, "a number of bytes (more than 0)"),
}


def _check_ranges(values: dict[str, Any], origins: Mapping[str, str]) -> None:
    for key, (test, expected) in _RANGES.items():
        value = _get_leaf(values, key)
        if not test(value):
            origin = origins.get(key, "default")
            raise ConfigError(f"{origin}: '{key}' must be {expected}, not {value!r}")


def _state_layer() -> Path | None:
    path = paths.state_file()
    return path if path.is_file() else None


def user_file(environ: Mapping[str, str]) -> Path | None:
    path = paths.user_config_dir(environ) / FILENAME
    return path if path.is_file() else None


def project_file(workspace: Path) -> Path | None:
    """The nearest containai.toml at or above the workspace, not looking past a repository root."""
    for directory in (workspace, *workspace.parents):
        candidate = directory / FILENAME
        if candidate.is_file():
            return candidate
        # A .git marks the top of this project: a containai.toml further up belongs to
        # something else (often the user's home).
        if (directory / ".git").exists():
            return None
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
            return data
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def _check_layer(layer: Layer, schema: Mapping[str, Any]) -> None:
    values = dict(layer.values)
    workspaces = values.pop(WORKSPACE_TABLE, {})
    _check_table(layer.origin, "", values, schema)
    if not isinstance(workspaces, dict):
        raise ConfigError(f"{layer.origin}: '{WORKSPACE_TABLE}' must be a table of paths")
    for path, table in workspaces.items():
        where = f'{WORKSPACE_TABLE}."{path}"'
        if not Path(path).expanduser().is_absolute():
            raise ConfigError(f"{layer.origin}: {where} must be an absolute path")
        if not isinstance(table, dict):
            raise ConfigError(f"{layer.origin}: {where} must be a table")
        _check_table(layer.origin, f"{where}.", table, schema)


def _check_table(
    origin: str, prefix: str, table: Mapping[str, Any], schema: Mapping[str, Any], path: str = ""
) -> None:
    for key, value in table.items():
        full = f"{path}{key}"
        if full in schema:
            _check_value(origin, f"{prefix}{full}", value, schema[full])
        elif any(known.startswith(f"{full}.") for known in schema):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{origin}: '{prefix}{full}' must be a table, not {_describe(value)}"
                )
            _check_table(origin, prefix, value, schema, f"{full}.")
        else:
            hint = difflib.get_close_matches(full, list(schema), n=1)
            suggestion = f"; did you mean '{prefix}{hint[0]}'?" if hint else ""
            raise ConfigError(f"{origin}: unknown key '{prefix}{full}'{suggestion}")


def _check_value(origin: str, key: str, value: Any, default: Any) -> None:
    expected = _type_name(default)
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, list):
        ok = isinstance(value, list) and all(isinstance(item, str) for item in value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{origin}: '{key}' must be {expected}, not {_describe(value)}")


def _type_name(default: Any) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "an integer"
    if isinstance(default, list):
        return "a list of strings"
    return "a string"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list holding something other than strings"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _workspace_overlays(layers: list[Layer], workspace: Path) -> list[Layer]:
    """Every [workspace."/p"] table whose path holds the workspace, least specific first.

    Applied in that order, a deeper path wins over a shallower one, and for the same path a
    later file wins over an earlier one, key by key.
    """
    found: list[tuple[int, int, Layer]] = []
    for order, layer in enumerate(layers):
        for path, table in layer.values.get(WORKSPACE_TABLE, {}).items():
            root = Path(path).expanduser().resolve()
            if workspace == root or workspace.is_relative_to(root):
                origin = f'{layer.origin} [workspace."{path}"]'
                found.append((len(root.parts), order, Layer(origin, table)))
    return [layer for _depth, _order, layer in sorted(found, key=lambda f: (f[0], f[1]))]


def _merge_additive(overlay: Layer, layers: list[Layer], defaults: dict[str, Any]) -> Layer:
    values = _copy(overlay.values)
    for key in _ADDITIVE_IN_WORKSPACE:
        extra = _get_leaf(values, key)
        if extra is None:
            continue
        base: list[str] = _get_leaf(defaults, key) or []
        for layer in layers:
            found = _get_leaf(layer.values, key)
            if found is not None:
                base = found
        _set_leaf(values, key, list(dict.fromkeys([*base, *extra])))
    return Layer(overlay.origin, values)


def _layer_with_dynaconf(
    defaults: dict[str, Any],
    layers: list[Layer],
    schema: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, str]]:
    from dynaconf import Dynaconf
    from dynaconf.loaders import env_loader

    env_keys = _env_settings(os.environ, schema)
    origins: dict[str, str] = {}
    # Dynaconf reads its own *_FOR_DYNACONF switches lazily, on first use: the whole store is
    # built and read while they are hidden.
    with _without_dynaconf_overrides():
        store = Dynaconf(
            envvar_prefix=ENV_PREFIX,
            environments=False,
            load_dotenv=False,
            merge_enabled=False,
            settings_files=[],
            loaders=[],  # the env loader is run by hand below, after the files
        )
        for layer in [Layer("default", defaults), *layers]:
            for key, value in _leaves(layer.values):
                store.set(key, value, loader_identifier=layer.origin)
                if layer.origin != "default":
                    origins[key] = layer.origin
        if env_keys:
            env_loader.load_from_env(store, prefix=ENV_PREFIX, key=None, silent=True)
        everything = store.as_dict()
    values = _lower_keys({k: v for k, v in everything.items() if k.lower() in _tops(schema)})
    for key, variable in env_keys.items():
        _check_value(f"environment {variable}", key, _get_leaf(values, key), schema[key])
        origins[key] = f"environment {variable}"
    return values, origins


def _env_settings(environ: Mapping[str, str], schema: Mapping[str, Any]) -> dict[str, str]:
    """Map each CONTAINAI_* variable to the setting it sets; unknown ones are errors."""
    found: dict[str, str] = {}
    for variable in environ:
        if not variable.startswith(f"{ENV_PREFIX}_") or variable.endswith("_FOR_DYNACONF"):
            continue
        key = variable[len(ENV_PREFIX) + 1 :].lower().replace("__", ".")
        if key not in schema:
            raise ConfigError(f"environment {variable}: no setting '{key}' exists")
        found[key] = variable
    return found


@contextlib.contextmanager
def _without_dynaconf_overrides() -> Iterator[None]:
    # Dynaconf lets *_FOR_DYNACONF variables override its constructor arguments (for example
    # MERGE_ENABLED_FOR_DYNACONF would make lists append). containai's layering must not
    # change behind the user's back, so they are hidden while the store is used.
    hidden = {k: os.environ.pop(k) for k in list(os.environ) if k.endswith("_FOR_DYNACONF")}
    try:
        yield
    finally:
        os.environ.update(hidden)


def _without_workspaces(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != WORKSPACE_TABLE}


def _tops(schema: Mapping[str, Any]) -> set[str]:
    return {key.split(".", 1)[0] for key in schema}


def _leaves(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        if isinstance(value, dict) and key != WORKSPACE_TABLE:
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _get_leaf(table: Mapping[str, Any], key: str) -> Any:
    node: Any = table
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _set_leaf(table: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        table = table.setdefault(part, {})
    table[last] = value


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value
