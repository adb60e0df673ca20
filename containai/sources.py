"""What --from names: a directory to import, or an archive to restore (judged by content)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from containai.errors import ArchiveError, NotFoundError

_GZIP_MAGIC = b"\x1f\x8b"


def source_kind(path: Path) -> Literal["directory", "archive"]:
    if path.is_dir():
        return "directory"
    if not path.exists():
        raise NotFoundError(f"--from {path}: not found")
    try:
        with path.open("rb") as handle:
            head = handle.read(2)
    except OSError as error:
        raise NotFoundError(f"--from {path}: cannot read: {error.strerror}") from None
    if head == _GZIP_MAGIC:
        return "archive"
    if not head:
        raise ArchiveError(f"--from {path}: the file is empty")
    raise ArchiveError(f"--from {path}: not a directory or a gzip-compressed tar archive")
