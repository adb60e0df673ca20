"""The import plan: what happens to each path, decided from the host scan and the volume state.

This is pure logic. A dry run prints the plan; a real run executes exactly this plan.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from containai.host.candidates import Candidate, Failure, HostScan
from containai.transfer.volume_state import META_DIR, Record, Shape, VolumeFile, VolumeState

ADD = "add"
UPDATE = "update"
UNCHANGED = "unchanged"
PLACEHOLDER = "placeholder"
CONFLICT = "conflict"
DELETE = "delete"
# A volume path a --replace restore leaves although the archive lacks it: the archive left it
# out on purpose (a secret under --no-secrets, an excluded path).
KEEP = "keep"
ERROR = "error"
SKIP_CREDENTIAL = "skip:credential"

# Placeholders (here or from the in-container sync) hold nothing worth a backup.
PLACEHOLDER_DIGESTS = frozenset(hashlib.sha256(data).hexdigest() for data in (b"", b"{}", b"{}\n"))
# Actions that put host content (or a placeholder) into the volume.
WRITES = frozenset({ADD, UPDATE, PLACEHOLDER})


@dataclass(frozen=True, slots=True)  # one per file: keep them small
class Item:
    path: str
    action: str
    kind: str
    size: int = 0
    detail: str = ""
    resolution: str = ""  # for conflicts: backup, skip or overwrite
    candidate: Candidate | None = field(default=None, compare=False)
    # An unchanged file: the sha256 of the host's content, known without reading it again.
    host_sha256: str | None = field(default=None, compare=False)

    @property
    def writes(self) -> bool:
        return self.action in WRITES or (self.action == CONFLICT and self.resolution != "skip")

    def to_json(self) -> dict[str, Any]:
        # Paths, sizes and reasons only: never content, which may be a secret.
        data: dict[str, Any] = {"path": self.path, "action": self.action, "kind": self.kind}
        if self.kind == "file":
            data["size"] = self.size
        if self.detail:
            data["detail"] = self.detail
        if self.resolution:
            data["resolution"] = self.resolution
        if self.candidate is not None and self.candidate.secret:
            data["secret"] = True
        return data


@dataclass
class Plan:
    volume: str
    volume_exists: bool
    items: list[Item]
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> Counter[str]:
        return Counter(item.action for item in self.items if item.kind != "dir")

    def bytes_to_send(self) -> int:
        return sum(item.size for item in self.items if item.writes and item.kind == "file")

    @property
    def failed(self) -> bool:
        return any(item.action == ERROR for item in self.items)


HostDigest = Callable[[Candidate], str | None]


def make(
    volume: str,
    scan: HostScan,
    state: VolumeState,
    *,
    on_conflict: str,
    host_digest: HostDigest,
    mirror_roots: Iterable[str] = (),
    three_way: bool = True,
) -> Plan:
    """Decide every path. ``host_digest`` hashes a host file, only when a quick check fails.

    Three-way (the default): a path whose host side is what containai last wrote there stays
    as the volume has it (an agent's edit is kept), whatever the volume holds; only the other
    paths are compared with the volume (``state`` may hold only those: ``needed``). Without it
    (``cai import --force``) every path is made to match the host, an agent's version kept as
    a backup.
    """
    items: list[Item] = []
    blocked: list[str] = []  # directories that cannot be created: nothing goes below them
    for candidate in last_wins(scan.candidates):
        if three_way and same_as_base(candidate, state, host_digest):
            items.append(_unchanged_on_host(candidate, state))
            continue
        in_the_way = parent_in_the_way(candidate.path, state)
        if in_the_way or any(candidate.path.startswith(f"{prefix}/") for prefix in blocked):
            detail = f"the volume has a {in_the_way} where a parent directory must go"
            if not in_the_way:
                detail = "a parent in the volume is not a directory"
            items.append(_item(candidate, CONFLICT, detail, resolution="skip"))
            continue
        item = _decide(candidate, state.files.get(candidate.path), state, on_conflict, host_digest)
        if candidate.kind == "dir" and item.action == CONFLICT:
            blocked.append(candidate.path)
        items.append(item)
    # Mirror deletes only what the host no longer has: never a path the scan skipped (a
    # secret under --no-secrets, an excluded one), and nothing at all if a path failed to
    # read (rsync --delete is as careful on I/O errors).
    if not scan.failures:
        sent = {candidate.path for candidate in scan.candidates}
        skipped = {skip.path for skip in scan.skipped}
        items.extend(_deletions(state, sent, skipped, mirror_roots))
    items.extend(
        Item(skip.path, skip.action, skip.path_kind, detail=skip.detail) for skip in scan.skipped
    )
    items.extend(_failure(failure) for failure in scan.failures)
    return Plan(volume, state.exists, items, list(scan.warnings))


def same_as_base(candidate: Candidate, state: VolumeState, host_digest: HostDigest) -> bool:
    """The host holds what containai last wrote at this path (its record). Never for a path
    an interrupted run may have rewritten (its journal names it): the volume is looked at."""
    if candidate.path == META_DIR or candidate.path.startswith(f"{META_DIR}/"):
        return False
    if candidate.path in state.journal:
        return False
    if candidate.kind != "file":
        mode = candidate.mode if candidate.kind == "dir" else 0
        return state.shapes.get(candidate.path) == Shape(candidate.kind, mode, candidate.linkname)
    record = state.record.get(candidate.path)
    if record is None:
        return False
    if candidate.placeholder:  # written once; the volume's copy is the container's since
        return True
    return record.mode == candidate.mode and same_as_record(candidate, record, host_digest)


def _unchanged_on_host(candidate: Candidate, state: VolumeState) -> Item:
    if candidate.credential:
        return _item(candidate, SKIP_CREDENTIAL, "credential not copied; volume copy kept")
    if candidate.placeholder:
        return _item(candidate, UNCHANGED, "no source on the host")
    if candidate.kind == "file":  # the host's content is the recorded one
        return _unchanged(candidate, state.record[candidate.path].sha256)
    return _item(candidate, UNCHANGED)


def mirror_roots(scan: HostScan, mirror_all: bool) -> list[str]:
    """The synced directories whose files gone from the host are deleted from the volume."""
    return sorted({c.entry.target for c in scan.candidates if c.entry.mirror or mirror_all})


def needed(
    scan: HostScan, state: VolumeState, host_digest: HostDigest, mirror_roots: Iterable[str]
) -> set[str]:
    """The volume paths a three-way plan must see: those the host changed, their parents,
    what an interrupted run left, and what mirroring may delete."""
    paths: set[str] = set(state.journal)
    for candidate in last_wins(scan.candidates):
        if not same_as_base(candidate, state, host_digest):
            parts = candidate.path.split("/")
            paths.update("/".join(parts[:end]) for end in range(1, len(parts) + 1))
    paths.update(gone_from_host(scan, state, mirror_roots))
    return paths


def gone_from_host(scan: HostScan, state: VolumeState, mirror_roots: Iterable[str]) -> set[str]:
    """The recorded paths below ``mirror_roots`` the host no longer sends: what mirroring may
    delete (a partial read must list the directories a deletion rebuilds whole)."""
    sent = {candidate.path for candidate in scan.candidates}
    roots = tuple(mirror_roots)
    return {path for path in state.record if path not in sent and _under(path, roots)}


def last_wins(candidates: list[Candidate]) -> list[Candidate]:
    # Two entries may map to one path (~/.tmux.conf and ~/.config/tmux/tmux.conf): the later
    # entry wins, as it did upstream.
    latest = {candidate.path: candidate for candidate in candidates}
    return [c for c in candidates if latest[c.path] is c]


def _decide(
    candidate: Candidate,
    current: VolumeFile | None,
    state: VolumeState,
    on_conflict: str,
    host_digest: HostDigest,
) -> Item:
    if candidate.path == META_DIR or candidate.path.startswith(f"{META_DIR}/"):
        return _item(
            candidate, CONFLICT, f"{META_DIR}/ is reserved for containai", resolution="skip"
        )
    if candidate.placeholder:
        return _placeholder(candidate, current)
    if current is None:
        return _item(candidate, ADD)
    if candidate.kind == "dir":
        if current.kind != "dir":
            return _item(
                candidate, CONFLICT, f"the volume has a {current.kind} here", resolution="skip"
            )
        if current.mode != candidate.mode:
            return _item(candidate, UPDATE, "mode")
        return _item(candidate, UNCHANGED)
    if candidate.kind == "symlink":
        if current.kind != "symlink":
            return _item(
                candidate, CONFLICT, f"the volume has a {current.kind} here", resolution="skip"
            )
        return _item(candidate, UNCHANGED if current.linkname == candidate.linkname else UPDATE)
    if current.kind != "file":
        return _item(
            candidate, CONFLICT, f"the volume has a {current.kind} here", resolution="skip"
        )
    return _decide_file(candidate, current, state.ours(candidate.path), on_conflict, host_digest)


def _decide_file(
    candidate: Candidate,
    current: VolumeFile,
    records: list[Record],
    on_conflict: str,
    host_digest: HostDigest,
) -> Item:
    ours = next((record for record in records if current.matches(record)), None)
    if ours is not None:
        # The volume still holds what containai wrote: only the host side can have changed.
        if not same_as_record(candidate, ours, host_digest):
            return _item(candidate, UPDATE)
        if current.mode != candidate.mode:
            return _item(candidate, UPDATE, "mode")
        return _unchanged(candidate, ours.sha256)
    # Changed inside the container since the last import, or never written by containai.
    if current.sha256 is not None and current.sha256 == host_digest(candidate):
        if current.mode != candidate.mode:
            return _item(candidate, UPDATE, "mode")
        return _unchanged(candidate, current.sha256)
    if current.sha256 in PLACEHOLDER_DIGESTS:
        return _item(candidate, UPDATE, "replaces an empty placeholder")
    why = (
        "changed in the container since the last import"
        if records
        else ("the volume has a different file that containai did not write")
    )
    return _item(candidate, CONFLICT, why, resolution=on_conflict)


def same_as_record(candidate: Candidate, record: Record, host_digest: HostDigest) -> bool:
    if candidate.size != record.size:
        return False
    if candidate.content is None:
        quick = (
            candidate.mtime == record.source_mtime
            if record.source_mtime is not None
            else int(candidate.mtime) == record.mtime  # a record written before source_mtime
        )
        if quick:
            return True
    return host_digest(candidate) == record.sha256


def _placeholder(candidate: Candidate, current: VolumeFile | None) -> Item:
    if candidate.credential:
        if current is None:
            return _item(candidate, PLACEHOLDER, "credential not copied: the container logs in")
        return _item(candidate, SKIP_CREDENTIAL, "credential not copied; volume copy kept")
    if current is None:
        return _item(candidate, PLACEHOLDER, "no source on the host")
    return _item(candidate, UNCHANGED, "no source on the host; volume copy kept")


def parent_in_the_way(path: str, state: VolumeState) -> str:
    """The kind of a non-directory sitting where one of ``path``'s parents must be, if any."""
    parts = path.split("/")
    for end in range(1, len(parts)):
        current = state.files.get("/".join(parts[:end]))
        if current is not None and current.kind != "dir":
            return current.kind
    return ""


def _under(path: str, roots: Iterable[str]) -> bool:
    return any(path == root or path.startswith(f"{root}/") for root in roots)


def _deletions(
    state: VolumeState, sent: set[str], skipped: set[str], roots: Iterable[str]
) -> list[Item]:
    roots = tuple(roots)
    items = []
    for path, record in sorted(state.record.items()):
        if path in sent or not _under(path, roots) or _under(path, skipped):
            continue
        current = state.files.get(path)
        if current is None:
            continue
        if current.matches(record):
            items.append(Item(path, DELETE, "file", current.size, "source removed from the host"))
        else:
            items.append(
                Item(
                    path,
                    CONFLICT,
                    "file",
                    current.size,
                    "source removed, but changed in the container",
                    resolution="skip",
                )
            )
    return items


def _failure(failure: Failure) -> Item:
    return Item(failure.path, ERROR, "file", detail=failure.reason)


def _unchanged(candidate: Candidate, host_sha256: str) -> Item:
    return Item(
        candidate.path,
        UNCHANGED,
        candidate.kind,
        candidate.size,
        candidate=candidate,
        host_sha256=host_sha256,
    )


def _item(candidate: Candidate, action: str, detail: str = "", *, resolution: str = "") -> Item:
    return Item(
        candidate.path, action, candidate.kind, candidate.size, detail, resolution, candidate
    )
