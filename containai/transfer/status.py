"""Where the host and the volume stand against the base (what the last import wrote there):
the states `cai status` prints and `cai diff` shows the content of.

| host vs base | volume vs base | state          |
|--------------|----------------|----------------|
| same         | same           | in-sync        |
| changed      | same           | host-changed   |
| same         | changed        | volume-changed |
| changed      | changed        | conflict (in-sync when both made the same change) |
| new on host  | (none)         | host-changed   |
| gone on host | (any)          | host-deleted   |
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from containai.host.candidates import Candidate, HostScan
from containai.transfer.plan import (
    HostDigest,
    last_wins,
    parent_in_the_way,
    same_as_base,
    same_as_record,
)
from containai.transfer.volume_state import META_DIR, VolumeFile, VolumeState

IN_SYNC = "in-sync"
HOST_CHANGED = "host-changed"
VOLUME_CHANGED = "volume-changed"
CONFLICT = "conflict"
HOST_DELETED = "host-deleted"
STATES = (HOST_CHANGED, VOLUME_CHANGED, CONFLICT, HOST_DELETED, IN_SYNC)


@dataclass(frozen=True)
class PathStatus:
    path: str
    state: str
    kind: str  # file, dir, symlink
    detail: str = ""
    candidate: Candidate | None = None  # None: gone from the host
    current: VolumeFile | None = None  # None: not in the volume

    @property
    def private(self) -> bool:
        """Secrets, credentials and whatever the host no longer describes: never shown."""
        candidate = self.candidate
        return candidate is None or candidate.secret or candidate.credential

    def to_json(self) -> dict[str, str]:
        found = {"path": self.path, "state": self.state, "kind": self.kind}
        return {**found, "detail": self.detail} if self.detail else found


def compare(scan: HostScan, state: VolumeState, host_digest: HostDigest) -> list[PathStatus]:
    """Every path the host offers, and every path containai wrote that the host no longer
    has; ``state`` must be complete, with the scanned files hashed."""
    found = []
    for candidate in last_wins(scan.candidates):
        if candidate.path == META_DIR or candidate.path.startswith(f"{META_DIR}/"):
            continue
        state_of, detail = _state(candidate, state, host_digest)
        current = state.files.get(candidate.path)
        found.append(
            PathStatus(candidate.path, state_of, candidate.kind, detail, candidate, current)
        )
    offered = {candidate.path for candidate in scan.candidates}
    for path in sorted(state.record.keys() - offered):
        current = state.files.get(path)
        if current is not None and not path.startswith(f"{META_DIR}/"):
            found.append(
                PathStatus(path, HOST_DELETED, "file", "kept in the volume", None, current)
            )
    return found


def counts(statuses: list[PathStatus]) -> Counter[str]:
    return Counter(status.state for status in statuses)


def _state(candidate: Candidate, state: VolumeState, host_digest: HostDigest) -> tuple[str, str]:
    current = state.files.get(candidate.path)
    if candidate.kind == "file":
        has_base = candidate.path in state.record or candidate.path in state.journal
    else:
        has_base = candidate.path in state.shapes
    if not has_base:
        if current is None:
            return HOST_CHANGED, "new on the host"
        if candidate.placeholder or _equal(candidate, current, host_digest):
            return IN_SYNC, ""
        return CONFLICT, f"the volume has a different {current.kind} that containai did not write"
    if candidate.kind == "file" and candidate.path in state.journal:
        host_same, volume_same = _against_journal(candidate, current, state, host_digest)
    else:
        host_same = same_as_base(candidate, state, host_digest)
        volume_same = _as_base(candidate, current, state)
    if host_same and volume_same:
        return IN_SYNC, ""
    if volume_same:
        return HOST_CHANGED, ""
    if host_same:
        return VOLUME_CHANGED, _gone(candidate.path, state) if current is None else ""
    if current is not None and _equal(candidate, current, host_digest):
        return IN_SYNC, ""  # both sides made the same change
    return CONFLICT, "changed on the host and in the volume"


def _gone(path: str, state: VolumeState) -> str:
    in_the_way = parent_in_the_way(path, state)
    if in_the_way:
        return f"the volume has a {in_the_way} where a parent directory must go"
    return "deleted in the volume"


def _against_journal(
    candidate: Candidate, current: VolumeFile | None, state: VolumeState, digest: HostDigest
) -> tuple[bool, bool]:
    """An interrupted run may have put its version in place: the base is the record the volume
    still matches (the journal's or the state's), else the state's."""
    base = next((r for r in state.ours(candidate.path) if current and current.matches(r)), None)
    base = base or state.record.get(candidate.path) or state.journal[candidate.path]
    host_same = base.mode in (None, candidate.mode) and same_as_record(candidate, base, digest)
    volume_same = current is not None and current.kind == "file" and current.matches(base)
    return host_same, volume_same


def _as_base(candidate: Candidate, current: VolumeFile | None, state: VolumeState) -> bool:
    """The volume still holds what containai last wrote at this path."""
    if current is None:
        return False
    if candidate.kind != "file":
        shape = state.shapes[candidate.path]
        if current.kind != shape.kind:
            return False
        if shape.kind == "dir":
            return current.mode == shape.mode
        return current.linkname == shape.linkname
    record = state.record[candidate.path]
    mode_kept = record.mode is None or record.mode == current.mode
    return current.kind == "file" and current.matches(record) and mode_kept


def _equal(candidate: Candidate, current: VolumeFile, host_digest: HostDigest) -> bool:
    """The volume already holds what an import would write."""
    if candidate.kind != current.kind:
        return False
    if candidate.kind == "dir":
        return current.mode == candidate.mode
    if candidate.kind == "symlink":
        return current.linkname == candidate.linkname
    digest = host_digest(candidate)
    return digest is not None and current.sha256 == digest and current.mode == candidate.mode
