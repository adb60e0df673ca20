"""Rewrite the volume's tar stream into a verifiable .tgz, in constant memory.

The engine streams the volume as ``data/...``; the archive holds the same tree with names
relative to the volume root, minus excluded paths and containai's own bookkeeping, plus a
manifest (``.containai/export.json``, written last) with each file's size and sha256.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, cast

from containai import __version__
from containai.archive.members import symlink_problem
from containai.archive.parallel_gzip import ParallelGzipWriter
from containai.archive.schema import ExportManifest, ManifestFile, manifest_tarinfo
from containai.host.excludes import Excludes
from containai.transfer.tar import CHUNK, open_stream
from containai.transfer.volume_state import META_DIR


@dataclass
class ExportSummary:
    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


@dataclass(frozen=True)
class ExportRequest:
    volume: str
    labels: dict[str, str]
    excludes: Excludes
    include_secrets: bool
    is_secret: Callable[[str], bool]
    compression_level: int
    # The owner every member gets, where the engine's download cannot be trusted with owners
    # (Podman reports its helper's user for every file: Helper.owners_reported). containai
    # writes everything as the agent, and a restore makes everything the agent's anyway.
    owner: tuple[int, int] | None = None


# The content of one volume path and its size, streamed (for hard links to skipped files).
Fetch = Callable[[str], AbstractContextManager[tuple[IO[bytes], int]]]
_REFUSED_SYMLINK = "symlink that a restore would refuse"


def default_name(now: dt.datetime) -> str:
    return f"containai-export-{now.strftime('%Y%m%d-%H%M%S')}.tgz"


def output_path(output: str | None, now: dt.datetime, cwd: Path) -> Path:
    """None: ./<default>; an existing directory or a path ending in /: <dir>/<default>."""
    if not output:
        return cwd / default_name(now)
    path = Path(output).expanduser()
    if not path.is_absolute():
        path = cwd / path
    if output.endswith(("/", os.sep)) or path.is_dir():
        return path / default_name(now)
    return path


@contextlib.contextmanager
def atomic_file(target: Path) -> Iterator[IO[bytes]]:
    """A temporary file beside ``target``, renamed over it only if the block succeeds."""
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115  # closed and renamed below
        dir=target.parent, prefix=f".{target.name}.", suffix=".partial", delete=False
    )
    done = False
    try:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        os.replace(handle.name, target)
        done = True
    finally:
        if not done:
            handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(handle.name)


def write_archive(
    stream: Iterable[bytes], out: IO[bytes], request: ExportRequest, fetch: Fetch
) -> ExportSummary:
    """Rewrite the volume's tar stream into ``out``; every member is one a restore accepts.

    A hard link is kept as a hard link to a file already written; to a symlink (what ``cp -al``
    makes) it becomes that symlink; to a file left out, the file's content is fetched again (a
    stream, never held in memory); to anything else it is left out with a reason.
    """
    summary = ExportSummary()
    files: dict[str, ManifestFile] = {}
    symlinks: dict[str, str] = {}  # written: name -> target
    dirs: list[str] = []
    # Every name seen, written or not, that a hard link may point at.
    seen_links: dict[str, str] = {}
    seen_files: set[str] = set()
    left_out: dict[str, str] = {}
    excluded_dirs: list[str] = []
    with (
        # Compressing is most of an export's time: on every core, as pigz does.
        ParallelGzipWriter(out, request.compression_level) as compressed,
        # Stream mode only writes to its file object: all ParallelGzipWriter offers.
        tarfile.open(
            fileobj=cast(IO[bytes], compressed), mode="w|", format=tarfile.PAX_FORMAT
        ) as archive,
        open_stream(stream) as volume,
    ):
        for info in volume:
            name = _relative(info.name)
            # Seen before anything is skipped: a hard link may share the inode of a name under
            # .containai/ (a staged file an interrupted import left), excluded, or a secret.
            if info.issym():
                seen_links[name] = info.linkname
            elif info.isreg():
                seen_files.add(name)
            if not name or name == META_DIR or name.startswith(f"{META_DIR}/"):
                continue
            if name.startswith(tuple(excluded_dirs)):
                continue
            kind, why = _skip_reason(name, info, request)
            if why:
                summary.skipped.append((name, why))
                left_out[f"{name}/" if info.isdir() else name] = kind
                if info.isdir():
                    excluded_dirs.append(f"{name}/")
                continue
            copy = _copy_header(info, name, request.owner)
            if info.isreg():
                reader = _HashingReader(volume.extractfile(info))
                archive.addfile(copy, reader)
                files[name] = _manifest_file(copy, reader.hexdigest(), request)
            elif info.islnk():
                target = _relative(info.linkname)
                if target in files:
                    copy.linkname = target
                    archive.addfile(copy)
                    files[name] = replace(files[target], secret=request.is_secret(name))
                elif target in seen_links:
                    # A second name of a symlink is that symlink, at this name.
                    problem = symlink_problem(name, seen_links[target])
                    if problem:
                        summary.skipped.append((name, f"{_REFUSED_SYMLINK}: {problem}"))
                        left_out[name] = "symlink"
                        continue
                    copy.type, copy.linkname = tarfile.SYMTYPE, seen_links[target]
                    archive.addfile(copy)
                    symlinks[name] = seen_links[name] = copy.linkname
                elif target in seen_files:
                    # The other name of this inode was left out: store the content itself.
                    with fetch(name) as (handle, size):
                        copy.type, copy.linkname, copy.size = tarfile.REGTYPE, "", size
                        reader = _HashingReader(handle)
                        archive.addfile(copy, reader)
                    files[name] = _manifest_file(copy, reader.hexdigest(), request)
                else:
                    summary.skipped.append((name, "a hard link to something not exported"))
                    left_out[name] = "unsupported"
                    continue
            else:
                archive.addfile(copy)
                if info.isdir():
                    dirs.append(name)
                elif info.issym():
                    symlinks[name] = info.linkname
            if copy.isreg():
                summary.files += 1
                summary.bytes += copy.size
        manifest = ExportManifest(
            tool_version=__version__,
            created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            volume_name=request.volume,
            volume_labels=request.labels,
            excludes=bool(request.excludes),
            secrets=request.include_secrets,
            files=files,
            symlinks=symlinks,
            dirs=tuple(dirs),
            left_out=left_out,
        )
        data = manifest.to_json()
        archive.addfile(
            manifest_tarinfo(data, mtime=dt.datetime.now(dt.UTC).timestamp(), uid=0, gid=0),
            _HashingReader.of(data),
        )
    return summary


def _skip_reason(name: str, info: tarfile.TarInfo, request: ExportRequest) -> tuple[str, str]:
    """Why a member is left out, as (kind, reason), or ("", "")."""
    rule = request.excludes.match(name, is_dir=info.isdir())
    if rule:
        return "excluded", f"excluded by {rule}"
    if not request.include_secrets and not info.isdir() and request.is_secret(name):
        return "secret", "secret (--no-secrets)"
    if not (info.isreg() or info.isdir() or info.issym() or info.islnk()):
        return "unsupported", "not a file, directory or symlink"
    if info.issym():
        problem = symlink_problem(name, info.linkname)
        if problem:
            # A backup that cannot be restored is worse than one without this link.
            return "symlink", f"{_REFUSED_SYMLINK}: {problem}"
    return "", ""


def _relative(name: str) -> str:
    _, _, rest = name.partition("/")
    return rest.strip("/")


def _copy_header(
    info: tarfile.TarInfo, name: str, owner: tuple[int, int] | None = None
) -> tarfile.TarInfo:
    copy = tarfile.TarInfo(name)
    copy.type = info.type
    copy.mode = info.mode & 0o7777
    copy.uid, copy.gid = owner or (info.uid, info.gid)
    copy.uname, copy.gname = "", ""
    copy.mtime = info.mtime
    copy.size = info.size if info.isreg() else 0
    copy.linkname = info.linkname if info.issym() else ""
    return copy


def _manifest_file(info: tarfile.TarInfo, digest: str, request: ExportRequest) -> ManifestFile:
    return ManifestFile(
        size=info.size, sha256=digest, secret=request.is_secret(info.name), mode=info.mode
    )


class _HashingReader:
    """Hands tarfile the member's bytes while hashing them on the way through."""

    def __init__(self, inner: IO[bytes] | None) -> None:
        assert inner is not None
        self._inner = inner
        self._digest = hashlib.sha256()

    @classmethod
    def of(cls, data: bytes) -> _HashingReader:
        return cls(io.BytesIO(data))

    def read(self, size: int = CHUNK) -> bytes:
        chunk = self._inner.read(size)
        self._digest.update(chunk)
        return chunk

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
