"""Execute a plan: one tar stream into the volume, written so that no file is ever torn.

The engine unpacks a put_archive stream entry by entry, truncating a file in place if the stream
stops mid-file. So file content never goes to its final name directly:

0. the staging tree an interrupted run left is replaced by a fresh one (see 5), after the
   journal of that run was read; what it lists and is still in place is carried over first;
1. every new file is written under ``.containai/staging/`` (a stopped run tears only these);
2. a journal of what is about to change is staged beside them;
3. each final path becomes a hard link to its staged file. The engine replaces an existing
   path by unlinking it and linking the new one while handling one tar header, so a reader sees
   the old file or the new one, never a mix. Backups are hard links to the old file, made first;
4. the state record is replaced the same way;
5. a plain file is written where ``.containai/staging`` was: the engine removes a directory that
   an archive entry replaces, which deletes the staging tree and its journal in one step.

An interrupted run leaves the staging tree and journals behind; the next run reads them to tell
its files from changes made in the container, and converges.

The stream, in order: the volume root (``.``, see ``transfer/headers.py``) and ``.containai``;
what finishes an interrupted run's rebuilds (``transfer/recovery.py``: they link from its stash,
so they come before 0); 0; the carried journal; the deletions (``transfer/deletion.py``: early,
so that the directories they rebuild were read as recently as can be); 1 to 5.
"""

from __future__ import annotations

import contextlib
import io
import os
import tarfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO, Protocol

from containai.host.candidates import SECRET_DIR_MODE, Candidate
from containai.transfer import deletion, recovery
from containai.transfer.headers import directory, hard_link, plain_file, volume_root
from containai.transfer.plan import CONFLICT, Item, Plan
from containai.transfer.records import adopted_journal, new_records
from containai.transfer.tar import (
    END_OF_ARCHIVE,
    ChangedWhileRead,
    bytes_member,
    file_member,
    member,
)
from containai.transfer.volume_state import (
    BACKUP_DIR,
    CARRIED_FILE,
    JOURNAL_FILE,
    MAX_RECORD_BYTES,
    META_DIR,
    STAGING_DIR,
    STATE_FILE,
    Record,
    Shape,
    VolumeState,
    encode_records,
)


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int

    def of(self, candidate: Candidate) -> Owner:
        if candidate.uid is None or candidate.gid is None:
            return self
        return Owner(candidate.uid, candidate.gid)


class ContentSource(Protocol):
    """Where the bytes of planned files come from, asked in plan order."""

    def open(self, candidate: Candidate) -> AbstractContextManager[tuple[BinaryIO, int]]:
        """The file's bytes and their size as they are now."""
        ...


class HostFiles:
    """Host files (sized when opened, not when scanned) and generated content."""

    @contextlib.contextmanager
    def open(self, candidate: Candidate) -> Iterator[tuple[BinaryIO, int]]:
        if candidate.content is not None:
            yield io.BytesIO(candidate.content), len(candidate.content)
            return
        assert candidate.source is not None
        with open(candidate.source, "rb") as handle:  # a str path
            yield handle, os.fstat(handle.fileno()).st_size


@dataclass
class Outcome:
    """What a real run did; failures are per path and do not stop the others."""

    files_sent: int = 0
    bytes_sent: int = 0
    backups: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    shapes: dict[str, Shape] = field(default_factory=dict)
    # Deletions below the root: the directories rebuilt around them, and the paths they kept.
    rebuilt: int = 0
    kept: int = 0


