"""[import] additional_paths: extra files or directories under $HOME the user opts into."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from containai.host.manifest import Entry, Kind

_KEY = "[import] additional_paths"


@dataclass(frozen=True)
class Additional:
    entries: tuple[Entry, ...]  # new entries for paths no manifest entry covers
    opted_in: frozenset[str]  # home-relative sources the user named (credentials among them)
    warnings: tuple[str, ...]


def resolve(
    paths: list[str], *, home: Path, source_root: Path, known: dict[str, Entry]
) -> Additional:
    """Validate each path and turn it into a manifest entry; rejected paths become warnings.

    Paths are checked against the user's $HOME but read from the source root, so that a backup
    directory given with --from supplies the same files.
    """
    entries: list[Entry] = []
    opted: set[str] = set()
    warnings: list[str] = []
    for index, raw in enumerate(paths):
        where = f"{_KEY}[{index}] ({raw!r})"
        relative, problem = _home_relative(raw, home)
        if problem:
            warnings.append(f"{where}: {problem}; skipped")
            continue
        source = source_root / relative
        problem = _symlink_problem(source_root, relative)
        if problem:
            warnings.append(f"{where}: {problem}; skipped")
            continue
        opted.add(relative)
        if relative in known or not os.path.lexists(source):
            continue  # a manifest entry already describes it, or there is nothing to copy
        kind: Kind = "dir" if source.is_dir() else "file"
        entries.append(
            Entry(
                tool="additional",
                source=relative,
                kind=kind,
                target=relative,
                link=relative,
                origin=where,
            )
        )
    return Additional(tuple(entries), frozenset(opted), tuple(warnings))


def home_relative(paths: list[str], home: Path) -> list[str]:
    """The valid paths of [import] additional_paths, relative to the home (no file is read)."""
    found = []
    for raw in paths:
        relative, problem = _home_relative(raw, home)
        if not problem:
            found.append(relative)
    return found


def _home_relative(raw: str, home: Path) -> tuple[str, str]:
    if not raw or "\n" in raw or "\0" in raw:
        return "", "must be a non-empty single-line path"
    if raw.startswith("~") and not raw.startswith("~/") and raw != "~":
        return "", "~user paths are not supported"
    if raw == "~" or raw.startswith("~/"):
        absolute = os.path.normpath(os.path.join(home, raw[2:]))
    elif os.path.isabs(raw):
        absolute = os.path.normpath(raw)
    else:
        return "", "must start with ~/ or be absolute"
    home_text = os.path.normpath(home)
    if absolute == home_text:
        return "", "cannot sync the whole home directory"
    if not absolute.startswith(home_text + os.sep):
        return "", "is outside the home directory"
    return os.path.relpath(absolute, home_text).replace(os.sep, "/"), ""


def _symlink_problem(root: Path, relative: str) -> str:
    current = root
    for part in relative.split("/"):
        current = current / part
        if current.is_symlink():
            return "passes through a symlink" if current != root / relative else "is a symlink"
    return ""
