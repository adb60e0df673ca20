"""One lock per volume per engine, so that imports, exports, restores and syncs never interleave.

The lock lives in the engine, where every user and host that shares the volume meets: a
created, never-started container named after the volume. Names are unique per engine, so
creating it is atomic; whoever created it holds the lock, and its labels say who that is (host,
user, pid, command, since). It is removed on every exit path. A holder that died without
removing it (SIGKILL, a crashed host) is detected: on the same host by its pid, elsewhere by
its age (``lock.stale_after``), and the lock is broken with a warning.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from containai.errors import LockError

_POLL = 0.2


class LockEngine(Protocol):
    """What the lock needs of the engine (engine.locks.LocksMixin)."""

    def create_lock(self, volume: str, holder: str) -> str | None: ...
    def lock_of(self, volume: str) -> tuple[str, str, float] | None: ...
    def remove_lock(self, lock_id: str) -> None: ...


@dataclass(frozen=True)
class Holder:
    host: str
    user: str
    pid: int
    started: str  # the process's start, to tell it from a later process of the same pid
    command: str
    since: str

    @classmethod
    def me(cls, command: str) -> Holder:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        pid = os.getpid()
        return cls(_host(), _user(), pid, _process_start(pid), command, now)

    @classmethod
    def parse(cls, text: str) -> Holder | None:
        try:
            data: dict[str, Any] = json.loads(text)
            return cls(**{key: data[key] for key in cls.__dataclass_fields__})
        except (ValueError, TypeError, KeyError):
            return None

    def dump(self) -> str:
        return json.dumps(self.__dict__, sort_keys=True)

    def describe(self) -> str:
        where = f"pid {self.pid} of {self.user} on {self.host}"
        return f"'cai {self.command}' ({where}, since {self.since})"

    def is_dead(self) -> bool:
        """Known dead: on this host, and its process is gone (or is another process now)."""
        return self.host == _host() and _process_start(self.pid) != self.started


@contextlib.contextmanager
def volume_lock(
    engine: LockEngine,
    volume: str,
    *,
    command: str,
    timeout: float,
    stale_after: float,
    on_wait: Callable[[str], None],
    on_break: Callable[[str], None],
) -> Iterator[None]:
    holder = Holder.me(command)
    deadline = time.monotonic() + timeout
    announced = False
    while True:
        lock_id = engine.create_lock(volume, holder.dump())
        if lock_id is not None:
            break
        found = engine.lock_of(volume)
        if found is None:
            continue  # released between our attempt and our look: try again at once
        other_id, text, created = found
        other = Holder.parse(text)
        age = time.time() - created
        if other is None or other.is_dead() or age > stale_after:
            who = other.describe() if other else "an unreadable lock"
            why = "its process is gone" if other and other.is_dead() else f"{age:.0f}s old"
            on_break(f"broke the lock of volume {volume} held by {who}: {why}")
            engine.remove_lock(other_id)  # by id: a fresh lock of the same name stays
            continue
        if time.monotonic() >= deadline:
            raise LockError(
                f"volume {volume} is busy: {other.describe()} still holds it after "
                f"{timeout:g}s (raise lock.timeout to wait longer)"
            )
        if not announced:
            on_wait(f"waiting for {other.describe()} to finish with volume {volume}")
            announced = True
        time.sleep(_POLL)
    try:
        yield
    finally:
        engine.remove_lock(lock_id)


def _host() -> str:
    try:
        with open("/etc/machine-id", encoding="ascii") as handle:
            machine = handle.read().strip()[:12]
    except OSError:
        machine = ""
    name = socket.gethostname()
    return f"{name} ({machine})" if machine else name


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _process_start(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" when there is no such process)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rpartition(")")[2].split()[19]
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return ""
    except PermissionError:
        pass
    return "alive"  # no /proc (macOS): the pid alone has to do