def stream(
    plan: Plan,
    state: VolumeState,
    owner: Owner,
    outcome: Outcome,
    content: ContentSource | None = None,
    *,
    run: str = "run",
    max_record_bytes: int = MAX_RECORD_BYTES,
) -> Iterator[bytes]:
    """The tar stream that carries out ``plan``; fills ``outcome`` as it goes. ``run`` names
    this run's staged files (unique per run, whatever else the volume holds). Deletions of
    names directly in the volume root are the caller's (the archive API cannot make them)."""
    content = content or HostFiles()
    now = time.time()
    writes = [item for item in plan.items if item.writes and item.candidate is not None]
    deleting = deletion.prepare(plan, state, run=run, max_record_bytes=max_record_bytes)
    outcome.failures.update(deleting.failures)
    outcome.rebuilt, outcome.kept = len(deleting.rebuilds), deleting.kept
    yield member(volume_root(owner.uid, owner.gid, now))
    yield member(_dir(META_DIR, 0o755, owner, now))
    yield from recovery.entries(state)
    # A file where the staging tree is makes the engine remove what an interrupted run left
    # there (a full volume must not stay full of it); the directory entry then starts afresh.
    yield from bytes_member(_file(STAGING_DIR, 0o600, owner, now), b"")
    yield member(_dir(STAGING_DIR, 0o700, owner, now))
    # That run's journal goes first into the new one: if this run is cut short too, the next
    # still knows those files are containai's.
    adopted = adopted_journal(state)
    if adopted:
        yield from bytes_member(_file(CARRIED_FILE, 0o600, owner, now), encode_records(adopted))
    yield from deletion.entries(deleting, state, (owner.uid, owner.gid), now)

    staged: dict[str, str] = {}  # final path -> staging name
    fresh: dict[str, Record] = {}
    for number, item in enumerate(i for i in writes if i.kind == "file"):
        name = f"{STAGING_DIR}/{run}-{number}"
        candidate = item.candidate
        assert candidate is not None
        if candidate.same_as:  # a second name for another file of the archive
            linked = _hard_link_source(candidate.same_as, staged, fresh, state)
            if candidate.same_as in outcome.failures:  # its new content never arrived
                why = f"its hard-link target {candidate.same_as} failed"
                outcome.failures[item.path] = why
            elif linked is not None:
                staged[item.path], fresh[item.path] = linked
            else:
                outcome.failures[item.path] = f"its hard-link target {candidate.same_as} is missing"
            continue
        try:
            yield from _staged_file(name, candidate, owner.of(candidate), fresh, content)
        except (OSError, ChangedWhileRead) as error:
            outcome.failures[item.path] = _why(error)
            continue
        staged[item.path] = name
        outcome.files_sent += 1
        outcome.bytes_sent += fresh[item.path].size

    # The journal: what this run is about to put in place, and what an interrupted earlier run
    # did put in place (its journal was just cleared with the staging tree).
    journal = {**adopted, **fresh}
    yield from bytes_member(_file(JOURNAL_FILE, 0o600, owner, now), encode_records(journal))

    yield from _directories(plan, state, staged, owner)
    backup_root = f"{BACKUP_DIR}/{time.strftime('%Y%m%d-%H%M%S', time.gmtime(now))}"
    for item in writes:
        if item.kind == "file" and item.path not in staged:
            continue
        if item.action == CONFLICT and item.resolution == "backup":
            backup = f"{backup_root}/{item.path}"
            yield from _parents(backup, state, owner, now, mode=SECRET_DIR_MODE)
            # The agent's file keeps its mode and mtime; it becomes the agent user's.
            current = state.files[item.path]
            yield member(
                hard_link(
                    backup, item.path, owner.uid, owner.gid, mode=current.mode, mtime=current.mtime
                )
            )
            outcome.backups.append(backup)
        yield from _final(item, staged, fresh, owner)

    outcome.records, outcome.shapes = new_records(plan, state, fresh, staged, outcome.failures)
    state_name = f"{STAGING_DIR}/{run}-state"
    body = encode_records(outcome.records, outcome.shapes)
    yield from bytes_member(_file(state_name, 0o644, owner, now), body)
    yield member(hard_link(STATE_FILE, state_name, owner.uid, owner.gid, mode=0o644, mtime=now))
    # 0700, the staging directory's own mode: Podman sets a directory's mode when the stream
    # ends, on whatever is at its name then (this empty file), so any other mode would not hold.
    yield from bytes_member(_file(STAGING_DIR, 0o700, owner, now), b"")
    yield END_OF_ARCHIVE


def _hard_link_source(
    target: str, staged: dict[str, str], fresh: dict[str, Record], state: VolumeState
) -> tuple[str, Record] | None:
    """What a second name links to: the staged copy, or the unchanged file already in place."""
    if target in staged:
        return staged[target], fresh[target]
    current = state.files.get(target)
    if current is None or current.kind != "file" or current.sha256 is None:
        return None
    return target, Record(current.size, current.mtime, current.sha256, mode=current.mode)


