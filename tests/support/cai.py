"""Running cai: in this process (the ``cai`` fixture) or as its own process (``Cai``), with one
``Result`` for both, and the checks every command's output shares."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

# Variables that would let settings, locks or state leak in from the real environment.
_PRIVATE_VARIABLES = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "GIT_CONFIG_GLOBAL")


@dataclass
class Result:
    """What one run of cai gave: its exit code, stdout and stderr."""

    code: int
    out: str
    err: str


def run_program(*args: str) -> int:
    """`cai ARGS...` in this process; its exit code."""
    from containai.cli import make_program

    try:
        make_program().run(["cai", *args], exit=True)
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    return 0


def one_line(err: str) -> str:
    """The one line cai printed on stderr, as every error must be: ``cai: ...``, no traceback."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert lines == [err.strip()], err
    assert lines[0].startswith("cai: "), lines[0]
    assert "internal error" not in lines[0], lines[0]
    return lines[0]


def no_result(result: Result, *args: str) -> None:
    """A failed command printed no result: nothing on stdout, or under ``--json`` only the
    error document, which says what stderr says."""
    if "--json" not in args:
        assert result.out == "", result.out
        return
    document = json.loads(result.out)
    assert document == {
        "version": 1,
        "error": {"message": one_line(result.err).removeprefix("cai: "), "exit_code": result.code},
    }, document


# -- cai as its own process --------------------------------------------------------------------


def cai_env(home: Path, **extra: str) -> dict[str, str]:
    """This process's environment without containai's settings, with ``home`` as HOME."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CONTAINAI_") and name not in _PRIVATE_VARIABLES
    }
    env["HOME"] = str(home)
    env.update(extra)
    return env


class Cai:
    """``python -m containai ARGS`` in the background, its output collected line by line.

    A test that fails before ``finish`` leaves it running: ``reap_unfinished`` (after every
    test) kills it and closes its pipes, so that no other test sees them closed by the GC."""

    unfinished: ClassVar[set[Cai]] = set()

    def __init__(
        self,
        home: Path,
        *args: str,
        env: dict[str, str] | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "containai", *args],
            cwd=Path.cwd(),
            env=env or cai_env(home),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",  # a name that is not UTF-8 is shown, not a crash of the reader
            preexec_fn=preexec_fn,  # only drops capabilities, single-threaded
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err))
        ]
        for reader in self._readers:
            reader.start()
        Cai.unfinished.add(self)

    @staticmethod
    def _read(stream: Any, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def running(self) -> bool:
        return self.process.poll() is None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait_for_stderr(self, text: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.err):
                if text in line:
                    return line
            if not self.running() and not self._readers[1].is_alive():
                break
            time.sleep(0.02)
        pytest.fail(f"no {text!r} on stderr; got {''.join(self.err)!r}")

    def wait_until(self, ready: Callable[[], bool], failure: str, timeout: float = 60) -> None:
        """Poll ``ready`` while cai runs; fail saying ``failure`` if it is not true within
        ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while self.running() and not ready():
            assert time.monotonic() < deadline, f"{failure} (waited {timeout}s)"
            time.sleep(0.002)

    def finish(self, timeout: float = 180) -> Result:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"cai did not finish within {timeout}s; stderr: {''.join(self.err)}")
        for reader in self._readers:
            reader.join(timeout=30)
        self._close()
        return Result(self.process.returncode, "".join(self.out), "".join(self.err))

    def _close(self) -> None:
        Cai.unfinished.discard(self)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


def reap_unfinished() -> None:
    """Kill every ``Cai`` a test did not finish, and close its pipes."""
    for run in list(Cai.unfinished):
        if run.running():
            run.process.kill()
        run.process.wait()
        for reader in run._readers:
            reader.join(timeout=10)
        run._close()


def run_cai(home: Path, *args: str, **env: str) -> Result:
    """`cai ARGS` as its own process with ``home`` as HOME and ``env`` added; its result."""
    return Cai(home, *args, env=cai_env(home, **env)).finish()
