"""Layered settings: packaged defaults < user file < project file < containai's state file <
--config < environment (flags outrank all of them, as command options).

A ``[workspace."/p"]`` table belongs to the file that holds it: it overrides that file's own
values for workspaces at or under ``/p`` (the deeper path wins), never a higher layer. The project
file is read only when trusted (``project.py``), and it cannot set what widens secrets or changes
who the agent is (``USER_ONLY``): those keys are ignored there, with a warning.

Dynaconf does the layering: each layer's leaves are ``set`` with a dotted key, so tables merge
key by key while lists replace (Dynaconf's own ``merge_enabled`` would append lists), and the
``CONTAINAI_*`` environment is parsed by Dynaconf's env loader. Before a file reaches Dynaconf it
is parsed with ``tomllib`` and checked against the packaged ``settings.toml``, so that a typo or a
wrong type is reported with the file and the key, before anything runs.
"""

from __future__ import annotations

import contextlib
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containai import paths
from containai import project as projects
from containai.errors import ConfigError
from containai.project import ProjectLayer
from containai.resources import packaged_settings
from containai.settings.schema import (
    WORKSPACE_TABLE,
    check_layer,
    check_ranges,
    check_value,
    copy,
    get_leaf,
    leaves,
    lower_keys,
    set_leaf,
)

FILENAME = "containai.toml"
ENV_PREFIX = "CONTAINAI"
# Keys only the user's own files and environment may set (a key, or a table ending in ".").
USER_ONLY = (
    "import.additional_paths",
    "import.secret_patterns",
    "import.exclude_priv",
    "import.default_excludes",
    "import.protected_paths",
    "agent.",
    "run.forward_ssh_agent",
    "engine.",
    "limits.",
    "lock.stale_after",
    "export.max_restore_bytes",
)
# In a [workspace."/p"] table these lists add to the global ones instead of replacing them.
_ADDITIVE_IN_WORKSPACE = frozenset({"excludes", "import.additional_paths"})


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
        warnings: tuple[str, ...] = (),
    ) -> None:
        self._values = values
        self.origins = origins
        self.workspace = workspace
        self.explicit_files = explicit_files  # --config files: they outrank containai's state
        self.warnings = warnings  # keys a project file may not set, ignored

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
        copied: dict[str, Any] = copy(self._values)
        return copied

    def leaves(self) -> Iterator[tuple[str, Any, str]]:
        """(dotted key, value, origin) for every setting, in file order."""
        for key, value in leaves(self._values):
            yield key, value, self.origins.get(key, "default")


def load(
    workspace: Path,
    *,
    config_file: Path | None = None,
    project: ProjectLayer | None = None,
) -> Settings:
    """Build the settings for a command run against ``workspace`` (``project``: its project
    layer, read and trust-checked once by the caller; loaded here when not given)."""
    workspace = workspace.expanduser().resolve()
    project = project or projects.load(workspace)
    defaults = _read_toml(packaged_settings())
    schema = dict(leaves(defaults))
    warnings: list[str] = []

    sources = [(str(path), _read_toml(path)) for path in (user_file(os.environ),) if path]
    settings_file = project.settings_file()
    if settings_file is not None:
        origin = str(settings_file.path)
        values = _parse_toml(origin, settings_file.text())
        check_layer(origin, values, schema)
        sources.append((origin, _without_user_only(origin, values, warnings)))
    sources += [(str(path), _read_toml(path)) for path in (_state_layer(),) if path]
    if config_file is not None:
        path = config_file.expanduser()
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        sources.append((str(path), _read_toml(path)))

    layers: list[Layer] = []
    for origin, values in sources:
        check_layer(origin, values, schema)
        layers.append(Layer(origin, _without_workspaces(values)))
        for overlay in _workspace_overlays(origin, values, workspace):
            layers.append(_merge_additive(overlay, layers, defaults))

    values, origins = _layer_with_dynaconf(defaults, layers, schema)
    check_ranges(values, origins)
    explicit = (str(config_file.expanduser()),) if config_file is not None else ()
    return Settings(values, origins, workspace, explicit, tuple(warnings))


def _without_user_only(origin: str, values: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    """``values`` without the keys a project may not set (in its workspace tables too)."""

    def clean(table: dict[str, Any], where: str) -> dict[str, Any]:
        kept: dict[str, Any] = {}
        for key, value in leaves(table):
            if any(key == k or (k.endswith(".") and key.startswith(k)) for k in USER_ONLY):
                warnings.append(f"{origin}: ignoring '{where}{key}': only your own settings set it")
            else:
                set_leaf(kept, key, value)
        return kept

    result = clean(_without_workspaces(values), "")
    tables = values.get(WORKSPACE_TABLE) or {}
    if tables:
        result[WORKSPACE_TABLE] = {
            path: clean(table, f'{WORKSPACE_TABLE}."{path}".') for path, table in tables.items()
        }
    return result


def _state_layer() -> Path | None:
    path = paths.state_file()
    return path if path.is_file() else None


def user_file(environ: Mapping[str, str]) -> Path | None:
    path = paths.user_config_dir(environ) / FILENAME
    return path if path.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    return _parse_toml(str(path), text)


def _parse_toml(origin: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: invalid TOML: {error}") from None


def _workspace_overlays(origin: str, values: dict[str, Any], workspace: Path) -> list[Layer]:
    """The file's [workspace."/p"] tables whose path holds the workspace, least specific first
    (applied in that order, a deeper path wins over a shallower one, key by key)."""
    found: list[tuple[int, Layer]] = []
    for path, table in (values.get(WORKSPACE_TABLE) or {}).items():
        root = Path(path).expanduser().resolve()
        if workspace == root or workspace.is_relative_to(root):
            found.append((len(root.parts), Layer(f'{origin} [workspace."{path}"]', table)))
    return [layer for _depth, layer in sorted(found, key=lambda item: item[0])]


def _merge_additive(overlay: Layer, layers: list[Layer], defaults: dict[str, Any]) -> Layer:
    values = copy(overlay.values)
    for key in _ADDITIVE_IN_WORKSPACE:
        extra = get_leaf(values, key)
        if extra is None:
            continue
        base: list[str] = get_leaf(defaults, key) or []
        for layer in layers:
            found = get_leaf(layer.values, key)
            if found is not None:
                base = found
        set_leaf(values, key, list(dict.fromkeys([*base, *extra])))
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
            for key, value in leaves(layer.values):
                store.set(key, value, loader_identifier=layer.origin)
                if layer.origin != "default":
                    origins[key] = layer.origin
        if env_keys:
            env_loader.load_from_env(store, prefix=ENV_PREFIX, key=None, silent=True)
        everything = store.as_dict()
    values = lower_keys({k: v for k, v in everything.items() if k.lower() in _tops(schema)})
    for key, variable in env_keys.items():
        check_value(f"environment {variable}", key, get_leaf(values, key), schema[key])
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
