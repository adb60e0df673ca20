"""What the host scan produces: candidates for the volume, skipped paths, failures; and the
rules and helpers every scanned path goes through."""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pathspec import GitIgnoreSpec

from containai.host.excludes import Excludes
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
    action: str  # skip:secret, :credential, :excluded, :missing, :opt-in, :symlink-outside
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
    _digests: dict[str, str | None] = field(default_factory=dict, repr=False)

    def digest(self, candidate: Candidate) -> str | None:
        """The sha256 of what the volume would get for ``candidate``, computed once per run
        (both the volume read and the plan may ask); None when the host file is unreadable."""
        if candidate.path not in self._digests:
            self._digests[candidate.path] = _sha256(candidate)
        return self._digests[candidate.path]


def _sha256(candidate: Candidate) -> str | None:
    if candidate.content is not None:
        return hashlib.sha256(candidate.content).hexdigest()
    if candidate.source is None:
        return None
    digest = hashlib.sha256()
    try:
        with open(candidate.source, "rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)
    except OSError:
        return None  # reported when the transfer tries to read it
    return digest.hexdigest()


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
    # Every entry of every manifest layer, scanned or not: a file reached through a directory
    # (an additional path such as ~/.config/gh) keeps the secret or credential flag of the
    # entry that names it, and a project entry cannot drop a flag another layer set.
    # Empty: the scanned entries themselves.
    known: tuple[Entry, ...] = ()
    # Home paths only [import] additional_paths bring in (~/.ssh, ...): a project manifest entry
    # or a symlink that reaches one is skipped.
    protected: tuple[str, ...] = ()
    agent_home: str = "/home/agent"  # where host paths go in JSON records (transforms)


@dataclass(frozen=True)
class Rules:
    """What every path is checked against, derived once per scan. A path is judged both by
    where it goes in the volume and by where it lies in the home (its source, and what a
    symlink resolves to), so renaming a target never turns a secret into a plain file."""

    is_secret: SecretPaths
    credentials: frozenset[str]  # targets and sources of credential entries
    protected: tuple[str, ...]
    opted_in: frozenset[str]
    # (host path, volume path), longest host path first: where an absolute symlink lands.
    mapping: tuple[tuple[str, str], ...]

    def secret(self, *paths: str) -> bool:
        return any(self.is_secret(path) for path in paths)

    def credential(self, *paths: str) -> bool:
        return any(path in self.credentials for path in paths)

    def needs_opt_in(self, home_path: str) -> bool:
        """A protected home path the user did not name in [import] additional_paths."""
        return under_any(home_path, self.protected) and not under_any(home_path, self.opted_in)


def under_any(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(f"{root}/") for root in roots)


def file_candidate(
    entry: Entry, path: str, source: str, info: os.stat_result, secret: bool
) -> Candidate:
    mode = SECRET_FILE_MODE if secret else stat.S_IMODE(info.st_mode)
    return Candidate(
        path, "file", entry, mode, info.st_mtime, info.st_size, source=source, secret=secret
    )


def display(path: Path, options: ScanOptions) -> str:
    """A host path as the user thinks of it: ~/x for files in their home."""
    try:
        relative = path.relative_to(options.source_root)
    except ValueError:
        return str(path)
    return f"~/{relative.as_posix()}" if options.from_home else str(path)


def why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    if isinstance(error, RuntimeError):
        return "symlink loop"
    return str(error)
