"""One lock per volume, so that imports, exports, restores and syncs never interleave.

A host-side ``flock`` on a file named after the volume: the kernel drops it when its holder
exits, however it exits, so a dead holder can never leave a stale lock. The file also says who
holds it (pid, command, since), for the message a waiting command prints.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from containai.errors import LockError
from containai.paths import lock_dir

_POLL = 0.1


@contextlib.contextmanager
def volume_lock(
    volume: str,
    *,
    command: str,
    timeout: float,
    on_wait: Callable[[str], None],
    directory: Path | None = None,
) -> Iterator[None]:
    folder = directory or lock_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{volume}.lock"
    handle = path.open("a+")
    try:
        _acquire(handle, path, timeout, on_wait)
        handle.seek(0)
        handle.truncate()
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        handle.write(json.dumps(holder))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the descriptor releases the lock


def _acquire(handle: object, path: Path, timeout: float, on_wait: Callable[[str], None]) -> None:
    fd = handle.fileno()  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            holder = describe_holder(path)
            if time.monotonic() >= deadline:
                raise LockError(
                    f"volume {path.stem} is busy: {holder} still holds it after {timeout:g}s "
                    "(raise lock.timeout to wait longer)"
                ) from None
            if not announced:
                on_wait(f"waiting for {holder} to finish with volume {path.stem}")
                announced = True
            time.sleep(_POLL)


def describe_holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text() or "{}")
        where = f"pid {holder['pid']} on {holder['host']}, since {holder['since']}"
        return f"'cai {holder['command']}' ({where})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another containai command"
