"""The one module that talks to the Docker engine, through the Docker SDK only.

Everything above it deals in volumes, helpers and byte streams; docker's exceptions stop here and
become containai errors with one-line messages.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import tarfile
import time
import tomllib
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from containai.errors import EngineError, NotFoundError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class HelperSpec:
    """What a helper container looks like, read from templates/containers/helper.toml.j2."""

    image: str
    mount: str
    command: list[str]
    network_mode: str
    user: str
    labels: dict[str, str]
    mount_uid: int
    mount_gid: int
    mount_mode: int

    @classmethod
    def from_toml(cls, text: str) -> HelperSpec:
        data = tomllib.loads(text)
        point = data["mount_point"]
        return cls(
            image=data["image"],
            mount=data["mount"],
            command=list(data["command"]),
            network_mode=data["network_mode"],
            user=data["user"],
            labels=dict(data["labels"]),
            mount_uid=point["uid"],
            mount_gid=point["gid"],
            mount_mode=point["mode"],
        )


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: dict[str, str]


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    id: str
    labels: dict[str, str]
    state: str
    started_at: str


def endpoint() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


class Engine:
    """A connected engine. Create with ``Engine.connect()``."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def connect(cls, timeout: int = 120) -> Engine:
        import docker  # imported here: the SDK costs start-up time that --help should not pay

        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except Exception as error:  # the SDK raises several unrelated types for "no engine"
            raise EngineError(
                f"cannot reach the Docker engine at {endpoint()}: {_reason(error)}"
            ) from None
        return cls(client)

    def close(self) -> None:
        """Release the engine connections (the SDK keeps a pool of them)."""
        self.client.close()

    # -- volumes ------------------------------------------------------------------------------

    def volume(self, name: str) -> VolumeInfo | None:
        attrs = _inspect(self.client.api.inspect_volume, "volume", name)
        if attrs is None:
            return None
        return VolumeInfo(name=attrs["Name"], labels=dict(attrs.get("Labels") or {}))

    def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        with _api_errors(f"cannot create volume {name}"):
            self.client.api.create_volume(name=name, labels=labels)
        return VolumeInfo(name=name, labels=labels)

    def require_volume(self, name: str) -> VolumeInfo:
        info = self.volume(name)
        if info is None:
            raise NotFoundError(f"volume {name} does not exist")
        return info

    # -- containers ---------------------------------------------------------------------------

    def container(self, name: str) -> ContainerInfo | None:
        attrs = _inspect(self.client.api.inspect_container, "container", name)
        if attrs is None:
            return None
        return ContainerInfo(
            name=attrs["Name"].lstrip("/"),
            id=attrs["Id"],
            labels=dict(attrs["Config"].get("Labels") or {}),
            state=attrs["State"]["Status"],
            started_at=attrs["State"].get("StartedAt", ""),
        )

    def containers_labelled(self, labels: dict[str, str]) -> list[ContainerInfo]:
        """Containers (running or not) carrying all of ``labels``; helpers excluded."""
        wanted = [f"{key}={value}" for key, value in labels.items()]
        with _api_errors("cannot list containers"):
            found = self.client.api.containers(all=True, filters={"label": wanted})
        infos = [self.container(item["Id"]) for item in found]
        return [i for i in infos if i is not None and i.labels.get("containai.role") != "helper"]

    def exec(
        self, container_id: str, command: list[str], *, user: str, environment: dict[str, str]
    ) -> tuple[int, str]:
        """Run a command in a running container; returns its exit code and combined output."""
        output = io.BytesIO()
        code = self.exec_stream(
            container_id,
            command,
            user=user,
            workdir="",
            environment=environment,
            out=output,
            err=output,
        )
        return code, output.getvalue().decode(errors="replace")

    def exec_stream(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str,
        workdir: str,
        environment: dict[str, str],
        out: Any,
        err: Any,
    ) -> int:
        """Run a command, passing its output through as it comes; returns its exit code."""
        from docker.utils.socket import STDERR, frames_iter

        with _api_errors("running a command in the container failed"):
            exec_id = self._exec_create(container_id, command, user, workdir, environment)
            with _hijacked(self.client.api.exec_start(exec_id, socket=True)) as connection:
                for stream, data in frames_iter(connection, tty=False):
                    target = err if stream == STDERR else out
                    target.write(data)
                    target.flush()
            code = self.client.api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else 1)

    def exec_interactive(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str,
        workdir: str,
        environment: dict[str, str],
    ) -> int:
        """An interactive session on this terminal (raw mode, resized to fit)."""
        from containai.engine.terminal import relay

        api = self.client.api
        with _api_errors("starting the shell failed"):
            exec_id = self._exec_create(
                container_id, command, user, workdir, environment, interactive=True
            )
            with _hijacked(api.exec_start(exec_id, tty=True, socket=True)) as connection:
                relay(connection, lambda rows, cols: api.exec_resize(exec_id, rows, cols))
            code = api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else 1)

    def _exec_create(
        self,
        container_id: str,
        command: list[str],
        user: str,
        workdir: str,
        environment: dict[str, str],
        *,
        interactive: bool = False,
    ) -> str:
        created = self.client.api.exec_create(
            container_id,
            command,
            user=user,
            workdir=workdir or None,
            environment=environment,
            stdout=True,
            stderr=True,
            stdin=interactive,
            tty=interactive,
        )
        return str(created["Id"])

    def mount_sources(self, container_id: str) -> dict[str, str]:
        """Mount destination in the container -> its source on the host (or volume name)."""
        with _api_errors("cannot inspect the container"):
            mounts = self.client.api.inspect_container(container_id).get("Mounts") or []
        return {str(m.get("Destination", "")): str(m.get("Source", "")) for m in mounts}

    def image_command(self, image: str) -> list[str]:
        """The image's own entrypoint + command (what it would run by default)."""
        with _api_errors(f"cannot inspect image {image}"):
            config = self.client.api.inspect_image(image).get("Config") or {}
        return [*(config.get("Entrypoint") or []), *(config.get("Cmd") or [])]

    def create_container(self, name: str, image: str, **options: Any) -> str:
        binds = options.pop("binds")
        host = self.client.api.create_host_config(
            binds=binds,
            init=True,
            network_mode=options.pop("network_mode"),
        )
        with _api_errors(f"cannot create container {name}"):
            created = self.client.api.create_container(
                image=image, name=name, host_config=host, **options
            )
        return str(created["Id"])

    def start(self, container_id: str) -> None:
        with _api_errors("cannot start the container"):
            self.client.api.start(container_id)

    def stop(self, container_id: str, timeout: int = 10) -> None:
        with _api_errors("cannot stop the container"):
            self.client.api.stop(container_id, timeout=timeout)

    def remove(self, container_id: str) -> None:
        with _api_errors("cannot remove the container"):
            self.client.api.remove_container(container_id, force=True, v=False)

    def logs(self, container_id: str) -> str:
        with _api_errors("cannot read the container's logs"):
            data = self.client.api.logs(container_id, stdout=True, stderr=True)
        return bytes(data).decode(errors="replace")

    def containers_using(self, volume: str) -> list[ContainerInfo]:
        """Running containers that mount ``volume`` (helpers excluded)."""
        with _api_errors("cannot list containers"):
            found = self.client.api.containers(filters={"volume": volume, "status": "running"})
        infos = [self.container(item["Id"]) for item in found]
        return [i for i in infos if i is not None and i.labels.get("containai.role") != "helper"]

    # -- helper containers --------------------------------------------------------------------

    @contextlib.contextmanager
    def helper(self, volume: str, spec: HelperSpec, *, read_only: bool = False) -> Iterator[Helper]:
        """A created, never-started container with ``volume`` at ``spec.mount``; always removed."""
        image = self._ensure_helper_image(spec)
        name = f"containai-helper-{uuid.uuid4().hex[:12]}"
        helper = Helper(self.client, name, spec.mount)
        try:
            with _api_errors("cannot create the helper container"):
                self.client.api.create_container(
                    image=image,
                    command=spec.command,
                    name=name,
                    labels=spec.labels,
                    network_disabled=True,
                    user=spec.user,
                    host_config=self.client.api.create_host_config(
                        binds={volume: {"bind": spec.mount, "mode": "ro" if read_only else "rw"}},
                        network_mode=spec.network_mode,
                        privileged=False,
                        cap_drop=["ALL"],
                        security_opt=["no-new-privileges"],
                    ),
                )
            yield helper
        finally:
            # Open archive streams first: the engine will not remove a container while it is
            # still streaming from it. Removal goes by name, so an interrupt that struck while
            # the container was being created cannot leave it behind.
            helper.close()
            with contextlib.suppress(Exception):
                self.client.api.remove_container(name, force=True, v=False)

    def remove_stale_helpers(self, volume: str, *, older_than: float = 3600) -> int:
        """Remove never-started helpers of ``volume`` left by killed commands (a SIGKILL leaves
        no chance to clean up). Only old ones: a younger one may belong to a running command."""
        labels = ["containai.role=helper", f"containai.data-volume={volume}"]
        with _api_errors("cannot list containers"):
            found = self.client.api.containers(all=True, filters={"label": labels})
        cutoff = time.time() - older_than
        removed = 0
        for item in found:
            if item.get("State") == "created" and item.get("Created", cutoff) < cutoff:
                with contextlib.suppress(Exception):
                    self.client.api.remove_container(item["Id"], force=True)
                    removed += 1
        return removed

    def run_in_volume(
        self, volume: str, image: str, command: list[str], *, mount: str = "/data"
    ) -> tuple[int, str]:
        """Run a short program against the volume (for what the archive API cannot do: delete).

        The container has no network and only the volume; it runs as root with every
        capability dropped except DAC_OVERRIDE, which deleting files of any owner needs.
        """
        import docker.errors

        self.ensure_image(image, "set engine.shell_image to a local image with a POSIX shell")
        with _api_errors("cannot create a helper container"):
            container = self.client.api.create_container(
                image=image,
                command=command,
                labels={
                    "containai.managed": "true",
                    "containai.role": "helper",
                    "containai.data-volume": volume,
                },
                network_disabled=True,
                user="0:0",
                host_config=self.client.api.create_host_config(
                    binds={volume: {"bind": mount, "mode": "rw"}},
                    network_mode="none",
                    privileged=False,
                    cap_drop=["ALL"],
                    cap_add=["DAC_OVERRIDE"],
                    security_opt=["no-new-privileges"],
                    log_config={"type": "json-file"},
                ),
            )
        try:
            with _api_errors("the helper container failed"):
                self.client.api.start(container["Id"])
                status = self.client.api.wait(container["Id"])
                output = self.client.api.logs(container["Id"], stdout=True, stderr=True)
            return int(status.get("StatusCode", 1)), output.decode(errors="replace")
        finally:
            with contextlib.suppress(docker.errors.DockerException):
                self.client.api.remove_container(container["Id"], force=True)

    def ensure_image(self, image: str, hint: str = "") -> None:
        """The image must be local, or pullable; a clear error otherwise."""
        import docker.errors

        try:
            self.client.api.inspect_image(image)
            return
        except docker.errors.ImageNotFound:
            pass
        try:
            from docker.utils import parse_repository_tag

            repository, tag = parse_repository_tag(image)
            self.client.api.pull(repository, tag=tag or "latest")
        except docker.errors.DockerException as error:
            advice = f"; {hint}" if hint else ""
            raise EngineError(
                f"image {image} is not available locally and cannot be pulled "
                f"({_reason(error)}){advice}"
            ) from None

    def _ensure_helper_image(self, spec: HelperSpec) -> str:
        """The helper image for ``spec``, generated here if absent. Its tag is a hash of its
        content, so a change of owner or mode never reuses an image made for another."""
        import docker.errors

        content = _mount_point_tar(spec)
        tag = hashlib.sha256(content).hexdigest()[:16]
        image = f"{spec.image}:{tag}"
        try:
            self.client.api.inspect_image(image)
            return image
        except docker.errors.ImageNotFound:
            pass
        with _api_errors("cannot create the helper image"):
            self.client.api.import_image_from_data(content, repository=spec.image, tag=tag)
        return image


