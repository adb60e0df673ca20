"""The Engine facade: a connected Docker SDK client with containai's operations, one mixin per
concern (as docker-py's APIClient is assembled): volumes, exec, locks and helpers (which are
containers). Where the engine is, and which engine it is (Docker or Podman), is settled here."""

from __future__ import annotations

import os
import uuid
from typing import Any, Protocol

from containai.engine.errors import endpoint, endpoint_settings, reason
from containai.engine.exec import ExecMixin
from containai.engine.flavour import Flavour, ping
from containai.engine.locks import LocksMixin
from containai.engine.volumes import VolumesMixin
from containai.errors import EngineError


class _Settings(Protocol):
    def get_int(self, key: str) -> int: ...
    def get_bool(self, key: str) -> bool: ...


class Engine(VolumesMixin, ExecMixin, LocksMixin):
    """A connected engine. Create with ``Engine.connect()``."""

    def __init__(self, client: Any, flavour: Flavour | None = None) -> None:
        self.client = client
        self._flavour = flavour
        # This command's id: every container it makes carries it (labels.RUN), and staging
        # names in the volume use it.
        self.run = uuid.uuid4().hex[:12]

    @classmethod
    def connect(cls, timeout: int = 120, *, ssh_client: bool = False) -> Engine:
        """The engine of ``DOCKER_HOST`` (else the current Docker context, else the local
        socket); ``ssh_client``: reach an ssh:// engine through this machine's ``ssh`` rather
        than the SDK's paramiko (engine.ssh_client)."""
        import docker  # imported here: the SDK costs start-up time that --help should not pay

        # What docker.from_env(version="auto") does, except that: a failed first request
        # closes its connection (the SDK's own negotiation leaves it open); a socket file that
        # is not there is said without trying it (the SDK would leak the socket it opened);
        # the version comes from /_ping's headers, on the client's own connection (/version
        # costs Podman ~0.3 s, and a second client a second SSH handshake).
        where = endpoint()
        if where.startswith("unix://") and not os.path.exists(where.removeprefix("unix://")):
            raise EngineError(f"cannot reach the Docker engine at {where}: no such socket")
        settings = endpoint_settings()
        through_ssh = ssh_client and where.startswith("ssh://")
        if through_ssh:
            settings["base_url"] = "unix:///containai-ssh-client"
        client = None
        adapter: Any = None
        try:
            client = docker.DockerClient(
                version=docker.constants.MINIMUM_DOCKER_API_VERSION, timeout=timeout, **settings
            )
            if where.startswith("ssh://"):
                from containai.engine import ssh

                if through_ssh:
                    adapter = ssh.install(client.api, where, timeout)
                else:
                    ssh.share_one_pool(client.api._custom_adapter)
            flavour = ping(client.api)
            # The SDK's own "auto" negotiation sets the same attribute.
            client.api._version = flavour.api_version or _version(client.api)
        except Exception as error:  # the SDK raises several unrelated types for "no engine"
            said = adapter.messages() if adapter is not None else ""
            if client is not None:
                client.close()
            detail = f"{reason(error)}{f' (ssh: {said})' if said else ''}"
            raise EngineError(f"cannot reach the Docker engine at {where}: {detail}") from None
        return cls(client, flavour)

    @classmethod
    def from_settings(cls, settings: _Settings) -> Engine:
        """``connect`` as the settings say: engine.timeout, engine.ssh_client."""
        return cls.connect(
            timeout=settings.get_int("engine.timeout"),
            ssh_client=settings.get_bool("engine.ssh_client"),
        )

    def close(self) -> None:
        """Release the engine connections (the SDK keeps a pool of them)."""
        self.client.close()


def _version(api: Any) -> str:
    # An engine whose /_ping names no version (older than Docker 17.x).
    return str(api.version(api_version=False)["ApiVersion"])
