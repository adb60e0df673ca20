"""The Engine facade: a connected Docker SDK client with containai's operations, one mixin per
concern (as docker-py's APIClient is assembled): volumes, exec, locks and helpers (which are
containers)."""

from __future__ import annotations

import os
import uuid
from typing import Any

from containai.engine.errors import endpoint, reason
from containai.engine.exec import ExecMixin
from containai.engine.locks import LocksMixin
from containai.engine.volumes import VolumesMixin
from containai.errors import EngineError


class Engine(VolumesMixin, ExecMixin, LocksMixin):
    """A connected engine. Create with ``Engine.connect()``."""

    def __init__(self, client: Any) -> None:
        self.client = client
        # This command's id: every container it makes carries it (labels.RUN), and staging
        # names in the volume use it.
        self.run = uuid.uuid4().hex[:12]

    @classmethod
    def connect(cls, timeout: int = 120) -> Engine:
        import docker  # imported here: the SDK costs start-up time that --help should not pay

        # What docker.from_env(version="auto") does, except that a failed first request closes
        # its connection (the SDK's own negotiation leaves it open), and a socket file that is
        # not there is said without trying it (the SDK would leak the socket it opened).
        where = endpoint()
        if where.startswith("unix://") and not os.path.exists(where.removeprefix("unix://")):
            raise EngineError(f"cannot reach the Docker engine at {where}: no such socket")
        settings = docker.utils.kwargs_from_env()
        probe = None
        try:
            probe = docker.APIClient(
                version=docker.constants.MINIMUM_DOCKER_API_VERSION, timeout=timeout, **settings
            )
            version = probe.version(api_version=False)["ApiVersion"]
            client = docker.DockerClient(version=version, timeout=timeout, **settings)
        except Exception as error:  # the SDK raises several unrelated types for "no engine"
            raise EngineError(
                f"cannot reach the Docker engine at {endpoint()}: {reason(error)}"
            ) from None
        finally:
            if probe is not None:
                probe.close()
        return cls(client)

    def close(self) -> None:
        """Release the engine connections (the SDK keeps a pool of them)."""
        self.client.close()
