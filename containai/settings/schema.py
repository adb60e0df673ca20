"""What a settings file may hold: every key of the packaged settings.toml, its type and range;
checked file by file, so an error names the file and the key. Also the nested-table helpers."""

from __future__ import annotations

import difflib
import json
import posixpath
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, get_args

from containai.errors import ConfigError

WORKSPACE_TABLE = "workspace"
# import.on_conflict: what happens to a file changed on both sides (see transfer.plan).
ConflictPolicy = Literal["backup", "skip", "overwrite"]
CONFLICT_POLICIES: tuple[str, ...] = get_args(ConflictPolicy)


def _container_path(value: str) -> bool:
    # These land in mount specifications and in the sync script: no surprises allowed.
    return (
        value.startswith("/")
        and value != "/"
        and posixpath.normpath(value) == value
        and (value.isprintable())
    )


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
    "lock.stale_after": (lambda v: v > 0, "a number of seconds (more than 0)"),
    "engine.timeout": (lambda v: v > 0, "a number of seconds (more than 0)"),
    "export.max_restore_bytes": (lambda v: v > 0, "a number of bytes (more than 0)"),
    "limits.record_bytes": (lambda v: v > 0, "a number of bytes (more than 0)"),
    **{
        f"agent.{key}": (_container_path, "an absolute, normalised path (not /)")
        for key in ("home", "workspace_mount", "data_mount")
    },
}


def check_ranges(values: dict[str, Any], origins: Mapping[str, str]) -> None:
    for key, (test, expected) in _RANGES.items():
        value = get_leaf(values, key)
        if not test(value):
            origin = origins.get(key, "default")
            raise ConfigError(f"{origin}: '{key}' must be {expected}, not {value!r}")
    mounts = [get_leaf(values, f"agent.{key}") for key in ("workspace_mount", "data_mount")]
    if mounts[0] == mounts[1] or any(a.startswith(f"{b}/") for a, b in (mounts, mounts[::-1])):
        where = origins.get("agent.data_mount", "default")
        raise ConfigError(f"{where}: agent.data_mount and agent.workspace_mount must not nest")


def check_layer(origin: str, values: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
    values = dict(values)
    workspaces = values.pop(WORKSPACE_TABLE, {})
    _check_table(origin, "", values, schema)
    if not isinstance(workspaces, dict):
        raise ConfigError(f"{origin}: '{WORKSPACE_TABLE}' must be a table of paths")
    for path, table in workspaces.items():
        where = f'{WORKSPACE_TABLE}."{path}"'
        if not Path(path).expanduser().is_absolute():
            raise ConfigError(f"{origin}: {where} must be an absolute path")
        if not isinstance(table, dict):
            raise ConfigError(f"{origin}: {where} must be a table")
        _check_table(origin, f"{where}.", table, schema)


def _check_table(
    origin: str, prefix: str, table: Mapping[str, Any], schema: Mapping[str, Any], path: str = ""
) -> None:
    for key, value in table.items():
        full = f"{path}{key}"
        if full in schema:
            check_value(origin, f"{prefix}{full}", value, schema[full])
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


def check_value(origin: str, key: str, value: Any, default: Any) -> None:
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


def leaves(table: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in table.items():
        if isinstance(value, dict) and key != WORKSPACE_TABLE:
            yield from leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def get_leaf(table: Mapping[str, Any], key: str) -> Any:
    node: Any = table
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def set_leaf(table: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        table = table.setdefault(part, {})
    table[last] = value


def lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): lower_keys(v) for k, v in value.items()}
    return value


def copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return list(value)
    return value
