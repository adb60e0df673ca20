"""The project layer, and the trust gate in front of it (as ``direnv allow`` does it).

A workspace may tell containai how to run: ``containai.toml`` (found walking up from the
workspace, not past a ``.git``) and ``.containai/{manifests,workflows,templates}/``. Those files
come from a cloned repository (strangers) or from the agent itself (the workspace is mounted
read-write in its container), so they are honoured only after ``cai trust``, which records a
digest of exactly these bytes in the user's state directory. Any change (an agent's edit, a
``git pull``) voids the trust.

The files are read once, here, and the rest of containai uses these bytes: what was trusted is
what runs, even if the agent rewrites a file a moment later. Reading is bounded (size and
count), follows no symlink and opens nothing but regular files (a FIFO would block).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from containai import paths
from containai.errors import ConfigError
from containai.printable import printable

SETTINGS_FILE = "containai.toml"
FOLDERS = ("manifests", "workflows", "templates")
MAX_FILE_BYTES = 256 * 1024
MAX_FILES = 200
_TRUST_FILE = "trust.json"


@dataclass(frozen=True)
class ProjectFile:
    path: Path
    data: bytes

    def text(self) -> str:
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError as error:
            what = "invalid TOML" if self.path.suffix == ".toml" else "not UTF-8 text"
            raise ConfigError(f"{printable(str(self.path))}: {what}: {error}") from None


@dataclass(frozen=True)
class ProjectLayer:
    workspace: Path
    files: tuple[ProjectFile, ...]
    problems: tuple[str, ...]  # files left out, and why
    trust: str  # "trusted", "untrusted" or "changed" (trusted once, edited since)

    @property
    def trusted(self) -> bool:
        return self.trust == "trusted"

    @property
    def digest(self) -> str:
        hashed = hashlib.sha256()
        for item in self.files:
            name = str(item.path).encode("utf-8", "surrogateescape")
            hashed.update(b"%d:%s:%d:" % (len(name), name, len(item.data)))
            hashed.update(item.data)
        return hashed.hexdigest()

    def honoured(self) -> tuple[ProjectFile, ...]:
        """The files containai may act on: all of them once trusted, none before."""
        return self.files if self.trusted else ()

    def settings_file(self) -> ProjectFile | None:
        return next((f for f in self.honoured() if f.path.name == SETTINGS_FILE), None)

    def folder(self, name: str) -> list[ProjectFile]:
        """Honoured files under ``.containai/<name>/``, by path."""
        root = self.workspace / ".containai" / name
        return [f for f in self.honoured() if f.path.is_relative_to(root)]

    def warning(self) -> str | None:
        """The one line saying that the project's files are ignored, or None."""
        if self.trusted or not self.files:
            return None
        names = ", ".join(printable(str(f.path)) for f in self.files[:3])
        more = f" and {len(self.files) - 3} more" if len(self.files) > 3 else ""
        why = "changed since you trusted them" if self.trust == "changed" else "not trusted"
        where = printable(str(self.workspace))
        return (
            f"ignoring the project's containai files ({names}{more}): {why}; review them, "
            f"then run 'cai trust {where}'"
        )


def untrusted(workspace: Path) -> ProjectLayer:
    """A layer that honours nothing (commands that have no workspace)."""
    return ProjectLayer(workspace, (), (), "untrusted")


def load(workspace: Path) -> ProjectLayer:
    files: list[ProjectFile] = []
    problems: list[str] = []
    settings = _settings_path(workspace)
    if settings is not None:
        _read(settings, files, problems)
    top = workspace / ".containai"
    for name in FOLDERS if _is_real_dir(top) else ():
        _read_tree(top / name, files, problems)
    layer = ProjectLayer(workspace, tuple(files), tuple(problems), "untrusted")
    recorded = _records().get(str(workspace))
    if recorded is not None:
        trust = "trusted" if recorded.get("digest") == layer.digest else "changed"
        layer = ProjectLayer(workspace, layer.files, layer.problems, trust)
    return layer


def record_trust(layer: ProjectLayer) -> None:
    records = _records()
    records[str(layer.workspace)] = {
        "digest": layer.digest,
        "files": [str(f.path) for f in layer.files],
        "trusted_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    _write_records(records)


def revoke_trust(workspace: Path) -> bool:
    records = _records()
    if records.pop(str(workspace), None) is None:
        return False
    _write_records(records)
    return True


def _settings_path(workspace: Path) -> Path | None:
    """The nearest containai.toml at or above the workspace, not past a repository root (a
    containai.toml further up belongs to something else, often the user's home)."""
    for directory in (workspace, *workspace.parents):
        candidate = directory / SETTINGS_FILE
        if os.path.lexists(candidate):
            return candidate
        if os.path.lexists(directory / ".git"):
            return None
    return None


def _is_real_dir(path: Path) -> bool:
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _read_tree(root: Path, files: list[ProjectFile], problems: list[str]) -> None:
    if not _is_real_dir(root):
        return
    for directory, dirnames, filenames in os.walk(root):  # never follows symlinked folders
        dirnames.sort()
        for name in sorted(filenames):
            _read(Path(directory, name), files, problems)
            if len(files) >= MAX_FILES:
                problems.append(f"{printable(directory)}: more than {MAX_FILES} files")
                dirnames.clear()
                return


def _read(path: Path, files: list[ProjectFile], problems: list[str]) -> None:
    shown = printable(str(path))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        problems.append(f"{shown}: {'a symlink' if os.path.islink(path) else error.strerror}")
        return
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            problems.append(f"{shown}: not a regular file")
        elif info.st_size > MAX_FILE_BYTES:
            problems.append(f"{shown}: larger than {MAX_FILE_BYTES} bytes")
        else:
            files.append(ProjectFile(path, handle.read(MAX_FILE_BYTES + 1)[:MAX_FILE_BYTES]))


def _records() -> dict[str, dict[str, Any]]:
    path = paths.state_dir() / _TRUST_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: cannot read containai's trust records: {error}") from None
    workspaces = data.get("workspaces") if isinstance(data, dict) else None
    return {k: v for k, v in (workspaces or {}).items() if isinstance(v, dict)}


def _write_records(records: dict[str, dict[str, Any]]) -> None:
    path = paths.state_dir() / _TRUST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"format": "containai-trust", "version": 1, "workspaces": records}
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
    with contextlib.suppress(OSError):
        os.chmod(handle.name, 0o600)
    Path(handle.name).replace(path)
