"""Containers and images: find, create, start, stop, remove, read logs; make sure an image is
there."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from containai import labels
from containai.engine.errors import api_errors, inspect_or_none, reason
from containai.engine.flavour import Flavour, ping
from containai.errors import EngineError


@dataclass(frozen=True)
class ContainerInfo:
    name: str
    id: str
    labels: dict[str, str]
    state: str
    exit_code: int = 0


class ContainersMixin:
    client: Any
    _flavour: Flavour | None = None

    @property
    def flavour(self) -> Flavour:
        """Docker or Podman (asked once, for an Engine made around an existing client)."""
        if self._flavour is None:
            self._flavour = ping(self.client.api)
        return self._flavour

    def container(self, name: str) -> ContainerInfo | None:
        attrs = inspect_or_none(self.client.api.inspect_container, "container", name)
        if attrs is None:
            return None
        return ContainerInfo(
            name=attrs["Name"].lstrip("/"),
            id=attrs["Id"],
            labels=dict(attrs["Config"].get("Labels") or {}),
            state=attrs["State"]["Status"],
            exit_code=int(attrs["State"].get("ExitCode") or 0),
        )

    def containers_labelled(self, wanted: dict[str, str]) -> list[ContainerInfo]:
        """Containers (running or not) carrying all of ``wanted``; helpers excluded."""
        return self._listed(all=True, filters={"label": [f"{k}={v}" for k, v in wanted.items()]})

    def containers_using(self, volume: str) -> list[ContainerInfo]:
        """Running containers that mount ``volume`` (helpers excluded)."""
        return self._listed(filters={"volume": volume, "status": "running"})

    def _listed(self, **query: Any) -> list[ContainerInfo]:
        with api_errors("cannot list containers"):
            found = self.client.api.containers(**query)
        infos = [self.container(item["Id"]) for item in found]
        return [i for i in infos if i is not None and i.labels.get(labels.ROLE) != labels.HELPER]

    def known_workspaces(self) -> set[str]:
        """Every workspace a containai volume or container of this engine belongs to."""
        wanted = {"label": [labels.WORKSPACE]}
        with api_errors("cannot list containai's volumes and containers"):
            volumes = self.client.api.volumes(filters=wanted).get("Volumes") or []
            containers = self.client.api.containers(all=True, filters=wanted)
        found = [(v.get("Labels") or {}) for v in volumes] + [
            (c.get("Labels") or {}) for c in containers
        ]
        return {item[labels.WORKSPACE] for item in found if item.get(labels.WORKSPACE)}

    def mount_sources(self, container_id: str) -> dict[str, str]:
        """Mount destination in the container -> its source on the host (or volume name)."""
        with api_errors("cannot inspect the container"):
            mounts = self.client.api.inspect_container(container_id).get("Mounts") or []
        return {str(m.get("Destination", "")): str(m.get("Source", "")) for m in mounts}

    def image_config(self, image: str) -> dict[str, Any]:
        """The image's configuration (Env, Cmd, Entrypoint, ...)."""
        with api_errors(f"cannot inspect image {image}"):
            config: dict[str, Any] = self.client.api.inspect_image(image).get("Config") or {}
        return config

    def create_container(self, name: str, image: str, *, init: bool = True, **options: Any) -> str:
        """Create a container; ``init``: the engine's own PID 1 reaps and forwards signals
        (Docker's docker-init, Podman's catatonit, which Debian's podman only recommends)."""
        import docker.errors

        host = self.client.api.create_host_config(
            binds=options.pop("binds"), init=init, network_mode=options.pop("network_mode")
        )
        with api_errors(f"cannot create container {name}"):
            try:
                created = self.client.api.create_container(
                    image=image, name=name, host_config=host, **options
                )
            except docker.errors.APIError as error:
                raise _without_init(error) if init and _no_init(error) else error from None
        return str(created["Id"])

    def start(self, container_id: str) -> None:
        import docker.errors

        with api_errors("cannot start the container"):
            try:
                self.client.api.start(container_id)
            except docker.errors.APIError as error:
                raise _without_init(error) if _no_init(error) else error from None

    def stop(self, container_id: str, timeout: int = 10) -> None:
        with api_errors("cannot stop the container"):
            self.client.api.stop(container_id, timeout=timeout)

    def remove(self, container_id: str) -> None:
        with api_errors("cannot remove the container"):
            self.client.api.remove_container(container_id, force=True, v=False)

    def logs(self, container_id: str) -> str:
        with api_errors("cannot read the container's logs"):
            data = self.client.api.logs(container_id, stdout=True, stderr=True)
        return bytes(data).decode(errors="replace")

    def ensure_image(self, image: str, hint: str = "") -> None:
        """The image must be local, or pullable; a clear error otherwise."""
        import docker.errors
        from docker.utils import parse_repository_tag

        try:
            self.client.api.inspect_image(image)
            return
        except docker.errors.ImageNotFound:
            pass
        advice = f"; {hint}" if hint else ""
        try:
            repository, tag = parse_repository_tag(image)
            # Podman answers a failed pull with 200 and the error in the body: read it all.
            for item in self.client.api.pull(
                repository, tag=tag or "latest", stream=True, decode=True
            ):
                failed = isinstance(item, dict) and (item.get("errorDetail") or item.get("error"))
                if failed:
                    said = failed.get("message") if isinstance(failed, dict) else failed
                    raise docker.errors.DockerException(str(said))
            self.client.api.inspect_image(image)
        except docker.errors.DockerException as error:
            raise EngineError(
                f"image {image} is not available locally and cannot be pulled "
                f"({reason(error)}){advice}"
            ) from None

    def containers_mounting(self, volume: str) -> list[ContainerInfo]:
        """Every container that mounts ``volume``, in any state (helpers and locks too)."""
        with api_errors("cannot list containers"):
            found = self.client.api.containers(all=True, filters={"volume": volume})
        infos = [self.container(item["Id"]) for item in found]
        return [info for info in infos if info is not None]


def _no_init(error: Exception) -> bool:
    # Podman: "container-init binary not found on the host"; Docker: "docker-init": executable
    # file not found.
    said = reason(error)
    return "init binary not found" in said or ("docker-init" in said and "not found" in said)


def _without_init(error: Exception) -> EngineError:
    return EngineError(
        f"the engine has no init process for the container ({reason(error)}); install it "
        "(Podman: the catatonit package) or set run.init = false"
    )
