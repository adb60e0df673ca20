"""A volume's files through a helper container's archive API: the same answers on every engine.

Docker and Podman differ under the same API (engine/flavour.py). Here they give one shape:

- a path below a file is absent (Docker answers 500 "not a directory", Podman 404);
- ``stat`` carries Docker's keys only (Podman adds ``isDir`` and names the path itself as the
  ``linkTarget`` of a file or directory, where Docker says "");
- on an engine that follows symlinks (Podman 4), a symlink is still seen as a symlink: its
  download is named after what it points to, so a first entry named otherwise gives it away,
  and its own entry is then read from its directory's listing (stopping there);
- a read-only helper refuses writes (Podman writes into a read-only mount regardless).

What is left as the engine gives it: the names of a whole-volume download (Docker ``data/x``,
Podman ``/x``: readers take what follows the first "/"), and owners where the engine reports
none (``owners_reported``: every entry then shows the helper's user).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import posixpath
import tarfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from containai.engine.errors import api_errors
from containai.engine.flavour import Flavour, ping
from containai.errors import EngineError

_CHUNK = 1024 * 1024
_GO_SYMLINK = 1 << 27
_STAT_KEYS = ("name", "size", "mode", "mtime", "linkTarget")


class Helper:
    """File transfer into and out of a volume through a helper container's archive API."""

    def __init__(
        self,
        client: Any,
        container: str,
        mount: str,
        *,
        flavour: Flavour | None = None,
        read_only: bool = False,
    ) -> None:
        self._client = client
        self.id = container  # its name: valid for the engine from the moment it exists
        self.mount = mount
        self.read_only = read_only
        self._flavour = flavour
        self._responses: list[Any] = []

    @property
    def flavour(self) -> Flavour:
        if self._flavour is None:
            self._flavour = ping(self._client.api)
        return self._flavour

    @property
    def owners_reported(self) -> bool:
        """Whether downloads carry each file's owner (else every entry shows the helper's)."""
        return self.flavour.reports_owners

    def put(self, stream: Iterable[bytes]) -> None:
        """Unpack a tar stream at the volume root (the engine applies it entry by entry)."""
        if self.read_only:
            raise EngineError("writing to the volume failed: mounted volume is marked read-only")
        with api_errors("writing to the volume failed"):
            self._client.api.put_archive(self.id, self.mount, _chunked(stream))

    @contextlib.contextmanager
    def open_file(self, path: str) -> Iterator[tuple[IO[bytes], int]]:
        """One regular file of the volume, streamed: its content and its size."""
        from containai.transfer.tar import open_stream

        with open_stream(self.get(path)) as tar:
            for info in tar:
                handle = tar.extractfile(info)
                if handle is not None:
                    yield handle, info.size
                    return
        raise EngineError(f"{path} is not a regular file in the volume")

    def get(self, path: str = "") -> Iterator[bytes]:
        """The tar stream of ``path`` (relative to the volume root), names under its basename.

        The request is made through the SDK's session (rather than ``get_archive``) so that its
        response can be closed when the helper goes: an abandoned stream would otherwise keep
        the engine from removing the container.
        """
        found = self.get_if_present(path)
        if found is None:
            raise EngineError(f"{path} is not in the volume")
        return found

    def get_if_present(self, path: str) -> Iterator[bytes] | None:
        """Like ``get``, or None when the volume has nothing at ``path``."""
        found = self._archive("get", path)
        if found is None:
            return None
        stream = _guarded(found.iter_content(_CHUNK))
        if not (self.flavour.follows_symlinks and path.strip("/")):
            return stream
        first, stream = _peek(stream)
        if first is None or _named_as(first, path):
            return stream
        found.close()  # what the symlink points to: not what was asked
        link = self._own_entry(path)
        return iter([_symlink_tar(link)]) if link is not None else None

    def stat(self, path: str) -> dict[str, Any] | None:
        """The engine's stat of ``path`` (name, size, mode, mtime, linkTarget), or None."""
        found = self._archive("head", path)
        if found is None:
            return None
        header = found.headers.get("X-Docker-Container-Path-Stat", "")
        try:
            parsed: dict[str, Any] = json.loads(base64.b64decode(header))
        except ValueError:
            return None
        if not self.flavour.follows_symlinks:
            return parsed
        shaped = {key: parsed.get(key, "") for key in _STAT_KEYS}
        shaped["linkTarget"] = ""  # Docker names a target only for symlinks
        link = self._symlink_entry(path)
        if link is not None:
            target = posixpath.join(posixpath.dirname(f"{self.mount}/{path}"), link.linkname)
            shaped.update(
                size=len(link.linkname.encode()),
                mode=_GO_SYMLINK | 0o777,
                mtime=_rfc3339(link.mtime),
                linkTarget=posixpath.normpath(target),
            )
        return shaped

    def _symlink_entry(self, path: str) -> tarfile.TarInfo | None:
        """On an engine that follows symlinks: the symlink's own entry, if ``path`` is one."""
        if not path.strip("/"):
            return None
        found = self._archive("get", path)
        if found is None:
            return None
        try:
            first, _ = _peek(_guarded(found.iter_content(64 * 1024)))
        finally:
            found.close()
        if first is None or _named_as(first, path):
            return None
        return self._own_entry(path)

    def _own_entry(self, path: str) -> tarfile.TarInfo | None:
        """``path``'s own entry in its directory's listing (read up to it, no further)."""
        from containai.transfer.tar import open_stream

        parent, _, base = path.strip("/").rpartition("/")
        found = self._archive("get", parent)
        if found is None:
            return None
        try:
            with open_stream(_guarded(found.iter_content(_CHUNK))) as tar:
                for info in tar:
                    if _below(info.name, parent) == base:
                        return info if info.issym() else None
        finally:
            found.close()
        return None

    def _archive(self, method: str, path: str) -> Any:
        import docker.errors
        import requests

        with api_errors("reading the volume failed"):
            response = self._request(method, path)
            if response.status_code == 500 and method == "head":
                response = self._request("get", path)  # a HEAD has no body to say why
            if response.status_code == 404 or _below_a_file(response):
                return None
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as error:
                raise docker.errors.create_api_error_from_http_exception(error) from None
        return response

    def _request(self, method: str, path: str) -> Any:
        api = self._client.api
        full = f"{self.mount}/{path}".rstrip("/")
        url = f"{api.base_url}/v{api.api_version}/containers/{self.id}/archive"
        # identity: the SDK's own get_archive asks the same; the engine would otherwise gzip
        # the whole volume for a reader on the same machine.
        response = getattr(api, method)(
            url,
            params={"path": full},
            headers={"Accept-Encoding": "identity"},
            stream=method == "get",
            timeout=None,
        )
        self._responses.append(response)
        return response

    def close(self) -> None:
        for response in self._responses:
            with contextlib.suppress(Exception):
                response.close()
        self._responses.clear()