def _staged_file(
    name: str,
    candidate: Candidate,
    owner: Owner,
    fresh: dict[str, Record],
    content: ContentSource,
) -> Iterator[bytes]:
    mtime = candidate.mtime
    info = _file(name, candidate.mode, owner, mtime)
    with content.open(candidate) as (handle, size):
        info.size = size

        def done(digest: str) -> None:
            if candidate.sha256 is not None and digest != candidate.sha256:
                raise ChangedWhileRead("changed since it was checked (sha256 differs)")
            source_mtime = candidate.mtime if candidate.source is not None else None
            fresh[candidate.path] = Record(size, int(mtime), digest, source_mtime, candidate.mode)

        yield from file_member(info, handle, done)


def _directories(
    plan: Plan, state: VolumeState, staged: dict[str, str], owner: Owner
) -> Iterator[bytes]:
    """Directory entries, parents first: new ones, and existing ones whose mode must change.

    Parents the volume lacks are created 0755, or 0700 when they directly hold a secret file,
    owned by the agent (the engine would otherwise create them owned by root).
    """
    explicit: dict[str, Candidate] = {}
    implied: dict[str, int] = {}
    for item in plan.items:
        candidate = item.candidate
        if not item.writes or candidate is None:
            continue
        if candidate.kind == "file" and item.path not in staged:
            continue
        if candidate.kind == "dir":
            explicit[item.path] = candidate
        private = candidate.kind == "file" and candidate.secret
        parent, cut = item.path, item.path.rfind("/")
        direct = True
        while cut > 0:  # string slicing: PurePosixPath.parents is slow over many files
            parent = parent[:cut]
            mode = SECRET_DIR_MODE if private and direct else 0o755
            implied[parent] = min(implied.get(parent, mode), mode)
            cut, direct = parent.rfind("/"), False
    for path in sorted(explicit.keys() | implied.keys(), key=lambda p: (p.count("/"), p)):
        if path in explicit:
            found = explicit[path]
            yield member(_dir(path, found.mode, owner.of(found), found.mtime))
            continue
        current = state.files.get(path)
        mode = implied[path]
        # An existing parent is left alone unless it must become private for a secret.
        if (
            current is not None
            and current.kind == "dir"
            and (mode != SECRET_DIR_MODE or current.mode == SECRET_DIR_MODE)
        ):
            continue
        yield member(_dir(path, mode, owner, time.time()))


def _parents(
    path: str, state: VolumeState, owner: Owner, now: float, *, mode: int
) -> Iterator[bytes]:
    for parent in reversed(PurePosixPath(path).parents):
        text = parent.as_posix()
        # .containai itself was written at the start of the stream, 0755.
        if text not in (".", META_DIR) and text not in state.files:
            yield member(_dir(text, mode, owner, now))


def _final(
    item: Item, staged: dict[str, str], fresh: dict[str, Record], default_owner: Owner
) -> Iterator[bytes]:
    candidate = item.candidate
    assert candidate is not None
    owner = default_owner.of(candidate)
    if candidate.kind == "file":
        record = fresh[item.path]  # what the staged file (or a second name's target) holds
        mode = record.mode if record.mode is not None else candidate.mode
        link = hard_link(
            item.path, staged[item.path], owner.uid, owner.gid, mode=mode, mtime=record.mtime
        )
        yield member(link)
    elif candidate.kind == "symlink":
        info = tarfile.TarInfo(item.path)
        info.type = tarfile.SYMTYPE
        info.linkname = candidate.linkname
        info.uid, info.gid = owner.uid, owner.gid
        info.mtime = int(candidate.mtime)
        info.mode = 0o777
        yield member(info)


def _dir(name: str, mode: int, owner: Owner, mtime: float) -> tarfile.TarInfo:
    return directory(name, mode, owner.uid, owner.gid, mtime)


def _file(name: str, mode: int, owner: Owner, mtime: float) -> tarfile.TarInfo:
    return plain_file(name, mode, owner.uid, owner.gid, mtime)


def _why(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error)
