"""The SSH agent relay: the host's agent, usable in one container, whoever the host user is.

A host's ``ssh-agent`` socket belongs to the host user and the agent refuses peers of another
uid, so a bind mount of it works only when the host user is the container's agent uid. The
relay is a small process of the host user (``python -m containai.container.ssh_relay``,
started detached by ``cai run`` and ``cai shell``): it listens on ``agent.sock`` in a directory
of its own, bind-mounted into the container, and forwards each connection to the host's
``$SSH_AUTH_SOCK``. It accepts only peers whose uid is the agent's or the host user's
(SO_PEERCRED), exits when its container stops or goes, and holds a lock in its directory so
that a container never gets two.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import socket
import struct
import sys
import threading
import time
from pathlib import Path

SOCKET = "agent.sock"
LOCK = "relay.lock"
_POLL = 0.5  # seconds between looks at the container


def serve(directory: Path, upstream: str, allowed: set[int], container: str) -> None:
    """Relay until the container is no longer running (the lock must be held already)."""
    # A socket's path may have 108 bytes at most: bound from inside its directory, any will do.
    os.chdir(directory)
    path = directory / SOCKET
    with contextlib.suppress(FileNotFoundError):
        path.unlink()  # a stale socket of a relay that died
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(SOCKET)
    _share(path, directory)
    listener.listen(16)
    listener.settimeout(_POLL)
    watcher = _Watcher(container)
    while watcher.alive():
        try:
            client, _ = listener.accept()
        except TimeoutError:
            continue
        threading.Thread(target=_relay, args=(client, upstream, allowed), daemon=True).start()
    listener.close()
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def _share(path: Path, directory: Path) -> None:
    """The socket, usable by the directory's owner: the agent's uid when the host user is root
    (then only it and root can enter), else everyone (the uid check in _relay decides)."""
    owner = directory.stat()
    if os.getuid() == 0:
        os.chown(path, owner.st_uid, owner.st_gid)
        os.chmod(path, 0o600)
    else:
        os.chmod(path, 0o666)


def _relay(client: socket.socket, upstream: str, allowed: set[int]) -> None:
    with client:
        credentials = client.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
        _pid, uid, _gid = struct.unpack("3i", credentials)
        if uid not in allowed:
            return  # another uid (a different user, or the container running as someone else)
        try:
            agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            agent.connect(upstream)
        except OSError:
            return  # the host's agent went away (a new login): the client sees EOF
        with agent:
            back = threading.Thread(target=_pump, args=(agent, client), daemon=True)
            back.start()
            _pump(client, agent)
            back.join()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


class _Watcher:
    """Whether the container still runs (an engine that cannot be reached counts as gone)."""

    def __init__(self, container: str) -> None:
        from containai.engine import Engine

        self.engine = Engine.connect(timeout=10)
        self.container = container

    def alive(self) -> bool:
        try:
            found = self.engine.container(self.container)
        except Exception:
            return False
        return found is not None and found.state == "running"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="containai-ssh-relay")
    parser.add_argument("directory", type=Path)
    parser.add_argument("container")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--allow", type=int, action="append", default=[])
    args = parser.parse_args(argv)
    with open(args.directory / LOCK, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # a relay serves this container already
        lock.truncate(0)
        lock.write(f"{os.getpid()}\n")
        lock.flush()
        # The container may still be starting: give it a moment to count as running.
        deadline = time.monotonic() + 30
        watcher = _Watcher(args.container)
        while not watcher.alive() and time.monotonic() < deadline:
            time.sleep(0.2)
        serve(args.directory, args.upstream, {*args.allow, os.getuid()}, args.container)
    return 0


def running(directory: Path) -> bool:
    """Whether a relay holds the directory's lock."""
    try:
        with open(directory / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False


if __name__ == "__main__":
    sys.exit(main())
