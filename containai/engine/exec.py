"""Run a command in a running container, through the engine's exec API."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from containai.engine.errors import api_errors


class ExecMixin:
    client: Any

    def exec(
        self,
        container_id: str,
        command: list[str],
        *,
        user: str,
        environment: dict[str, str],
        workdir: str = "",
        out: BinaryIO | None = None,
        err: BinaryIO | None = None,
    ) -> int:
        """Run ``command`` and return its exit code.

        With ``out`` (and ``err``, default ``out``) its output is passed there as it comes;
        without, the session is interactive on this terminal (raw mode, resized to fit), as
        ``docker exec -it`` does.
        """
        from docker.utils.socket import STDERR, frames_iter

        from containai.engine.terminal import relay

        api = self.client.api
        interactive = out is None
        with api_errors("running a command in the container failed"):
            exec_id = api.exec_create(
                container_id,
                command,
                user=user,
                workdir=workdir or None,
                environment=environment,
                stdout=True,
                stderr=True,
                stdin=interactive,
                tty=interactive,
            )["Id"]
            with _hijacked(api.exec_start(exec_id, tty=interactive, socket=True)) as connection:
                if out is None:
                    relay(connection, lambda rows, cols: api.exec_resize(exec_id, rows, cols))
                else:
                    for stream, data in frames_iter(connection, tty=False):
                        target = (err or out) if stream == STDERR else out
                        target.write(data)
                        target.flush()
            code = api.exec_inspect(exec_id)["ExitCode"]
        return int(code if code is not None else 1)


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
