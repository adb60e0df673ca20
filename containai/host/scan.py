"""What the host side offers: walk the manifest over a source root and describe each path.

Nothing here touches the engine or the volume. The result is a list of candidates (files,
directories and symlinks the volume should hold, each with its volume path), paths skipped with
the reason, and per-path failures (an unreadable file fails that path, not the run).
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from containai.host import transforms
from containai.host.candidates import (
    SECRET_DIR_MODE,
    SECRET_FILE_MODE,
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
from containai.host.gitconfig import (
    FilterResult,
    Include,
    filter_body,
    filter_gitconfig,
    find_global_gitconfig,
)
from containai.host.manifest import Entry
from containai.host.secrets import SecretPaths
from containai.host.tree import scan_tree


def scan(entries: Iterable[Entry], options: ScanOptions) -> HostScan:
    entries = list(entries)
    rules = _rules(options.known or tuple(entries), options)
    result = HostScan()
    for entry in entries:
        _scan_entry(entry, options, rules, result)
    return result


def _rules(entries: tuple[Entry, ...], options: ScanOptions) -> Rules:
    mapping: dict[str, str] = {}
    root = os.path.realpath(options.source_root)
    for entry in entries:
        host = options.source_root / entry.source
        mapping[os.path.normpath(host)] = entry.target
        real = os.path.realpath(host)
        if real.startswith(f"{root}/"):
            mapping.setdefault(real, entry.target)  # stow-style symlinks
    return Rules(
        is_secret=SecretPaths(entries, options.secret_patterns),
        credentials=frozenset(p for e in entries if e.credential for p in (e.target, e.source)),
        protected=options.protected,
        opted_in=options.opted_in,
        mapping=tuple(sorted(mapping.items(), key=lambda item: -len(item[0]))),
    )


def _scan_entry(entry: Entry, options: ScanOptions, rules: Rules, result: HostScan) -> None:
    path = entry.target
    source = options.source_root / entry.source
    # Where the source really is: a symlink (stow-managed dotfiles) is followed only inside
    # the source root, and what it reaches is judged as well as the entry.
    real = _resolve_inside(source, options.source_root)
    if real is None:
        detail = f"a symlink to {os.path.realpath(source)}, outside {options.source_root}"
        result.skipped.append(Skipped(path, "skip:symlink-outside", entry, detail))
        return
    homes = (entry.source, real) if real != entry.source else (entry.source,)
    if (entry.from_project or real != entry.source) and any(map(rules.needs_opt_in, homes)):
        detail = "a protected path: only [import] additional_paths brings it in"
        result.skipped.append(Skipped(path, "skip:opt-in", entry, detail))
        return
    secret = entry.secret or rules.secret(path, *homes)
    if secret and not options.secrets:
        result.skipped.append(Skipped(path, "skip:secret", entry, "--no-secrets"))
        return
    rule = next(filter(None, (_excluded(p, entry.is_dir, options) for p in (path, real))), None)
    if rule:
        result.skipped.append(Skipped(path, "skip:excluded", entry, rule))
        return
    credential = entry.credential or rules.credential(path, *homes)
    if credential and options.from_home and entry.source not in options.opted_in:
        # Login tokens rotate: a container sharing the host's copy breaks both. The container
        # logs in itself and writes into this empty, private placeholder.
        result.candidates.append(_placeholder(entry, "secret.j2", options, credential=True))
        return
    if entry.transform == "gitconfig":
        _scan_gitconfig(entry, options, result)
        return

    try:
        info = source.stat()
    except FileNotFoundError:
        _missing(entry, secret, options, result)
        return
    except (OSError, RuntimeError) as error:
        result.failures.append(Failure(display(source, options), why(error)))
        return

    if entry.is_dir:
        if not stat.S_ISDIR(info.st_mode):
            result.failures.append(Failure(display(source, options), "expected a directory"))
            return
        scan_tree(entry, Path(os.path.realpath(source)), homes, secret, options, rules, result)
    elif stat.S_ISREG(info.st_mode) and entry.transform == "home-paths":
        result.candidates.append(_home_paths(entry, source, info, secret, options))
    elif stat.S_ISREG(info.st_mode):
        result.candidates.append(file_candidate(entry, path, str(source), info, secret))
    else:
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        result.failures.append(Failure(display(source, options), f"expected a file, found {what}"))


def _home_paths(
    entry: Entry, source: Path, info: os.stat_result, secret: bool, options: ScanOptions
) -> Candidate:
    """A JSON record whose host paths move to the agent's home (copied as it is when it is not
    JSON, or too large to be a record)."""
    plain = file_candidate(entry, entry.target, str(source), info, secret)
    if info.st_size > transforms.MAX_BYTES:
        return plain
    try:
        data = source.read_bytes()
    except OSError:
        return plain  # reported when the transfer reads it
    homes = (str(options.source_root), os.path.realpath(options.source_root))
    moved = transforms.home_paths(data, homes, options.agent_home)
    if moved is None:
        return plain
    return replace(plain, source=None, content=moved, size=len(moved))


def _resolve_inside(source: Path, root: Path) -> str | None:
    """``source`` relative to ``root`` after following every symlink on its way, or None when
    it leads outside the root. A path that does not exist resolves to itself."""
    real, top = os.path.realpath(source), os.path.realpath(root)
    if not real.startswith(f"{top}/"):
        return None
    return str(os.path.relpath(real, top)).replace(os.sep, "/")


def _excluded(path: str, is_dir: bool, options: ScanOptions) -> str | None:
    return options.excludes.match(path, is_dir=is_dir) or options.private.match(path)


def _scan_gitconfig(entry: Entry, options: ScanOptions, result: HostScan) -> None:
    environ = options.environ if options.from_home else {}
    found = find_global_gitconfig(options.source_root, environ)
    text = ""
    mtime = time.time()  # no host file: the filtered file is new now
    # The user's own GIT_CONFIG_GLOBAL may point anywhere; a file in the home may not.
    home_file = found is not None and found.is_relative_to(options.source_root)
    if found is not None and home_file and _resolve_inside(found, options.source_root) is None:
        detail = f"a symlink to {os.path.realpath(found)}, outside {options.source_root}"
        result.skipped.append(Skipped(entry.target, "skip:symlink-outside", entry, detail))
        return
    if found is not None:
        try:
            text = found.read_text(encoding="utf-8", errors="surrogateescape")
            mtime = found.stat().st_mtime
        except OSError as error:
            result.failures.append(Failure(display(found, options), why(error)))
            return
    base = found.parent if found is not None else options.source_root
    include = _includer(base, options, result, depth=1)
    filtered = filter_gitconfig(text, safe_directory=options.safe_directory, include=include)
    for name in filtered.dropped:
        result.warnings.append(f"{display(found or Path(entry.source), options)}: dropped {name}")
    content = filtered.text.encode("utf-8", errors="surrogateescape")
    result.candidates.append(
        Candidate(entry.target, "file", entry, 0o644, mtime, len(content), content=content)
    )


_MAX_INCLUDE_DEPTH = 10  # git's own limit
_MAX_INCLUDE_BYTES = 1024 * 1024


def _includer(base: Path, options: ScanOptions, result: HostScan, *, depth: int) -> Include:
    """Reads an `[include] path` of a git config in ``base`` for inlining: only a regular file
    inside the source root (a missing one, as git does, is simply left out)."""

    def include(value: str) -> FilterResult | None:
        raw = value[2:] if value.startswith("~/") else value
        path = (options.source_root / raw) if value.startswith("~/") else base / raw
        inside = _resolve_inside(path, options.source_root)
        if inside is None or depth > _MAX_INCLUDE_DEPTH:
            result.warnings.append(f"git config include {value}: outside the source, left out")
            return None
        real = options.source_root / inside
        try:
            if not real.is_file() or real.stat().st_size > _MAX_INCLUDE_BYTES:
                return None
            text = real.read_text(encoding="utf-8", errors="surrogateescape")
        except OSError:
            return None
        nested = _includer(real.parent, options, result, depth=depth + 1)
        return filter_body(text, safe_directory=options.safe_directory, include=nested)

    return include


def _missing(entry: Entry, secret: bool, options: ScanOptions, result: HostScan) -> None:
    if entry.optional:
        result.skipped.append(Skipped(entry.target, "skip:missing", entry, "optional"))
    elif entry.is_dir:
        result.candidates.append(
            Candidate(
                entry.target,
                "dir",
                entry,
                SECRET_DIR_MODE if secret else 0o755,
                time.time(),  # placeholders are new now
                secret=secret,
                placeholder=True,
            )
        )
    elif entry.json:
        result.candidates.append(_placeholder(entry, "json.j2", options, secret=secret))
    elif secret:
        result.candidates.append(_placeholder(entry, "secret.j2", options, secret=True))
    else:
        result.skipped.append(Skipped(entry.target, "skip:missing", entry, "no source"))


def _placeholder(
    entry: Entry,
    template: str,
    options: ScanOptions,
    *,
    secret: bool = True,
    credential: bool = False,
) -> Candidate:
    content = options.placeholder(f"placeholders/{template}")
    mode = SECRET_FILE_MODE if secret or credential else 0o644
    return Candidate(
        entry.target,
        "file",
        entry,
        mode,
        time.time(),  # placeholders are new now
        len(content),
        content=content,
        secret=secret or credential,
        placeholder=True,
        credential=credential,
    )
