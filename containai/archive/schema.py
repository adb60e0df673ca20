"""The export manifest (`.containai/export.json`): its schema, checked field by field."""

from __future__ import annotations

import json
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final, TypeVar

from containai.archive.names import name_problem, oneline, show
from containai.errors import ArchiveError

T = TypeVar("T")

MANIFEST_NAME: Final = ".containai/export.json"
FORMAT: Final = "containai-export"
FORMAT_VERSION: Final = 1
# The manifest is read into memory; ~150 bytes per file keeps a million files well inside this.
MAX_MANIFEST_BYTES: Final = 256 * 1024 * 1024


class ManifestError(ArchiveError):
    """An export manifest that is not valid JSON or not the containai-export format."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"invalid containai export manifest: {detail}")
        self.detail = detail


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class ManifestFile:
    """What the exporter recorded about one regular file."""

    size: int
    sha256: str
    secret: bool
    mode: int


@dataclass(frozen=True)
class ExportManifest:
    """The `.containai/export.json` member, flattened; `to_json` writes the nested layout."""

    tool_version: str
    created: str  # ISO-8601, UTC
    volume_name: str
    volume_labels: Mapping[str, str]
    excludes: bool
    secrets: bool
    files: Mapping[str, ManifestFile]  # every name restore writes as a file (hard links too)
    # Absent (None) in archives of containai 0.1: then only files can be checked.
    symlinks: Mapping[str, str] | None = None  # name -> target
    dirs: tuple[str, ...] | None = None
    left_out: Mapping[str, str] | None = None  # name ("dir/" for a directory) -> why

    def __post_init__(self) -> None:
        # Frozen means frozen: callers must not be able to edit a checked manifest in place.
        for name in ("volume_labels", "files", "symlinks", "left_out"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, MappingProxyType(dict(value)))

    def to_json(self) -> bytes:
        """Stable bytes: sorted keys, so the same export always writes the same manifest.

        ASCII-escaped so names that are not valid UTF-8 (surrogate-escaped bytes) survive.
        """
        document = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "created": self.created,
            "volume": {"name": self.volume_name, "labels": dict(self.volume_labels)},
            "options": {"excludes": self.excludes, "secrets": self.secrets},
            "files": {
                name: {"size": f.size, "sha256": f.sha256, "secret": f.secret, "mode": f.mode}
                for name, f in self.files.items()
            },
        }
        if self.symlinks is not None:
            document["symlinks"] = dict(self.symlinks)
        if self.dirs is not None:
            document["dirs"] = list(self.dirs)
        if self.left_out is not None:
            document["left_out"] = dict(self.left_out)
        # Compact: only then does json use its C encoder (this runs once per file in a volume).
        text = json.dumps(document, sort_keys=True, separators=(",", ":"))
        return (text + "\n").encode("ascii")

    @classmethod
    def from_json(cls, data: bytes) -> ExportManifest:
        """Parse and validate; raises ManifestError (an ArchiveError) saying what is wrong."""
        try:
            document = json.loads(data, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8, deep nesting
            raise ManifestError(f"not valid JSON ({oneline(exc)})") from None
        top = _as_object(document, "the manifest")
        _check_format(top)
        volume = _as_object(top.get("volume"), "volume")
        options = _as_object(top.get("options"), "options")
        return cls(
            tool_version=_as_str(top.get("tool_version"), "tool_version"),
            created=_as_timestamp(top.get("created"), "created"),
            volume_name=_as_str(volume.get("name"), "volume.name"),
            volume_labels=_as_labels(volume.get("labels"), "volume.labels"),
            excludes=_as_bool(options.get("excludes"), "options.excludes"),
            secrets=_as_bool(options.get("secrets"), "options.secrets"),
            files=_as_files(top.get("files")),
            symlinks=_optional(top, "symlinks", _as_symlinks),
            dirs=_optional(top, "dirs", _as_names),
            left_out=_optional(top, "left_out", _as_left_out),
        )


def manifest_tarinfo(data: bytes, *, mtime: float, uid: int, gid: int) -> tarfile.TarInfo:
    """The header the exporter writes in front of the manifest bytes `data`."""
    info = tarfile.TarInfo(MANIFEST_NAME)
    info.type = tarfile.REGTYPE
    info.size = len(data)
    info.mode = 0o644
    info.mtime = mtime
    info.uid = uid
    info.gid = gid
    return info


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys; a manifest listing a file twice is forged.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ManifestError(f"duplicate key '{show(key)}'")
        result[key] = value
    return result


def _check_format(top: Mapping[str, Any]) -> None:
    if top.get("format") != FORMAT:
        raise ManifestError(f"format is {show(repr(top.get('format')))}, not '{FORMAT}'")
    version = top.get("format_version")
    # `true` and `1.0` compare equal to 1 in Python; only the integer 1 is version 1.
    if isinstance(version, bool) or not isinstance(version, int) or version != FORMAT_VERSION:
        raise ManifestError(
            f"unsupported format_version {show(repr(version))} "
            f"(this containai reads version {FORMAT_VERSION})"
        )


def _as_object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ManifestError(f"{where} must be a JSON object")
    return value


def _as_str(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ManifestError(f"{where} must be a string")
    return value


def _as_bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ManifestError(f"{where} must be true or false")
    return value


def _as_int(value: object, where: str, *, maximum: int | None = None) -> int:
    # bool is an int in Python, but `true` is not a size.
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ManifestError(f"{where} must be a non-negative integer")
    if maximum is not None and value > maximum:
        raise ManifestError(f"{where} must be at most {maximum:#o}")
    return value


def _as_timestamp(value: object, where: str) -> str:
    text = _as_str(value, where)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ManifestError(f"{where} is not an ISO-8601 timestamp") from None
    return text


def _as_labels(value: object, where: str) -> dict[str, str]:
    labels = _as_object(value, where)
    for key, label in labels.items():
        _as_str(label, f"{where}['{show(key)}']")
    return labels


def _as_files(value: object) -> dict[str, ManifestFile]:
    files = _as_object(value, "files")
    return {name: _as_file(name, entry) for name, entry in files.items()}


def _as_file(name: str, value: object) -> ManifestFile:
    where = f"files['{show(name)}']"
    problem = name_problem(name)
    if problem is not None:
        raise ManifestError(f"{where}: {problem}")
    if name == MANIFEST_NAME:
        raise ManifestError(f"{where}: the manifest cannot list itself")
    entry = _as_object(value, where)
    sha256 = _as_str(entry.get("sha256"), f"{where}.sha256")
    if len(sha256) != 64 or any(ch not in "0123456789abcdef" for ch in sha256):
        raise ManifestError(f"{where}.sha256 must be 64 lowercase hex digits")
    return ManifestFile(
        size=_as_int(entry.get("size"), f"{where}.size"),
        sha256=sha256,
        secret=_as_bool(entry.get("secret"), f"{where}.secret"),
        mode=_as_int(entry.get("mode"), f"{where}.mode", maximum=0o7777),
    )


def _optional(top: Mapping[str, Any], key: str, check: Callable[[object, str], T]) -> T | None:
    return check(top[key], key) if key in top else None


def _as_symlinks(value: object, where: str) -> dict[str, str]:
    links = _as_object(value, where)
    for name, target in links.items():
        _as_name(name, where)
        _as_str(target, f"{where}['{show(name)}']")
    return links


def _as_names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ManifestError(f"{where} must be a list of names")
    return tuple(_as_name(name, where) for name in value)


def _as_left_out(value: object, where: str) -> dict[str, str]:
    left = _as_object(value, where)
    for name, why in left.items():
        _as_name(name.removesuffix("/"), where)
        _as_str(why, f"{where}['{show(name)}']")
    return left


def _as_name(name: object, where: str) -> str:
    text = _as_str(name, where)
    problem = name_problem(text)
    if problem is not None:
        raise ManifestError(f"{where}: '{show(text)}': {problem}")
    return text
