"""What the host side offers: walk the manifest over a source root and describe each path.

Nothing here touches the engine or the volume. The result is a list of candidates (files,
directories and symlinks the volume should hold, each with its volume path), paths skipped with
the reason, and per-path failures (an unreadable file fails that path, not the run).
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Literal

from pathspec import GitIgnoreSpec

from containai.host.excludes import Excludes, Rule, under
from containai.host.gitconfig import filter_gitconfig, find_global_gitconfig
from containai.host.manifest import Entry
from containai.host.secrets import SecretPaths

CandidateKind = Literal["file", "dir", "symlink"]
SECRET_FILE_MODE = 0o600
SECRET_DIR_MODE = 0o700


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class Candidate:
    """A path the volume should hold, as the host sees it."""

    path: str  # inside the volume
    kind: CandidateKind
    entry: Entry
    mode: int
    mtime: float
    size: int = 0
    # The host file to copy (a str: one Path object per file costs memory on large trees);
    # None when ``content`` is generated.
    source: str | None = None
    content: bytes | None = None  # placeholders and transformed files (never printed)
    linkname: str = ""
    secret: bool = False
    placeholder: bool = False  # written only where the volume has nothing yet
    credential: bool = False  # a credential placeholder: reported as skip:credential
    uid: int | None = None  # None: the configured agent user (restore keeps the archive's)
    gid: int | None = None
    same_as: str = ""  # a hard link to another written path (restore)
    sha256: str | None = None  # content checked earlier; the bytes sent must still match it


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class Skipped:
    path: str
    action: str  # skip:secret, skip:credential, skip:excluded, skip:missing
    entry: Entry
    detail: str = ""
    kind: str = ""  # file or dir; empty: the entry's kind

    @property
    def path_kind(self) -> str:
        return self.kind or self.entry.kind


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class Failure:
    path: str
    reason: str


@dataclass
class HostScan:
    candidates: list[Candidate] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ScanOptions:
    source_root: Path
    from_home: bool  # the source is the user's own $HOME (credentials stay there)
    secrets: bool  # False under --no-secrets
    excludes: Excludes  # config and default excludes (empty under --no-excludes)
    private: Excludes  # the *.priv.* rule, which --no-excludes leaves on
    secret_patterns: GitIgnoreSpec
    opted_in: frozenset[str]  # sources named in [import] additional_paths
    safe_directory: str  # the workspace path inside the container, for gitconfig
    environ: Mapping[str, str]
    placeholder: Callable[[str], bytes]  # template name -> rendered bytes
    # Every manifest entry, scanned or not: a file reached through a directory (an
    # additional path such as ~/.config/gh) keeps the secret or credential flag of the entry
    # that names it. Empty: the scanned entries themselves.
    known: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class _Rules:
    """What every path is checked against, derived once per scan."""

    is_secret: SecretPaths
    credentials: frozenset[str]
    # (host path, volume path), longest host path first: where an absolute symlink lands.
    mapping: tuple[tuple[str, str], ...]


def scan(entries: Iterable[Entry], options: ScanOptions) -> HostScan:
    entries = list(entries)
    rules = _rules(options.known or tuple(entries), options)
    result = HostScan()
    for entry in entries:
        _scan_entry(entry, options, rules, result)
    return result


def _rules(entries: tuple[Entry, ...], options: ScanOptions) -> _Rules:
    mapping: dict[str, str] = {}
    for entry in entries:
        host = options.source_root / entry.source
        mapping[os.path.normpath(host)] = entry.target
        with contextlib.suppress(OSError, RuntimeError):
            mapping.setdefault(os.path.realpath(host), entry.target)  # stow-style symlinks
    return _Rules(
        is_secret=SecretPaths(entries, options.secret_patterns),
        credentials=frozenset(e.target for e in entries if e.credential),
        mapping=tuple(sorted(mapping.items(), key=lambda item: -len(item[0]))),
    )


def _scan_entry(entry: Entry, options: ScanOptions, rules: _Rules, result: HostScan) -> None:
    path = entry.target
    secret = entry.secret or rules.is_secret(path)
    if secret and not options.secrets:
        result.skipped.append(Skipped(path, "skip:secret", entry, "--no-secrets"))
        return
    rule = options.excludes.match(path, is_dir=entry.is_dir) or options.private.match(path)
    if rule:
        result.skipped.append(Skipped(path, "skip:excluded", entry, rule))
        return
    if entry.credential and options.from_home and entry.source not in options.opted_in:
        # Login tokens rotate: a container sharing the host's copy breaks both. The container
        # logs in itself and writes into this empty, private placeholder.
        result.candidates.append(_placeholder(entry, "secret.j2", options, credential=True))
        return
    if entry.transform == "gitconfig":
        _scan_gitconfig(entry, options, result)
        return

    source = options.source_root / entry.source
    try:
        # An entry that is itself a symlink (stow-managed dotfiles) is followed.
        info = source.stat()
    except FileNotFoundError:
        _missing(entry, secret, options, result)
        return
    except (OSError, RuntimeError) as error:
        result.failures.append(Failure(_display(source, options), _why(error)))
        return

    if entry.is_dir:
        if not stat.S_ISDIR(info.st_mode):
            result.failures.append(Failure(_display(source, options), "expected a directory"))
            return
        _scan_tree(entry, source.resolve(), secret, options, rules, result)
    elif stat.S_ISREG(info.st_mode):
        result.candidates.append(_file(entry, path, str(source), info, secret))
    else:
        what = "a directory" if stat.S_ISDIR(info.st_mode) else "not a regular file"
        result.failures.append(Failure(_display(source, options), f"expected a file, found {what}"))


def _scan_gitconfig(entry: Entry, options: ScanOptions, result: HostScan) -> None:
    environ = options.environ if options.from_home else {}
    found = find_global_gitconfig(options.source_root, environ)
    text = ""
    mtime = time.time()  # no host file: the filtered file is new now
    if found is not None:
        try:
            text = found.read_text(encoding="utf-8", errors="surrogateescape")
            mtime = found.stat().st_mtime
        except OSError as error:
            result.failures.append(Failure(_display(found, options), _why(error)))
            return
    filtered = filter_gitconfig(text, safe_directory=options.safe_directory)
    content = filtered.text.encode("utf-8", errors="surrogateescape")
    result.candidates.append(
        Candidate(entry.target, "file", entry, 0o644, mtime, len(content), content=content)
    )


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


def _file(entry: Entry, path: str, source: str, info: os.stat_result, secret: bool) -> Candidate:
    mode = SECRET_FILE_MODE if secret else stat.S_IMODE(info.st_mode)
    return Candidate(
        path, "file", entry, mode, info.st_mtime, info.st_size, source=source, secret=secret
    )


def _scan_tree(
    entry: Entry, root: Path, secret: bool, options: ScanOptions, rules: _Rules, result: HostScan
) -> None:
    entry_rules = Excludes(
        [Rule(f"excludes of ~/{entry.source}", under(entry.target, entry.excludes))]
    )

    def failed(error: OSError) -> None:
        result.failures.append(Failure(_display(Path(error.filename), options), _why(error)))

    for directory, dirnames, filenames in os.walk(root, onerror=failed):
        here = Path(directory)
        relative = here.relative_to(root).as_posix()
        volume_dir = entry.target if relative == "." else f"{entry.target}/{relative}"
        try:
            dir_info = here.lstat()
        except OSError as error:
            result.failures.append(Failure(_display(here, options), _why(error)))
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
            holds_secret |= _scan_tree_file(
                entry, child, os.path.join(directory, name), secret, root, options, rules, result
            )
        if holds_secret:
            # A directory that holds a secret is private, whatever its mode on the host.
            result.candidates[slot] = replace(result.candidates[slot], mode=SECRET_DIR_MODE)


def _scan_tree_file(
    entry: Entry,
    path: str,
    full: str,
    secret_tree: bool,
    root: Path,
    options: ScanOptions,
    rules: _Rules,
    result: HostScan,
) -> bool:
    """Describe one file of a directory entry; True when it is a secret (sent or not)."""
    try:
        info = os.lstat(full)
    except OSError as error:
        result.failures.append(Failure(_display(Path(full), options), _why(error)))
        return False
    if stat.S_ISLNK(info.st_mode):
        try:
            target = os.readlink(full)
        except OSError as error:
            result.failures.append(Failure(_display(Path(full), options), _why(error)))
            return False
        mapping = ((os.path.normpath(root), entry.target), *rules.mapping)
        linkname, warning = relink(target, Path(full), path, options.source_root, mapping)
        if warning:
            result.warnings.append(f"{_display(Path(full), options)}: {warning}")
        result.candidates.append(
            Candidate(path, "symlink", entry, 0o777, info.st_mtime, linkname=linkname)
        )
        return False
    if not stat.S_ISREG(info.st_mode):
        result.failures.append(
            Failure(_display(Path(full), options), "not a regular file (skipped)")
        )
        return False
    secret = secret_tree or rules.is_secret(path)
    # A skipped secret still makes its directory private: the volume may hold a copy already.
    if path in rules.credentials and options.from_home and path not in options.opted_in:
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
    result.candidates.append(_file(entry, path, full, info, secret))
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


def _display(path: Path, options: ScanOptions) -> str:
    """A host path as the user thinks of it: ~/x for files in their home."""
    try:
        relative = path.relative_to(options.source_root)
    except ValueError:
        return str(path)
    return f"~/{relative.as_posix()}" if options.from_home else str(path)


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, RuntimeError):
        return "symlink loop"
    return str(error)
