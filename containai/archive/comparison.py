"""An archive against its manifest: what a restore would write (every file, hard link, symlink
and directory, each version of a name) compared with what the manifest lists."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from containai.archive.members import MemberKind
from containai.archive.names import show
from containai.archive.schema import ExportManifest


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class IndexEntry:
    """One member as restore needs it; `sha256` is set for regular files only."""

    name: str  # normalised: no leading "./"
    kind: MemberKind
    size: int  # content bytes; 0 for dirs, symlinks and hard links
    mode: int  # permission bits only (& 0o7777)
    uid: int
    gid: int
    mtime: float
    linkname: str  # symlink: the target as stored; hard link: normalised target; else ""
    sha256: str | None


@dataclass(frozen=True)
class ArchiveIndex:
    """Result of a full scan. `entries` excludes the root "." entry and the manifest member."""

    manifest: ExportManifest | None
    entries: tuple[IndexEntry, ...]
    expanded_bytes: int  # regular-file content, manifest included


@dataclass(frozen=True)
class VerifyReport:
    """Manifest comparison, collected rather than raised. Names are in archive order, except
    `missing`, which is sorted. Without a manifest nothing can be compared: `no_manifest` is
    True and the three tuples are empty (so `ok` only says no problem was found)."""

    missing: tuple[str, ...]  # in the manifest, not in the archive
    extra: tuple[str, ...]  # restore would write it, the manifest does not list it
    corrupt: tuple[str, ...]  # content (or symlink target) differs from the manifest
    no_manifest: bool
    index: ArchiveIndex
    duplicate: tuple[str, ...] = ()  # more than one member for one name

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.corrupt or self.duplicate)


@dataclass
class Scan:
    """Mutable state of one pass; `report()` freezes it."""

    path: Path
    max_expanded_bytes: int
    max_members: int
    entries: list[IndexEntry] = field(default_factory=list)
    seen: dict[str, str] = field(default_factory=dict)
    # Regular-file content by name (last one wins, as in tar); hard links carry their target's
    # content as it was when the link was made.
    content: dict[str, tuple[int, str]] = field(default_factory=dict)
    hardlinks: dict[str, str] = field(default_factory=dict)  # name -> target
    symlinks: dict[str, str] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=set)
    duplicate: list[str] = field(default_factory=list)
    first: dict[str, object] = field(default_factory=dict)  # name -> its first content
    manifest: ExportManifest | None = None
    expanded: int = 0
    members: int = 0
    last: str | None = None  # the last member read, for "after member ..." messages
    reading: bool = False  # inside `last`'s data

    def where(self) -> str:
        if self.last is None:
            return "at the start"
        return f"{'in' if self.reading else 'after'} member '{show(self.last)}'"

    def report(self) -> VerifyReport:
        """What restore would write, against what the manifest lists."""
        index = ArchiveIndex(self.manifest, tuple(self.entries), self.expanded)
        if self.manifest is None:
            return VerifyReport((), (), (), no_manifest=True, index=index)
        listed = {n: (f.size, f.sha256) for n, f in self.manifest.files.items()}
        missing = [name for name in listed if name not in self.content]
        extra = [n for n in self.content if n not in listed and not self._same_as_target(n)]
        corrupt = [n for n, found in self.content.items() if n in listed and listed[n] != found]
        if self.manifest.symlinks is not None:  # containai 0.2 and later list every member
            links = self.manifest.symlinks
            missing += [name for name in links if name not in self.symlinks]
            extra += [name for name in self.symlinks if name not in links]
            corrupt += [n for n, to in self.symlinks.items() if n in links and links[n] != to]
        if self.manifest.dirs is not None:
            missing += [name for name in self.manifest.dirs if name not in self.dirs]
            extra += sorted(self.dirs - set(self.manifest.dirs))
        return VerifyReport(
            tuple(sorted(missing)),
            tuple(extra),
            tuple(corrupt),
            no_manifest=False,
            index=index,
            duplicate=tuple(self.duplicate),
        )

    def _same_as_target(self, name: str) -> bool:
        """An unlisted hard link (containai 0.1 did not list them) must carry the content the
        manifest lists for its target: otherwise restore would write unlisted bytes."""
        assert self.manifest is not None
        target = self.manifest.files.get(self.hardlinks.get(name, ""))
        return target is not None and (target.size, target.sha256) == self.content[name]


def first_problem(report: VerifyReport, scan: Scan) -> str | None:
    """The message scan_archive raises: what restore would write unlisted first (corrupt,
    extra, a second version), then what is missing."""
    if scan.manifest is None:
        return None
    problems = [_corrupt_message(name, scan) for name in report.corrupt]
    problems += [f"archive member '{show(n)}' is not listed in the manifest" for n in report.extra]
    problems += [f"archive member '{show(n)}' appears more than once" for n in report.duplicate]
    problems += [
        f"archive member '{show(n)}' is in the manifest but not in the archive"
        for n in report.missing
    ]
    if not problems:
        return None
    if len(problems) == 1:
        return problems[0]
    return f"{problems[0]} (and {len(problems) - 1} more manifest mismatches)"


def _corrupt_message(name: str, scan: Scan) -> str:
    assert scan.manifest is not None
    if name in scan.symlinks and name not in scan.content:
        return f"archive member '{show(name)}' is corrupt: symlink target differs"
    size = scan.content[name][0]
    what = "size mismatch" if size != scan.manifest.files[name].size else "sha256 mismatch"
    return f"archive member '{show(name)}' is corrupt: {what}"
