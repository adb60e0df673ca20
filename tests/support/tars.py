"""Tar and tgz archives built member by member (hostile ones included: nothing is checked)."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Member = tuple[tarfile.TarInfo, bytes | None]
MTIME = 1_700_000_000


def header(name: str, kind: bytes = tarfile.REGTYPE, **fields: Any) -> tarfile.TarInfo:
    """A member's header of type ``kind``, dated ``MTIME``; ``fields`` set anything else."""
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mtime = MTIME
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def tar_bytes(members: Iterable[Member], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """An uncompressed tar of (header, content) pairs; content None for a member without data."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=fmt) as tar:
        for info, data in members:
            tar.addfile(info, None if data is None else io.BytesIO(data))
    return buffer.getvalue()


def tgz_bytes(members: Iterable[Member]) -> bytes:
    return gzip.compress(tar_bytes(members))


def write_tgz(path: Path, members: Iterable[Member]) -> Path:
    """``path``, written as the .tgz of ``members``."""
    path.write_bytes(tgz_bytes(members))
    return path


def file_member(name: str, data: bytes, **fields: Any) -> Member:
    """A regular file holding ``data``."""
    return header(name, size=len(data), **fields), data
