"""Where an export goes: its file name, never an existing file unless forced, and the atomic
publication of the finished archive.

The archive is written to a temporary file in the target directory and appears under its name
only when complete. Without ``--force`` it is published with a hard link, which fails if the
name is taken (even by another export finishing in the same second): a default name then takes
the next ``-2``, ``-3``, ... suffix, an explicit ``-o FILE`` is an error, and nothing is ever
overwritten. ``--force`` renames over the file (atomically: readers see the old or the new one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, cast

from containai.archive.writer import default_name
from containai.errors import ContainAIError, UsageError

_MOST_NUMBERED = 1000
# Filesystems without hard links (vfat, some network and FUSE ones) say one of these.
_NO_HARD_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK})


@dataclass(frozen=True)
class Destination:
    path: Path  # the file to write; for a default name, the first free one when chosen
    force: bool = False  # replace an existing file (explicit names only)
    # A default name (without -N): if taken when the archive is done, the next -N is used.
    base: Path | None = None

    @property
    def numbered(self) -> bool:
        return self.base is not None

    def names(self) -> Iterator[Path]:
        """The names to try, in order: the file, or the default name and its -2, -3, ..."""
        if self.base is None:
            yield self.path
            return
        yield self.base
        stem = self.base.name.removesuffix(".tgz")
        for number in range(2, _MOST_NUMBERED):
            yield self.base.with_name(f"{stem}-{number}.tgz")


def choose(
    output: str | None, cwd: Path, *, force: bool, now: dt.datetime | None = None
) -> Destination:
    """``output`` None: the default name in ``cwd``; an existing directory or a path ending in
    ``/``: the default name inside it; anything else: that file. Usage errors (exit 2) for a
    missing directory and, without ``force``, an existing file."""
    name = default_name(now or dt.datetime.now())
    if not output:
        return _numbered(cwd / name)
    path = Path(output).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if output.endswith(("/", os.sep)) or path.is_dir():
        _check_directory(path)
        return _numbered(path / name)
    _check_directory(path.parent)
    if os.path.lexists(path) and not force:
        raise UsageError(f"{path} exists (use --force to replace it)")
    if force and os.path.lexists(path) and not path.is_file():
        # --force replaces an archive, not a device, a directory or what a symlink leads to.
        raise UsageError(f"{path} is not a regular file: --force only replaces one")
    return Destination(path, force=force)


def _numbered(base: Path) -> Destination:
    """A default name is never replaced, --force or not: the first free one is used."""
    names = Destination(base, base=base).names()
    free = next((name for name in names if not os.path.lexists(name)), base)
    return Destination(free, base=base)


def _check_directory(directory: Path) -> None:
    if not directory.exists():
        raise UsageError(f"output directory {directory} does not exist")
    if not directory.is_dir():
        raise UsageError(f"output directory {directory} is not a directory")


class Publication:
    """The archive being written: ``out`` to write to, ``path`` once it is published."""

    def __init__(self, handle: IO[bytes], destination: Destination) -> None:
        # The guard has no name: gzip would record the temporary file's in its header.
        self.out = cast(IO[bytes], _Guarded(handle, destination.path))
        self.path = destination.path


@contextlib.contextmanager
def publishing(destination: Destination) -> Iterator[Publication]:
    """A temporary file beside the destination, published only if the block succeeds."""
    directory = destination.path.parent
    try:
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed and published below
            dir=directory, prefix=f".{destination.path.name}.", suffix=".partial", delete=False
        )
    except OSError as error:
        raise ContainAIError(f"cannot write to {directory}: {_reason(error)}") from None
    temporary = Path(handle.name)
    try:
        publication = Publication(handle, destination)
        yield publication
        try:
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()
            publication.path = _publish(temporary, destination)
        except OSError as error:
            raise ContainAIError(f"cannot write {destination.path}: {_reason(error)}") from None
        _sync_directory(directory)
    finally:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _publish(temporary: Path, destination: Destination) -> Path:
    if destination.force:
        os.replace(temporary, destination.path)
        return destination.path
    for name in destination.names():
        try:
            _link_new(temporary, name)
        except FileExistsError:
            if destination.numbered:
                continue
            raise UsageError(f"{name} exists (use --force to replace it)") from None
        return name
    raise ContainAIError(f"no free name for the archive in {destination.path.parent}")


def _link_new(temporary: Path, name: Path) -> None:
    """``temporary`` under ``name``, which must not exist (FileExistsError otherwise)."""
    try:
        os.link(temporary, name)
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        # Take the name first (O_EXCL), then rename over our own empty file.
        os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        os.replace(temporary, name)


def _sync_directory(directory: Path) -> None:
    """Make the new name durable too (best effort: not every filesystem can)."""
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


class _Guarded:
    """The archive's file, whose write errors (a full disk) name the archive, not a bug."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self._handle = handle
        self._path = path

    def write(self, data: bytes) -> int:
        try:
            return self._handle.write(data)
        except OSError as error:
            raise ContainAIError(f"cannot write {self._path}: {_reason(error)}") from None

    def flush(self) -> None:
        try:
            self._handle.flush()
        except OSError as error:
            raise ContainAIError(f"cannot write {self._path}: {_reason(error)}") from None


def _reason(error: OSError) -> str:
    return error.strerror or str(error)
