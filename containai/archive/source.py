"""What a restore reads besides the checked index: whether ``--from`` names an archive, and
the members' contents, in order, for the second streaming pass."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from containai.archive.names import normalise, show
from containai.archive.reader import open_gzip
from containai.errors import NotFoundError
from containai.host.candidates import Candidate
from containai.transfer.tar import ForgetfulTarFile


def is_archive(path: Path) -> bool:
    """What ``--from`` names: a directory to import (False) or an archive to restore (True),
    judged by content; anything else is an error."""
    if path.is_dir():
        return False
    if not path.exists():
        raise NotFoundError(f"--from {show(str(path))}: not found")
    with open_gzip(path):
        return True


class MemberContents:
    """Member contents, read from an archive in order (restore's second streaming pass), for
    members the first pass checked."""

    def __init__(self, path: Path) -> None:
        # gzip.open checks the CRC at the end, which tarfile's own "r|gz" does not.
        self._raw = gzip.open(path, "rb")  # noqa: SIM115  # closed by close()
        self._tar = ForgetfulTarFile.open(fileobj=self._raw, mode="r|")
        self._members = iter(self._tar)

    def close(self) -> None:
        self._tar.close()
        self._raw.close()

    @contextmanager
    def open(self, candidate: Candidate) -> Iterator[tuple[BinaryIO, int]]:
        for info in self._members:
            if normalise(info.name).rstrip("/") == candidate.path and info.isreg():
                handle = self._tar.extractfile(info)
                assert handle is not None
                yield handle, info.size  # type: ignore[misc]
                return
        raise OSError(f"{candidate.path} vanished from the archive")
