"""``DOCKER_HOST=ssh://...`` through this machine's ``ssh`` (``engine.ssh_client = true``).

The SDK has two SSH transports. Its default, paramiko, reads only a little of ``~/.ssh/config``
(IdentityFile, ProxyCommand, User, Port) and only ``$HOME/.ssh/known_hosts``. Its other one
(``use_ssh_client``) runs ``ssh``, but passes its pipes off as a socket: ``select`` on that
"socket" (an unconnected TCP socket) always says readable, ``recv(n)`` blocks until ``n`` bytes
came, and closing it writes to a pipe ``ssh`` may already have closed. An exec's stream then
ends in ``BrokenPipeError`` (6 of 20 execs here: the exit code is lost) and an interactive
shell hangs.

Here each HTTP connection gets a real socket instead: one end of a socketpair whose other end is
the stdin and stdout of ``ssh HOST docker system dial-stdio`` (what the docker CLI runs), so
everything the SDK does over a unix socket (hijacked exec streams, select, half-close) works
unchanged. ``ssh`` runs in a session of its own (Ctrl-C reaches cai, which cleans up through
it) and in batch mode (no password prompt in the middle of a request).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import threading
import urllib.parse
from typing import Any

from docker.transport.unixconn import (
    UnixHTTPAdapter,
    UnixHTTPConnection,
    UnixHTTPConnectionPool,
)

# The base URL the SDK is given: it picks the unix-socket code paths, which fit a real socket.
BASE_URL = "unix:///containai-ssh-client"


def command(host: str) -> list[str]:
    """The ``ssh`` command line that reaches the engine of ``ssh://[user@]host[:port]``."""
    parsed = urllib.parse.urlparse(host)
    if parsed.scheme != "ssh" or not parsed.hostname:
        raise ValueError(f"not an ssh:// address: {host}")
    args = ["ssh", "-o", "BatchMode=yes"]
    if parsed.username:
        args += ["-l", urllib.parse.unquote(parsed.username)]
    if parsed.port:
        args += ["-p", str(parsed.port)]
    return [*args, "--", parsed.hostname, "docker system dial-stdio"]


class SshClientAdapter(UnixHTTPAdapter):  # type: ignore[misc]  # the SDK has no type hints
    """A requests adapter whose connections are ``ssh`` processes (one per connection)."""

    def __init__(self, host: str, timeout: int, **pool: Any) -> None:
        super().__init__(f"http+unix://{BASE_URL.removeprefix('unix://')}", timeout, **pool)
        self.command = command(host)
        self._processes: list[subprocess.Popen[bytes]] = []
        self._lock = threading.Lock()
        # ssh's own messages (host key, authentication), kept for the error that follows.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115  # closed in close()

    def get_connection(self, url: str, proxies: Any = None) -> Any:
        # One pool for every URL (the SDK's unix adapter keys its pools by the whole URL, which
        # costs nothing there): every ssh process reaches the same engine, and starting one
        # costs an SSH handshake.
        with self.pools.lock:
            pool = self.pools.get(BASE_URL)
            if pool is None:
                pool = _Pool(self, BASE_URL, self.socket_path, self.timeout, self.max_pool_size)
                self.pools[BASE_URL] = pool
        return pool

    def open(self, timeout: float | None) -> socket.socket:
        """A socket connected to a new ``ssh ... docker system dial-stdio``."""
        ours, theirs = socket.socketpair()
        try:
            process = subprocess.Popen(
                self.command,
                stdin=theirs.fileno(),
                stdout=theirs.fileno(),
                stderr=self._errors,
                start_new_session=True,
            )
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()  # ssh holds it now; ours sees EOF once ssh is gone
        with self._lock:
            self._processes = [p for p in self._processes if p.poll() is None]
            self._processes.append(process)
        ours.settimeout(timeout)
        return ours

    def messages(self) -> str:
        """What ssh said on stderr (the last few lines), for an error message."""
        with contextlib.suppress(Exception):
            self._errors.seek(0)
            lines = self._errors.read().decode(errors="replace").strip().splitlines()
            return " | ".join(lines[-3:])
        return ""

    def close(self) -> None:
        super().close()  # closes the sockets: each ssh sees EOF and ends its session
        with self._lock:
            processes, self._processes = self._processes, []
        for process in processes:
            try:
                process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._errors.close()


class _Connection(UnixHTTPConnection):  # type: ignore[misc]
    def __init__(self, adapter: SshClientAdapter, base_url: str, timeout: int) -> None:
        super().__init__(base_url, "", timeout)
        self._adapter = adapter

    def connect(self) -> None:
        self.sock = self._adapter.open(self.timeout)


class _Pool(UnixHTTPConnectionPool):  # type: ignore[misc]
    def __init__(
        self, adapter: SshClientAdapter, url: str, path: str, timeout: int, maxsize: int
    ) -> None:
        super().__init__(url, path, timeout, maxsize=maxsize)
        self._adapter = adapter

    def _new_conn(self) -> _Connection:
        return _Connection(self._adapter, self.base_url, self.timeout)


def share_one_pool(adapter: Any) -> None:
    """Make the SDK's paramiko adapter keep one pool of channels for every URL, as ours does:
    it keys its pools by the whole URL, and each new pool starts ``docker system dial-stdio``
    on the remote host again (~0.1 s each, several times per command)."""
    own = adapter.get_connection

    def get_connection(url: str, proxies: Any = None) -> Any:
        return own(BASE_URL, proxies)

    adapter.get_connection = get_connection


def install(api: Any, host: str, timeout: int) -> SshClientAdapter:
    """Make ``api`` (an SDK APIClient made for ``BASE_URL``) reach ``host`` through ``ssh``."""
    adapter = SshClientAdapter(host, timeout, max_pool_size=api._custom_adapter.max_pool_size)
    api.mount("http+docker://", adapter)
    api._custom_adapter = adapter  # what the SDK closes and reads its pool size from
    return adapter
