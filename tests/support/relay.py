"""``EngineRelay``: a unix socket between cai and the real engine, which a test can cut or
freeze: the engine vanishing, hanging or slow to answer mid-run, as cai sees it, without
touching the shared engine."""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class _Link:
    """One connection through the relay."""

    hold: threading.Event = field(default_factory=threading.Event)  # answers held back
    gone: threading.Event = field(default_factory=threading.Event)  # cai closed its end
    passed: int = 0  # bytes of the held answer already let through
    sent: int = 0  # bytes of requests forwarded
    tail: bytes = b""  # the end of what was forwarded, to find a marker across two reads
    cut_at: int | None = None  # forward up to here, then cut


class EngineRelay:
    """A unix socket relaying to the real engine, which the test can cut or freeze: the engine
    vanishing or hanging mid-run, as cai sees it, without touching the shared engine.

    ``hold_after(test, allow)``: on the connection whose request passes ``test``, the engine's
    answer is held back (not lost) after its first ``allow`` bytes, until ``release()``. The
    engine did the work (or is blocked streaming it); cai is still waiting for the rest. Other
    connections flow freely.

    ``cut_after(marker, extra)``: the engine goes away once it has received ``extra`` bytes of
    a request past ``marker`` (e.g. a tar header's name in an upload).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.folder = Path(tempfile.mkdtemp(prefix="cai-relay-"))
        self.path = self.folder / "engine.sock"
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(str(self.path))
        self.listener.listen(64)
        self.frozen = threading.Event()
        self.trigger: Callable[[bytes], bool] | None = None
        self.allow = 0
        self.cut_marker: bytes | None = None
        self.cut_extra = 0
        self.held = threading.Event()  # an answer is being held back now
        self.released = threading.Event()
        self.links: list[_Link] = []
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def passed(self) -> int:
        """Bytes let through of the answers being held back."""
        return max((link.passed for link in self.links), default=0)

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def hold_after(self, test: Callable[[bytes], bool], allow: int = 0) -> None:
        self.trigger, self.allow = test, allow

    def cut_after(self, marker: bytes, extra: int) -> None:
        self.cut_marker, self.cut_extra = marker, extra

    def release(self) -> None:
        self.trigger = None
        self.released.set()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            server.connect(self.upstream)
            with self.lock:
                self.sockets += [client, server]
            link = _Link()
            self.links.append(link)
            for source, sink, up in ((client, server, True), (server, client, False)):
                threading.Thread(
                    target=self._pump, args=(source, sink, up, link), daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket, up: bool, link: _Link) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if up and self.cut_marker is not None and self._cut_within(link, data, sink):
                    return
                if up:
                    if self.trigger is not None and self.trigger(data):
                        link.hold.set()
                elif link.hold.is_set() and not self.released.is_set():
                    if link.passed < self.allow:
                        link.passed += len(data)
                    else:
                        self.held.set()
                        while not (self.released.is_set() or link.gone.is_set()):
                            time.sleep(0.02)
                while self.frozen.is_set():
                    time.sleep(0.02)  # a hung engine: nothing moves, nothing closes
                sink.sendall(data)
        if up:  # cai closed its end: the engine's end closes too, as on a direct connection
            link.gone.set()
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_RDWR if up else socket.SHUT_WR)

    def _cut_within(self, link: _Link, data: bytes, sink: socket.socket) -> bool:
        """Forward ``data`` up to the cut point; True once the engine has been cut off."""
        marker = self.cut_marker
        assert marker is not None
        if link.cut_at is None:
            found = (link.tail + data).find(marker)
            if found >= 0:
                link.cut_at = link.sent - len(link.tail) + found + self.cut_extra
        link.tail = (link.tail + data)[-len(marker) :]
        if link.cut_at is None or link.sent + len(data) < link.cut_at:
            link.sent += len(data)
            return False
        sink.sendall(data[: link.cut_at - link.sent])
        self.cut()
        return True

    def cut(self) -> None:
        """The engine is gone: every connection drops, new ones are refused."""
        self.frozen.clear()
        self.release()
        with contextlib.suppress(OSError):
            self.listener.close()
        with self.lock:
            for each in self.sockets:
                with contextlib.suppress(OSError):
                    each.shutdown(socket.SHUT_RDWR)
                each.close()
        with contextlib.suppress(OSError):
            self.path.unlink()
            self.folder.rmdir()