def _below_a_file(response: Any) -> bool:
    # Docker: 500 "lstat /var/lib/docker/...: not a directory" (Podman: 404).
    return response.status_code == 500 and "not a directory" in response.text


def _below(name: str, parent: str) -> str:
    """An entry's path below the directory ``parent`` whose listing it is in."""
    if parent:
        return name.strip("/").partition("/")[2]
    # The volume root's listing: Docker names "data/x", Podman "/x".
    return name.strip("/") if name.startswith("/") else name.partition("/")[2].strip("/")


def _named_as(info: tarfile.TarInfo, path: str) -> bool:
    return info.name.strip("/").partition("/")[0] == path.strip("/").rpartition("/")[2]


def _peek(stream: Iterator[bytes]) -> tuple[tarfile.TarInfo | None, Iterator[bytes]]:
    """The first entry's header, and the whole stream again (what was read comes first)."""
    from containai.transfer.tar import open_stream

    seen: list[bytes] = []

    def recorded() -> Iterator[bytes]:
        for chunk in stream:
            seen.append(chunk)
            yield chunk

    try:
        first = open_stream(recorded()).next()
    except tarfile.TarError:
        first = None

    def again() -> Iterator[bytes]:
        yield from seen
        yield from stream

    return first, again()


def _symlink_tar(link: tarfile.TarInfo) -> bytes:
    from containai.transfer.tar import END_OF_ARCHIVE, member

    info = tarfile.TarInfo(link.name.strip("/").rpartition("/")[2])
    info.type, info.linkname = tarfile.SYMTYPE, link.linkname
    info.mode, info.mtime = 0o777, int(link.mtime)
    info.uid, info.gid = link.uid, link.gid
    return member(info) + END_OF_ARCHIVE


def _rfc3339(epoch: float) -> str:
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _guarded(stream: Iterator[bytes]) -> Iterator[bytes]:
    with api_errors("reading the volume failed"):
        yield from stream


def _chunked(stream: Iterable[bytes]) -> Iterator[bytes]:
    # requests sends a generator with chunked transfer encoding; coalescing the many small tar
    # headers into ~1 MiB chunks keeps the per-chunk overhead negligible.
    pending = bytearray()
    for piece in stream:
        pending += piece
        if len(pending) >= _CHUNK:
            yield bytes(pending)
            pending.clear()
    if pending:
        yield bytes(pending)