class Helper:
    """File transfer into and out of a volume through a helper container's archive API."""

    def __init__(self, client: Any, container: str, mount: str) -> None:
        self._client = client
        self.id = container  # its name: valid for the engine from the moment it exists
        self.mount = mount
        self._responses: list[Any] = []

    def put(self, stream: Iterable[bytes]) -> None:
        """Unpack a tar stream at the volume root (the engine applies it entry by entry)."""
        with _api_errors("writing to the volume failed"):
            self._client.api.put_archive(self.id, self.mount, _chunked(stream))

    def read_file(self, path: str) -> bytes:
        """The content of one regular file in the volume."""
        from containai.transfer.tar import open_stream

        with open_stream(self.get(path)) as tar:
            for info in tar:
                handle = tar.extractfile(info)
                if handle is not None:
                    return handle.read()
        raise EngineError(f"{path} is not a regular file in the volume")

    def get(self, path: str = "") -> Iterator[bytes]:
        """The tar stream of ``path`` (relative to the volume root), names under its basename.

        The request is made through the SDK's session (rather than ``get_archive``) so that its
        response can be closed when the helper goes: an abandoned stream would otherwise keep
        the engine from removing the container.
        """
        import docker.errors
        import requests

        api = self._client.api
        full = f"{self.mount}/{path}".rstrip("/")
        url = f"{api.base_url}/v{api.api_version}/containers/{self.id}/archive"
        with _api_errors("reading the volume failed"):
            # identity: the SDK's own get_archive asks the same; the engine would otherwise
            # gzip the whole volume for a reader on the same machine.
            response = api.get(
                url,
                params={"path": full},
                headers={"Accept-Encoding": "identity"},
                stream=True,
                timeout=None,
            )
            self._responses.append(response)
            try:
                response.raise_for_status()
            except requests.exceptions.HTTPError as error:
                raise docker.errors.create_api_error_from_http_exception(error) from None
        return _guarded(response.iter_content(_CHUNK))

    def close(self) -> None:
        for response in self._responses:
            with contextlib.suppress(Exception):
                response.close()
        self._responses.clear()


