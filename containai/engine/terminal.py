"""Relay this terminal to an exec session's socket (what `docker exec -it` does)."""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import termios
import tty
from collections.abc import Callable, Iterator
from typing import Any


def relay(connection: Any, resize: Callable[[int, int], None]) -> None:
    sock = getattr(connection, "_sock", connection)  # the SDK wraps the socket in SocketIO
    stdin, stdout = sys.stdin.fileno(), sys.stdout.fileno()

    def fit(*_: object) -> None:
        size = shutil.get_terminal_size()
        with contextlib.suppress(Exception):
            resize(size.lines, size.columns)

    fit()
    previous = signal.signal(signal.SIGWINCH, fit)
    try:
        with _raw(stdin):
            while True:
                readable, _, _ = select.select([sock, stdin], [], [])
                if sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    os.write(stdout, data)
                if stdin in readable:
                    data = os.read(stdin, 65536)
                    if not data:
                        return
                    sock.sendall(data)
    finally:
        signal.signal(signal.SIGWINCH, previous)


@contextlib.contextmanager
def _raw(fd: int) -> Iterator[None]:
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)
