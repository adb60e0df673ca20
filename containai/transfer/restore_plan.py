"""Restoring an archive: plan each member against the volume, and read members in order.

Restore follows the seed: every path in the archive ends up identical to the archive (content,
mode, mtime, symlink target); other volume files stay unless --replace is given. The archive was
fully checked (safety, checksums) before this plan is made. What it writes belongs to the agent
user whatever the archive says, loses setuid, setgid and sticky bits, and a directory stays
open to its owner: an archive from anywhere must not lock the agent out or plant privileges.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace as replace_item

from containai.archive.comparison import ArchiveIndex, IndexEntry
from containai.host.candidates import Candidate
from containai.host.excludes import Excludes
from containai.host.manifest import Entry
from containai.transfer.plan import (
    ADD,
    CONFLICT,
    DELETE,
    KEEP,
    UNCHANGED,
    UPDATE,
    Item,
    Plan,
    parent_in_the_way,
)
from containai.transfer.volume_state import META_DIR, VolumeFile, VolumeState

ARCHIVE = Entry(
    tool="archive", source="archive", kind="dir", target="", link=None, origin="archive"
)
# Why an archive left a path out (its manifest's left_out) when that was a choice, not a
# limit: --replace never deletes such a path from the volume.
ON_PURPOSE = frozenset({"secret", "excluded"})


def make_plan(
    volume: str,
    index: ArchiveIndex,
    state: VolumeState,
    *,
    replace: bool,
    private: Excludes,
    owner: tuple[int, int] = (1000, 1000),
) -> Plan:
    files = index.manifest.files if index.manifest else {}
    secret = {name for name, info in files.items() if info.secret}
    # A hard link's content is its target's (followed along a chain of links, in archive order).
    digests: dict[str, str | None] = {}
    sizes: dict[str, int] = {}
    for entry in index.entries:
        if entry.kind == "hardlink":
            digests[entry.name] = digests.get(entry.linkname)
            sizes[entry.name] = sizes.get(entry.linkname, 0)
        elif entry.kind == "file":
            digests[entry.name], sizes[entry.name] = entry.sha256, entry.size
    items: list[Item] = []
    kept: dict[str, str] = {}  # archive path -> kind
    blocked: list[str] = []  # where the volume keeps something the archive cannot go under
    for entry in index.entries:
        if entry.name == META_DIR or entry.name.startswith(f"{META_DIR}/"):
            continue  # containai's own bookkeeping (the manifest): never restored
        rule = private.match(entry.name, is_dir=entry.kind == "dir")
        if rule:
            items.append(Item(entry.name, "skip:excluded", _kind(entry), detail=rule))
            continue
        candidate = _candidate(entry, entry.name in secret, owner)
        if candidate.same_as:
            candidate = replace_item(candidate, size=sizes.get(entry.name, 0))
        in_the_way = "" if replace else parent_in_the_way(entry.name, state)
        if in_the_way or any(entry.name.startswith(f"{b}/") for b in blocked):
            items.append(_conflict(candidate, in_the_way))
            continue
        digest = digests.get(entry.name)
        item = _decide(candidate, digest, state.files.get(entry.name), replace)
        if item.action == CONFLICT:
            blocked.append(entry.name)
        items.append(item)
        kept[entry.name] = candidate.kind
    left_out = index.manifest.left_out if index.manifest else None
    removals = _removals(state, kept, left_out or {}, private) if replace else []
    deleted = [item for item in removals if item.action == DELETE]
    return Plan(volume, state.exists, _refresh_parents(items, deleted) + removals)


def _conflict(candidate: Candidate, in_the_way: str) -> Item:
    detail = f"the volume has a {in_the_way} where a parent directory must go"
    if not in_the_way:
        detail = "a parent in the volume is kept (--replace replaces it)"
    return Item(candidate.path, CONFLICT, candidate.kind, candidate.size, detail, "skip", candidate)


def _refresh_parents(items: list[Item], removals: list[Item]) -> list[Item]:
    """Writing or removing a path touches its directory's mtime: rewrite that directory's entry
    too, so that a restore leaves every directory as the archive has it."""
    changed = [item for item in items if item.writes] + removals
    touched = {item.path.rpartition("/")[0] for item in changed}
    return [
        replace_item(item, action=UPDATE, detail="its contents change")
        if item.path in touched and item.kind == "dir" and item.action == UNCHANGED
        else item
        for item in items
    ]


def _candidate(entry: IndexEntry, secret: bool, owner: tuple[int, int]) -> Candidate:
    kind = _kind(entry)
    # setuid/setgid/sticky bits would be a gift to whoever crafted the archive.
    mode = entry.mode & 0o777
    return Candidate(
        path=entry.name,
        kind=kind,  # type: ignore[arg-type]
        entry=ARCHIVE,
        mode=mode | 0o700 if entry.kind == "dir" else mode,
        mtime=entry.mtime,
        size=entry.size,
        linkname=entry.linkname if entry.kind == "symlink" else "",
        secret=secret,
        uid=owner[0],
        gid=owner[1],
        same_as=entry.linkname if entry.kind == "hardlink" else "",
        sha256=entry.sha256,
    )


def _kind(entry: IndexEntry) -> str:
    return "file" if entry.kind == "hardlink" else entry.kind


def _decide(
    candidate: Candidate, digest: str | None, current: VolumeFile | None, replace: bool
) -> Item:
    def item(action: str, detail: str = "", resolution: str = "") -> Item:
        return Item(
            candidate.path, action, candidate.kind, candidate.size, detail, resolution, candidate
        )

    if current is None:
        return item(ADD)
    if (current.kind == "dir") != (candidate.kind == "dir") or current.kind == "other":
        if replace:
            return item(UPDATE, f"replaces a {current.kind}")
        return item(
            CONFLICT,
            f"the volume has a {current.kind} here (--replace replaces it)",
            resolution="skip",
        )
    owner = (current.uid, current.gid) == (candidate.uid, candidate.gid)
    same_owner = owner and current.mode == candidate.mode
    same_time = current.mtime == int(candidate.mtime)
    if candidate.kind == "dir":
        return item(UNCHANGED if same_owner and same_time else UPDATE)
    if candidate.kind == "symlink":
        same = current.kind == "symlink" and current.linkname == candidate.linkname
        return item(UNCHANGED if same and owner and same_time else UPDATE)
    same = (
        current.kind == "file"
        and same_owner
        and current.size == candidate.size
        and (candidate.same_as != "" or same_time)
        and current.sha256 == digest
    )
    return item(UNCHANGED if same else UPDATE)


def _removals(
    state: VolumeState, kept: dict[str, str], left_out: Mapping[str, str], private: Excludes
) -> list[Item]:
    """The top-most volume paths the archive does not hold (their contents go with them), and
    those it left out on purpose, or this restore never writes, which stay (``keep``).

    Nothing below a path the archive holds as a file or symlink: replacing that path removes
    what was below it already. A directory holding something left out on purpose is not
    removed whole: only the rest of it goes.
    """
    parents_of_kept = {p for name in kept for p in _ancestors(name)}
    replaced = tuple(f"{name}/" for name, kind in kept.items() if kind != "dir")
    protected = {
        name.removesuffix("/"): f"not in archive: {why}"
        for name, why in left_out.items()
        if why in ON_PURPOSE
    }
    names = [p for p in sorted(state.files) if p != META_DIR and not p.startswith(f"{META_DIR}/")]
    if private:
        for path in names:
            rule = private.match(path, is_dir=state.files[path].kind == "dir")
            if rule:
                protected.setdefault(path, f"excluded by {rule}")
    holding = {p for name in protected for p in _ancestors(name)}
    items: list[Item] = []
    done: set[str] = set()  # removed or kept whole
    for path in names:
        if path in kept or path in parents_of_kept or path.startswith(replaced):
            continue
        if any(ancestor in done for ancestor in _ancestors(path)):
            continue
        current = state.files[path]
        if path in protected:
            items.append(Item(path, KEEP, current.kind, current.size, protected[path]))
        elif path in holding and current.kind == "dir":
            continue
        else:
            items.append(Item(path, DELETE, current.kind, current.size, "not in the archive"))
        done.add(path)
    return items


def _ancestors(name: str) -> Iterator[str]:
    parts = name.split("/")
    for end in range(1, len(parts)):
        yield "/".join(parts[:end])
