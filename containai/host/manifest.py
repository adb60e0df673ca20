"""The sync manifest: which host files go where in the volume, and how they are treated.

The packaged ``sync-manifest.toml`` is read first, then user manifests
(``~/.config/containai/manifests/*.toml``) and project manifests
(``<workspace>/.containai/manifests/*.toml``), each folder in file-name order. A later entry with
the same ``source`` replaces an earlier one, which is how a team turns a packaged entry off.
A broken user or project manifest is reported and skipped; it never stops a run.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from containai.errors import ConfigError
from containai.resources import packaged_manifest

Kind = Literal["file", "dir"]
TRANSFORMS = frozenset({"gitconfig"})

_BOOL_KEYS = (
    "secret",
    "credential",
    "json",
    "optional",
    "enabled",
    "exclude_priv",
    "mirror",
)
_KNOWN_KEYS = frozenset(
    {"tool", "source", "kind", "target", "link", "excludes", "transform", *_BOOL_KEYS}
)


@dataclass(frozen=True)
class Entry:
    """One file or directory to sync."""

    tool: str
    source: str  # relative to $HOME, e.g. ".claude/settings.json"
    kind: Kind
    target: str  # relative to the volume root
    link: str | None  # relative to the container user's home; None: not linked
    origin: str  # the manifest file it came from, for messages
    secret: bool = False
    credential: bool = False
    json: bool = False
    optional: bool = False
    enabled: bool = True
    exclude_priv: bool = False
    mirror: bool = False
    transform: str | None = None
    excludes: tuple[str, ...] = field(default=())

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]
    warnings: tuple[str, ...] = ()

    def enabled(self) -> tuple[Entry, ...]:
        return tuple(entry for entry in self.entries if entry.enabled)


def load(
    workspace: Path | None,
    *,
    user_config_dir: Path,
    extra_dirs: Iterable[Path] = (),
) -> Manifest:
    """The packaged manifest with the user's and the project's manifests layered on top."""
    entries = {entry.source: entry for entry in parse_file(packaged_manifest())}
    warnings: list[str] = []
    folders = [user_config_dir / "manifests"]
    if workspace is not None:
        folders.append(workspace / ".containai" / "manifests")
    folders.extend(extra_dirs)
    for folder in folders:
        for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
            try:
                for entry in parse_file(path):
                    entries[entry.source] = entry
            except ConfigError as error:
                warnings.append(f"{error} (manifest skipped)")
    return Manifest(tuple(entries.values()), tuple(warnings))


def parse_file(path: Path) -> list[Entry]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None
    unknown = set(data) - {"entries"}
    if unknown:
        raise ConfigError(f"{path}: unknown top-level key '{sorted(unknown)[0]}'")
    rows = data.get("entries", [])
    if not isinstance(rows, list):
        raise ConfigError(f"{path}: 'entries' must be an array of tables ([[entries]])")
    return [parse_entry(row, f"{path} entry {index + 1}") for index, row in enumerate(rows)]


def parse_entry(row: Any, origin: str) -> Entry:
    if not isinstance(row, dict):
        raise ConfigError(f"{origin}: must be a table")
    unknown = set(row) - _KNOWN_KEYS
    if unknown:
        raise ConfigError(f"{origin}: unknown key '{sorted(unknown)[0]}'")
    source = relative_path(_string(row, "source", origin), f"{origin}: source")
    kind = _string(row, "kind", origin)
    if kind not in ("file", "dir"):
        raise ConfigError(f'{origin}: kind must be "file" or "dir", not {kind!r}')
    target = relative_path(_string(row, "target", origin, default=source), f"{origin}: target")
    link_text = _string(row, "link", origin, default=source)
    link = relative_path(link_text, f"{origin}: link") if link_text else None
    transform = row.get("transform")
    if transform is not None and transform not in TRANSFORMS:
        raise ConfigError(f"{origin}: unknown transform {transform!r}")
    excludes = row.get("excludes", [])
    if not isinstance(excludes, list) or not all(isinstance(p, str) for p in excludes):
        raise ConfigError(f"{origin}: excludes must be a list of strings")
    flags = {key: _bool(row, key, origin) for key in _BOOL_KEYS if key in row}
    return Entry(
        tool=_string(row, "tool", origin, default="custom"),
        source=source,
        kind=kind,  # type: ignore[arg-type]  # checked just above
        target=target,
        link=link,
        origin=origin,
        transform=transform,
        excludes=tuple(excludes),
        **flags,
    )


def relative_path(text: str, what: str) -> str:
    """A clean relative POSIX path that cannot leave its root, or a ConfigError."""
    if not text or "\0" in text or "\n" in text:
        raise ConfigError(f"{what} must be a non-empty single-line path")
    if text.startswith("~"):
        text = text.removeprefix("~").lstrip("/")
    path = PurePosixPath(text)
    if path.is_absolute():
        raise ConfigError(f"{what} must be relative to the home directory, not {text!r}")
    if ".." in path.parts:
        raise ConfigError(f"{what} must not contain '..': {text!r}")
    clean = path.as_posix()
    if clean in ("", "."):
        raise ConfigError(f"{what} must name something inside the home directory")
    return clean


def _string(row: dict[str, Any], key: str, origin: str, default: str | None = None) -> str:
    value = row.get(key, default)
    if value is None:
        raise ConfigError(f"{origin}: '{key}' is required")
    if not isinstance(value, str):
        raise ConfigError(f"{origin}: '{key}' must be a string")
    return value


def _bool(row: dict[str, Any], key: str, origin: str) -> bool:
    value = row[key]
    if not isinstance(value, bool):
        raise ConfigError(f"{origin}: '{key}' must be true or false")
    return value
