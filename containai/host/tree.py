"""The walk of a directory entry: every file, directory and symlink below it, checked against
the excludes, the secret rules and the credentials; symlinks relinked into the volume."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from containai.host.candidates import (
    SECRET_DIR_MODE,
    Candidate,
    Failure,
    HostScan,
    Rules,
    ScanOptions,
    Skipped,
    display,
    file_candidate,
    why,
)
from containai.host.excludes import Excludes, Rule, under
from containai.host.manifest import Entry


def scan_tree(
    entry: Entry,
    root: Path,
    homes: tuple[str, ...],
    secret: bool,
    options: ScanOptions,
    rules: Rules,
    result: HostScan,
) -> None:
    """Describe everything below ``root``, the real directory of ``entry``; ``homes`` are its
    paths relative to the source root (the entry's own, and the one a symlink led to)."""
    entry_rules = Excludes(
        [Rule(f"excludes of ~/{entry.source}", under(entry.target, entry.excludes))]
    )

    def failed(error: OSError) -> None:
        result.failures.append(Failure(display(Path(error.filename), options), why(error)))

    for directory, dirnames, filenames in os.walk(root, onerror=failed):
        here = Path(directory)
        relative = here.relative_to(root).as_posix()
        volume_dir = entry.target if relative == "." else f"{entry.target}/{relative}"
        try:
            dir_info = here.lstat()
        except OSError as error:
            result.failures.append(Failure(display(here, options), why(error)))
            dirnames.clear()
            continue
        mode = SECRET_DIR_MODE if secret else stat.S_IMODE(dir_info.st_mode)
        slot = len(result.candidates)
        result.candidates.append(
            Candidate(volume_dir, "dir", entry, mode, dir_info.st_mtime, secret=secret)
        )
        for name in sorted(dirnames):
            child = f"{volume_dir}/{name}"
            if (here / name).is_symlink():  # os.walk lists symlinks to directories as dirs
                dirnames.remove(name)
                filenames.append(name)
                continue
            rule = _excluded(child, True, options, entry_rules)
            if rule:
                dirnames.remove(name)
                result.skipped.append(Skipped(child, "skip:excluded", entry, rule, "dir"))
        dirnames.sort()
        holds_secret = False
        for name in sorted(filenames):
            child = f"{volume_dir}/{name}"
            rule = _excluded(child, False, options, entry_rules)
            if rule:
                result.skipped.append(Skipped(child, "skip:excluded", entry, rule, "file"))
                continue
            inside = name if relative == "." else f"{relative}/{name}"
            tree_file = _TreeFile(
                child, os.path.join(directory, name), [f"{h}/{inside}" for h in homes]
            )
            holds_secret |= _tree_file(entry, tree_file, secret, root, options, rules, result)
        if holds_secret:
            # A directory that holds a secret is private, whatever its mode on the host.
            result.candidates[slot] = replace(result.candidates[slot], mode=SECRET_DIR_MODE)


@dataclass(frozen=True, slots=True)
class _TreeFile:
    path: str  # in the volume
    full: str  # on the host
    homes: list[str]  # relative to the source root, where that differs from ``path``


def _tree_file(
    entry: Entry,
    item: _TreeFile,
    secret_tree: bool,
    root: Path,
    options: ScanOptions,
    rules: Rules,
    result: HostScan,
) -> bool:
    """Describe one file of a directory entry; True when it is a secret (sent or not)."""
    path, full = item.path, item.full
    try:
        info = os.lstat(full)
    except OSError as error:
        result.failures.append(Failure(display(Path(full), options), why(error)))
        return False
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(full)
        except OSError as error:
            result.failures.append(Failure(display(Path(full), options), why(error)))
            return False
        mapping = ((os.path.normpath(root), entry.target), *rules.mapping)
        linkname, warning = relink(target, Path(full), path, options.source_root, mapping)
        if warning:
            result.warnings.append(f"{display(Path(full), options)}: {warning}")
        result.candidates.append(
            Candidate(path, "symlink", entry, 0o777, info.st_mtime, linkname=linkname)
        )
        return False
    if not stat.S_ISREG(info.st_mode):
        result.failures.append(
            Failure(display(Path(full), options), "not a regular file (skipped)")
        )
        return False
    if entry.from_project and any(map(rules.needs_opt_in, [path, *item.homes])):
        detail = "a protected path: only [import] additional_paths brings it in"
        result.skipped.append(Skipped(path, "skip:opt-in", entry, detail, "file"))
        return False
    secret = secret_tree or rules.secret(path, *item.homes)
    # A skipped secret still makes its directory private: the volume may hold a copy already.
    credential = rules.credential(path, *item.homes)
    if credential and options.from_home and not {path, *item.homes} & options.opted_in:
        # The credential entry itself provides the container's empty placeholder.
        result.skipped.append(
            Skipped(
                path, "skip:credential", entry, "credentials are never copied from $HOME", "file"
            )
        )
        return True
    if secret and not options.secrets:
        result.skipped.append(Skipped(path, "skip:secret", entry, "--no-secrets", "file"))
        return True
    result.candidates.append(file_candidate(entry, path, full, info, secret))
    return secret


def relink(
    target: str,
    link: Path,
    volume_path: str,
    source_root: Path,
    mapping: Iterable[tuple[str, str]] = (),
) -> tuple[str, str]:
    """The link target to store in the volume, and a warning when it cannot follow along.

    Relative links are kept. An absolute link to a synced host path becomes a relative link to
    that path's copy in the volume (through the entries' source -> target mapping), so it keeps
    working wherever the volume is mounted; any other absolute link is kept as it is.
    """
    if not os.path.isabs(target):
        return target, ""
    normal = os.path.normpath(target)
    root = os.path.normpath(source_root)
    pairs = list(mapping)
    if not pairs and (normal == root or normal.startswith(root + os.sep)):
        pairs = [(root, "")]  # no manifest given: the volume mirrors the source root
    for host, volume in pairs:
        if normal == host or normal.startswith(host + os.sep):
            rest = os.path.relpath(normal, host)
            inside = volume if rest == "." else os.path.join(volume, rest) if volume else rest
            here = PurePosixPath(volume_path).parent.as_posix() or "."
            return os.path.relpath(PurePosixPath(inside).as_posix(), here), ""
    if normal == root or normal.startswith(root + os.sep):
        return target, f"symlink to {target} points at something not synced (kept as is)"
    return target, f"symlink to {target} points outside the source (kept as is)"


def _excluded(path: str, is_dir: bool, options: ScanOptions, entry_rules: Excludes) -> str | None:
    return (
        options.excludes.match(path, is_dir=is_dir)
        or entry_rules.match(path, is_dir=is_dir)
        or options.private.match(path, is_dir=is_dir)
    )
