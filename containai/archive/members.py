"""The rules every archive member must pass before anything is restored: no name that leaves
the volume, nothing written through a symlink, no device node, no link that escapes."""

from __future__ import annotations

import tarfile
from collections.abc import Mapping
from itertools import accumulate
from typing import Final, Literal

from containai.archive.names import (
    MAX_NAME_BYTES,
    byte_len,
    name_problem,
    normalise,
    show,
)
from containai.archive.schema import MANIFEST_NAME
from containai.errors import ArchiveError

MemberKind = Literal["dir", "file", "symlink", "hardlink"]

# CONTTYPE ("contiguous file") is a regular file to every reader that matters.
KINDS: Final[Mapping[bytes, MemberKind]] = {
    tarfile.REGTYPE: "file",
    tarfile.AREGTYPE: "file",
    tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir",
    tarfile.SYMTYPE: "symlink",
    tarfile.LNKTYPE: "hardlink",
}
FORBIDDEN_TYPES: Final[Mapping[bytes, str]] = {
    tarfile.CHRTYPE: "a character device",
    tarfile.BLKTYPE: "a block device",
    tarfile.FIFOTYPE: "a FIFO",
    tarfile.GNUTYPE_SPARSE: "a GNU sparse file",
}
# Header types that describe the member after them rather than being members themselves.
REGULAR_KINDS: Final = frozenset({"file", "hardlink"})


class UnsafeMember(ArchiveError):
    """A member that must not be restored: it could escape the volume or is not plain data."""

    def __init__(self, member: str, reason: str) -> None:
        super().__init__(f"unsafe archive member '{show(member)}': {reason}")
        self.member = member
        self.reason = reason


def check_member(member: tarfile.TarInfo, seen: dict[str, str]) -> str:
    """Validate one member against the members before it; return its normalised name.

    `seen` maps normalised names of earlier members to their kind ("dir", "file", "symlink",
    "hardlink"); on success this member is recorded in it, and so are its parent directories
    (as "dir"), since tar creates those implicitly. The root entry "." is returned as "." and
    not recorded. Raises UnsafeMember.
    """
    name = normalise(_strip_dir_slash(member))
    if name == ".":
        if member.type != tarfile.DIRTYPE:
            raise UnsafeMember(member.name, "the archive root '.' must be a directory")
        return name
    problem = name_problem(name)
    if problem is not None:
        raise UnsafeMember(member.name, problem)
    kind = _kind_of(member)
    if name == MANIFEST_NAME and kind != "file":
        raise UnsafeMember(member.name, f"the export manifest must be a regular file, not a {kind}")
    parents = _parents(name)
    problem = _parent_problem(parents, seen) or _duplicate_problem(name, kind, seen)
    if problem is None:
        problem = _kind_problem(member, kind, seen)
    if problem is not None:
        raise UnsafeMember(member.name, problem)
    for parent in parents:
        seen.setdefault(parent, "dir")
    seen[name] = kind
    return name


def _strip_dir_slash(member: tarfile.TarInfo) -> str:
    # tarfile strips "dir/" to "dir" when reading, but a TarInfo built by hand may keep it.
    stripped = member.name.rstrip("/")
    return stripped if member.type == tarfile.DIRTYPE and stripped else member.name


def _kind_of(member: tarfile.TarInfo) -> MemberKind:
    kind = KINDS.get(member.type)
    if kind is None:
        what = FORBIDDEN_TYPES.get(member.type, f"of unsupported tar type {member.type!r}")
        raise UnsafeMember(member.name, f"it is {what}")
    return kind


def _parents(name: str) -> list[str]:
    """The directories above `name`, outermost first: a/b/c gives a, a/b."""
    return list(accumulate(name.split("/")[:-1], lambda head, part: f"{head}/{part}"))


def _parent_problem(parents: list[str], seen: Mapping[str, str]) -> str | None:
    for parent in parents:
        kind = seen.get(parent)
        if kind == "symlink":
            # Extracting would write wherever the link points, e.g. outside the volume.
            return f"it would be written through the symlink '{show(parent)}'"
        if kind in REGULAR_KINDS:
            return f"its parent '{show(parent)}' is a {kind}, not a directory"
    return None


def _duplicate_problem(name: str, kind: MemberKind, seen: Mapping[str, str]) -> str | None:
    # Same name, same kind: tar overwrites, last wins. A kind change (say, a file replacing a
    # symlink) is how naive extractors get tricked into writing through a link.
    earlier = seen.get(name)
    if earlier is None or earlier == kind:
        return None
    return f"an earlier member made it a {earlier}, this one a {kind}"


def _kind_problem(member: tarfile.TarInfo, kind: MemberKind, seen: Mapping[str, str]) -> str | None:
    if kind == "symlink":
        return symlink_problem(normalise(member.name), member.linkname)
    if kind == "hardlink":
        return _hardlink_problem(member.linkname, seen)
    if kind == "file" and member.size < 0:
        return "negative size"
    if kind == "file" and member.sparse is not None:  # PAX-format sparse files
        return "it is a sparse file"
    return None


def _target_problem(what: str, target: str) -> str | None:
    if not target:
        return f"{what} has an empty target"
    if "\0" in target:
        return f"{what} target contains a NUL byte"
    if byte_len(target) > MAX_NAME_BYTES:
        return f"{what} target is longer than {MAX_NAME_BYTES} bytes"
    if target.startswith("/"):
        return f"{what} target '{show(target)}' is absolute"
    return None


def symlink_problem(name: str, target: str) -> str | None:
    """Why a restore would refuse a symlink ``name -> target`` (None: it is safe).

    Resolve `target` lexically from the link's directory; it must stay inside the root.

    Only leading ".." components are accepted. "x/../y" would be resolved by the kernel
    through "x", which may itself be a symlink (perhaps one later in the archive), so a
    lexical check of it proves nothing: with `d/up -> ..`, `d/t -> up/..` is lexically `d` but
    really the root's parent. With leading ".." only, the climb runs through the link's own
    ancestors, which are real directories (nothing is written through a symlink), and every
    step down lands on a member that is itself checked.
    """
    problem = _target_problem("symlink", target)
    if problem is not None:
        return problem
    depth = name.count("/")  # directories between the root and the link
    descended = False
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part != "..":
            descended = True
        elif descended:
            return f"symlink target '{show(target)}' has '..' after a normal component"
        elif depth == 0:
            return f"symlink target '{show(target)}' escapes the archive root"
        else:
            depth -= 1
    return None


def _hardlink_problem(target: str, seen: Mapping[str, str]) -> str | None:
    # Hard-link targets are archive names (relative to the root, not to the link).
    problem = _target_problem("hard link", target)
    if problem is not None:
        return problem
    normalised = normalise(target)
    if _escapes_root(normalised):
        return f"hard link target '{show(target)}' escapes the archive root"
    if normalised == MANIFEST_NAME:  # restore does not write the manifest into the volume
        return "hard link to the export manifest"
    if seen.get(normalised) not in REGULAR_KINDS:
        return f"hard link target '{show(target)}' is not an earlier regular file in the archive"
    return None


def _escapes_root(path: str) -> bool:
    depth = 0
    for part in path.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False
