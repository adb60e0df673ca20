"""The Engine facade: a connected Docker SDK client with containai's operations, one mixin per
concern (as docker-py's APIClient is assembled): volumes, exec, locks and helpers (which are
containers)."""

from __future__ import annotations

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

        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except Exception as error:  # the SDK raises several unrelated types for "no engine"
            raise EngineError(
                f"cannot reach the Docker engine at {endpoint()}: {reason(error)}"
            ) from None
        return cls(client)

    def close(self) -> None:
        """Release the engine connections (the SDK keeps a pool of them)."""
        self.client.close()
