"""The sync manifest: which host files go where in the volume, and how they are treated.

The packaged ``sync-manifest.toml`` is read first, then user manifests
(``~/.config/containai/manifests/*.toml``) and project manifests
(``<workspace>/.containai/manifests/*.toml``), each folder in file-name order. A later entry with
the same ``source`` replaces an earlier one, which is how a team turns a packaged entry off.
A broken user or project manifest is reported and skipped; it never stops a run.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from containai.errors import ConfigError
from containai.project import ProjectFile, ProjectLayer
from containai.resources import packaged_manifest

Kind = Literal["file", "dir"]
TRANSFORMS = frozenset({"gitconfig", "home-paths"})

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
    from_project: bool = False  # from the workspace's (trusted) .containai/manifests
    transform: str | None = None
    excludes: tuple[str, ...] = field(default=())

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"


@dataclass(frozen=True)
class Manifest:
    entries: tuple[Entry, ...]  # the effective ones: a later layer's entry replaces by source
    warnings: tuple[str, ...] = ()
    layered: tuple[Entry, ...] = ()  # every layer's entries, replaced ones too (for the rules)

    def enabled(self) -> tuple[Entry, ...]:
        return tuple(entry for entry in self.entries if entry.enabled)


def load(project: ProjectLayer | None, *, user_config_dir: Path) -> Manifest:
    """The packaged manifest with the user's and the (trusted) project's manifests on top."""
    layered = parse_text(str(packaged_manifest()), packaged_manifest().read_text("utf-8"))
    warnings: list[str] = []
    folder = user_config_dir / "manifests"
    user: list[tuple[Path | ProjectFile, bool]] = (
        [(p, False) for p in sorted(folder.glob("*.toml"))] if folder.is_dir() else []
    )
    for path, from_project in [*user, *_project_manifests(project)]:
        try:
            text = path.text() if isinstance(path, ProjectFile) else path.read_text("utf-8")
            origin = str(path.path if isinstance(path, ProjectFile) else path)
            found = parse_text(origin, text)
            layered += [replace(e, from_project=True) for e in found] if from_project else found
        except (ConfigError, OSError, UnicodeDecodeError) as error:
            warnings.append(f"{_why(path, error)} (manifest skipped)")
    entries = {entry.source: entry for entry in layered}
    return Manifest(tuple(entries.values()), tuple(warnings), tuple(layered))


def _project_manifests(project: ProjectLayer | None) -> list[tuple[Path | ProjectFile, bool]]:
    if project is None:
        return []
    root = project.workspace / ".containai" / "manifests"
    return [
        (f, True)
        for f in project.folder("manifests")
        if f.path.parent == root and f.path.suffix == ".toml"
    ]


def _why(path: Path | ProjectFile, error: Exception) -> str:
    if isinstance(error, ConfigError):
        return str(error)
    where = path.path if isinstance(path, ProjectFile) else path
    if isinstance(error, UnicodeDecodeError):
        return f"{where}: invalid TOML: {error}"
    return f"{where}: cannot read: {getattr(error, 'strerror', None) or error}"


def parse_file(path: Path) -> list[Entry]:
    try:
        return parse_text(str(path), path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror}") from None


def parse_text(origin: str, text: str) -> list[Entry]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{origin}: invalid TOML: {error}") from None
    unknown = set(data) - {"entries"}
    if unknown:
        raise ConfigError(f"{origin}: unknown top-level key '{sorted(unknown)[0]}'")
    rows = data.get("entries", [])
    if not isinstance(rows, list):
        raise ConfigError(f"{origin}: 'entries' must be an array of tables ([[entries]])")
    return [parse_entry(row, f"{origin} entry {index + 1}") for index, row in enumerate(rows)]


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