def _guarded(stream: Iterator[bytes]) -> Iterator[bytes]:
    with _api_errors("reading the volume failed"):
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


def _mount_point_tar(spec: HelperSpec) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(spec.mount.strip("/"))
        info.type = tarfile.DIRTYPE
        info.mode = spec.mount_mode
        info.uid, info.gid = spec.mount_uid, spec.mount_gid
        tar.addfile(info)
    return buffer.getvalue()


@contextlib.contextmanager
def _api_errors(what: str) -> Iterator[None]:
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.APIError as error:
        raise EngineError(f"{what}: {_reason(error)}") from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise EngineError(
            f"{what}: lost the Docker engine at {endpoint()}: {_reason(error)}"
        ) from None


@contextlib.contextmanager
def _hijacked(connection: Any) -> Iterator[Any]:
    """An exec's raw connection, really closed afterwards: the SDK hands out a SocketIO over
    the request's socket, and closing only the SocketIO leaves the socket open."""
    try:
        yield connection
    finally:
        raw = getattr(connection, "_sock", None)
        if raw is not None:
            raw.close()  # really closes once its last SocketIO is closed, just below
        connection.close()


def _inspect(call: Any, what: str, name: str) -> dict[str, Any] | None:
    """An object's attributes, or None when the engine says it does not exist."""
    import docker.errors

    try:
        attrs: dict[str, Any] = call(name)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as error:
        raise EngineError(f"cannot inspect {what} {name}: {_reason(error)}") from None
    return attrs


def _reason(error: BaseException) -> str:
    explanation = getattr(error, "explanation", None)
    text = str(explanation or error) or type(error).__name__
    return " ".join(text.split())
