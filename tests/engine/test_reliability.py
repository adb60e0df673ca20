"""Reliability and security against a real engine (issue 7).

- Locking: parallel commands on one volume are serialised; a waiting command says so, gives up
  after ``lock.timeout`` naming the holder, and a killed holder leaves no stale lock.
- Crash consistency: ``cai import`` and a restore are SIGKILLed at many points of a large
  transfer; every file stays old or new, the state record is consistent (or the journal says
  why not), and a rerun converges to an uninterrupted run, also after two interruptions in a
  row. A killed export leaves nothing at its target. SIGINT stops cleanly with exit 130.
- Bad host sources; an unreachable, vanishing or hanging engine; a full volume.
- Secrets never reach any output; secret files are private; helper containers are locked down.

The crash tests watch the volume's directory on this host (a local engine) to kill ``cai`` by
the number of bytes it has staged, and read the volume there too (much faster than the engine's
archive API; one test checks that both views agree). An engine that vanishes, hangs or is slow
to answer is played by ``EngineRelay``, a unix socket between cai and the shared engine.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import hashlib
import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from containai.engine import Engine
from containai.host.manifest import parse_file
from containai.locking import volume_lock
from containai.resources import packaged_manifest
from containai.steps import REGISTRY
from tests.conftest import TEST_IMAGE, read_volume, write_files

pytestmark = pytest.mark.engine

AGENT = (1000, 1000)
META = ".containai"
TREE = ".claude/skills"
HELPER_LABEL = "containai.role=helper"
ONE_MIB = 1024 * 1024
# The large tree of the crash tests: two versions with the same names and different content.
SMALL_FILES = 300
SMALL_SIZE = 160 * 1024
BIG_FILES = 3
BIG_SIZE = 5 * ONE_MIB
# Variables that would let settings, locks or state leak in from the real environment.
_PRIVATE_VARIABLES = ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME", "GIT_CONFIG_GLOBAL")


# -- running cai as its own process ------------------------------------------------------------


def cai_env(home: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CONTAINAI_") and name not in _PRIVATE_VARIABLES
    }
    env["HOME"] = str(home)
    env.update(extra)
    return env


@dataclass
class Outcome:
    code: int
    out: str
    err: str


class Cai:
    """``python -m containai ARGS`` in the background, its output collected line by line."""

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
            text=True,
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

    def finish(self, timeout: float = 180) -> Outcome:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"cai did not finish within {timeout}s; stderr: {''.join(self.err)}")
        for reader in self._readers:
            reader.join(timeout=30)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return Outcome(self.process.returncode, "".join(self.out), "".join(self.err))


def run_cai(home: Path, *args: str, **env: str) -> Outcome:
    return Cai(home, *args, env=cai_env(home, **env)).finish()


def helpers_of(client: Any, volume: str) -> list[str]:
    """Names of the helper containers of ``volume`` (listed, not inspected one by one: another
    process may remove one between the two calls)."""
    labels = [HELPER_LABEL, f"containai.data-volume={volume}"]
    found = client.api.containers(all=True, filters={"label": labels})
    return [name.lstrip("/") for item in found for name in item["Names"]]


def volume_names(client: Any) -> set[str]:
    return {volume.name for volume in client.volumes.list()}


# -- the two versions of a large tree ----------------------------------------------------------


@dataclass(frozen=True)
class Tree:
    root: Path
    sizes: dict[str, int]  # path under the tree -> size
    digests: dict[str, str]

    @property
    def total(self) -> int:
        return sum(self.sizes.values())


def make_tree(root: Path, extra: int, mtime: int) -> Tree:
    sizes: dict[str, int] = {}
    digests: dict[str, str] = {}
    names = [(f"s{i // 30:02d}/f{i:03d}.md", SMALL_SIZE + extra) for i in range(SMALL_FILES)]
    names += [(f"big{i}.bin", BIG_SIZE + extra) for i in range(BIG_FILES)]
    for name, size in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = os.urandom(size)
        path.write_bytes(data)
        os.utime(path, (mtime, mtime))
        sizes[name] = size
        digests[name] = hashlib.sha256(data).hexdigest()
    return Tree(root, sizes, digests)


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Tree]:
    """Version A and version B of a ~60 MB skills tree (300 x 160 KiB + 3 x 5 MiB)."""
    base = tmp_path_factory.mktemp("trees")
    return {
        "A": make_tree(base / "A", 0, 1_700_000_000),
        "B": make_tree(base / "B", 1000, 1_700_100_000),
    }


class HostTree:
    """~/.claude/skills as a real directory, switched between the versions by renaming."""

    def __init__(self, home: Path, trees: dict[str, Tree], store: Path) -> None:
        self.home = home
        self.trees = trees
        self.store = store
        self.current: str | None = None
        for name, tree in trees.items():
            for relative in tree.sizes:
                target = store / name / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(tree.root / relative, target)  # same bytes, mode and mtime
        (home / ".claude").mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path:
        return self.home / TREE

    def use(self, name: str) -> Tree:
        if self.current == name:
            return self.trees[name]
        if self.current is not None:
            self.path.rename(self.store / self.current)
        (self.store / name).rename(self.path)
        self.current = name
        return self.trees[name]


@pytest.fixture
def host_tree(trees: dict[str, Tree], isolated_env: Path, tmp_path: Path) -> HostTree:
    return HostTree(isolated_env, trees, tmp_path / "versions")


# -- reading a volume on this host -------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    kind: str  # file, dir, symlink, other
    mode: int
    uid: int
    gid: int
    mtime: int
    size: int = 0
    sha256: str = ""
    linkname: str = ""

    def same_file(self, other: Seen) -> bool:
        return (self.sha256, self.size, self.mode, self.uid, self.gid) == (
            other.sha256,
            other.size,
            other.mode,
            other.uid,
            other.gid,
        )


def mountpoint(client: Any, volume: str, timeout: float = 60) -> Path:
    """The volume's directory on this host (waiting for the volume to be created)."""
    import docker.errors

    deadline = time.monotonic() + timeout
    while True:
        try:
            path = Path(client.volumes.get(volume).attrs["Mountpoint"])
            break
        except docker.errors.NotFound:
            if time.monotonic() > deadline:
                pytest.fail(f"volume {volume} was not created within {timeout}s")
            time.sleep(0.01)
    if not path.is_dir():
        pytest.skip(f"the engine's volume directory {path} is not on this host (remote engine)")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(ONE_MIB):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot(root: Path) -> dict[str, Seen]:
    """Everything under a volume's directory; files are hashed, never kept."""
    seen: dict[str, Seen] = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            full = Path(directory, name)
            relative = full.relative_to(root).as_posix()
            try:
                info = full.lstat()
                common = (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid, int(info.st_mtime))
                if stat.S_ISREG(info.st_mode):
                    seen[relative] = Seen("file", *common, info.st_size, sha256_of(full))
                elif stat.S_ISDIR(info.st_mode):
                    seen[relative] = Seen("dir", *common)
                elif stat.S_ISLNK(info.st_mode):
                    seen[relative] = Seen("symlink", *common, linkname=os.readlink(full))
                else:
                    seen[relative] = Seen("other", *common)
            except FileNotFoundError:
                continue  # replaced while we looked: the next look sees the new one
    return seen


def internal(path: str) -> bool:
    return path == META or path.startswith(f"{META}/")


def comparable(
    seen: dict[str, Seen], keep_mtime: Callable[[str], bool] = lambda p: p.startswith(f"{TREE}/")
) -> dict[str, tuple[Any, ...]]:
    """What must match between two volumes: everything outside .containai/ except the mtimes
    that record when something was written (directories, and generated files such as
    placeholders when ``keep_mtime`` says so)."""
    return {
        path: (
            node.kind,
            node.mode,
            node.uid,
            node.gid,
            node.size,
            node.sha256,
            node.linkname,
            node.mtime if node.kind == "file" and keep_mtime(path) else None,
        )
        for path, node in seen.items()
        if not internal(path)
    }


def restored_mtimes(path: str) -> bool:
    return True  # a restore gives every file the archive's mtime


def read_records(path: Path) -> dict[str, dict[str, Any]] | None:
    try:
        files: dict[str, dict[str, Any]] = json.loads(path.read_bytes())["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return files


def check_interrupted(
    root: Path, old: dict[str, Seen], new: dict[str, Seen], when: str, *, state_required: bool
) -> dict[str, Seen]:
    """After an interrupted run: every file old or new, nothing lost, the state consistent or
    explained by the interrupted run's journal."""
    seen = snapshot(root)
    problems: list[str] = []
    for path, node in seen.items():
        if internal(path) or node.kind != "file":
            continue
        versions = [v for v in (old.get(path), new.get(path)) if v is not None]
        if not any(node.same_file(version) for version in versions):
            problems.append(f"{path} is neither old nor new ({node.size} bytes, {node.mode:o})")
    for path, node in old.items():
        if not internal(path) and node.kind == "file" and seen.get(path) is None:
            problems.append(f"{path} was lost")

    state = root / META / "state.json"
    if state.exists():
        records = read_records(state)
        if records is None:
            problems.append(f"{META}/state.json does not parse")
            records = {}
        journal = read_records(root / META / "staging" / "journal.json") or {}
        for path, record in records.items():
            node = seen.get(path)
            digests = {record["sha256"], journal.get(path, {}).get("sha256")}
            if node is None or node.sha256 not in digests:
                problems.append(f"the state record of {path} matches neither it nor the journal")
    elif state_required:
        problems.append(f"{META}/state.json is gone")
    assert not problems, f"after {when}: " + "; ".join(problems[:8])
    return seen


# -- killing cai at a chosen point -------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """When to stop a run: after a delay, or once a fraction of the bytes is staged."""

    label: str
    delay: float | None = None
    staged: float | None = None  # 0.0: as soon as staging starts; 1.0: everything staged
    journal: bool = False  # once the journal is written (the link phase)


@dataclass
class Progress:
    started: bool = False
    staged: int = 0
    journal: bool = False


def is_staged(name: str) -> bool:
    """A staged file's name: the run's id and its number (``0123456789ab-42``)."""
    return re.fullmatch(r"[0-9a-f]+-[0-9]+", name) is not None


def staging_progress(root: Path | None) -> Progress:
    if root is None:
        return Progress()
    staging = root / META / "staging"
    progress = Progress()
    try:
        with os.scandir(staging) as entries:
            progress.started = True
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    if is_staged(entry.name):
                        progress.staged += entry.stat(follow_symlinks=False).st_size
                    elif entry.name == "journal.json":
                        progress.journal = True
    except (FileNotFoundError, NotADirectoryError):
        pass
    return progress


def reached(point: Point, progress: Progress, total: int, elapsed: float) -> bool:
    if point.delay is not None:
        return elapsed >= point.delay
    if point.journal:
        return progress.journal
    assert point.staged is not None
    if not progress.started:
        return False
    return progress.journal or (progress.staged >= point.staged * total and progress.staged > 0)


def interrupt_at(
    run: Cai,
    point: Point,
    *,
    client: Any,
    volume: str,
    total: int,
    how: signal.Signals = signal.SIGKILL,
) -> bool:
    """Send ``how`` to ``run`` at ``point``; False if the run finished first."""
    root: Path | None = None
    while run.running():
        if root is None and point.delay is None:
            with contextlib.suppress(Exception):
                root = Path(client.volumes.get(volume).attrs["Mountpoint"])
        if reached(point, staging_progress(root), total, run.elapsed()):
            break
        if run.elapsed() > 120:
            pytest.fail(f"{point.label} was never reached")
        time.sleep(0.002)
    if not run.running():
        return False
    run.process.send_signal(how)
    return True


def rerun_converges(
    home: Path, root: Path, reference: dict[str, Seen], *args: str, when: str, **keep: Any
) -> None:
    """A rerun right after an interruption: no lock to wait for, no false conflicts, and the
    volume ends as an uninterrupted run left its reference volume."""
    result = run_cai(home, *args, "--json", CONTAINAI_LOCK__TIMEOUT="0")
    assert result.code == 0, f"rerun after {when}: {result.err}"
    assert "waiting for" not in result.err
    document = json.loads(result.out)
    conflicts = [item["path"] for item in document["items"] if item["action"] == "conflict"]
    assert conflicts == [], f"rerun after {when} saw its own files as changed: {conflicts[:5]}"
    assert document["result"]["backups"] == []
    assert document["result"]["failed"] == {}
    seen = snapshot(root)
    assert comparable(seen, **keep) == comparable(reference, **keep), f"rerun after {when}"
    assert not (root / META / "staging").is_dir(), f"staging left after the rerun ({when})"
    check_interrupted(root, reference, reference, f"the rerun after {when}", state_required=True)


# -- locking -----------------------------------------------------------------------------------


def small_tree(version: str) -> dict[str, str | bytes]:
    """A few hundred small files whose content starts with the version (versions of different
    lengths give different sizes: see the same-second test below for why that matters)."""
    return {
        f"{TREE}/s{i // 50}/f{i:03d}.md": f"{version} file {i}\n" + "x" * (i * 37 % 1500)
        for i in range(300)
    } | {".claude/CLAUDE.md": f"{version} notes\n", ".vimrc": "set nu\n"}


def archive_versions(path: Path) -> set[bytes]:
    """The version prefixes of the tree files an archive holds."""
    found: set[bytes] = set()
    with tarfile.open(path) as archive:
        for member in archive:
            if member.isfile() and member.name.startswith(f"{TREE}/"):
                handle = archive.extractfile(member)
                assert handle is not None
                found.add(handle.read(2))
    return found


def engine_view(client: Any, volume: str) -> dict[str, tuple[Any, ...]]:
    """The volume through the engine's archive API, comparable across volumes (as ``view``)."""
    return {
        path: (
            node.kind,
            node.mode,
            node.uid,
            node.gid,
            hashlib.sha256(node.data).hexdigest() if node.kind == "file" else "",
            node.linkname,
            node.mtime if node.kind == "file" and path.startswith(f"{TREE}/") else None,
        )
        for path, node in read_volume(client, volume).items()
        if not internal(path)
    }


def view(seen: dict[str, Seen]) -> dict[str, tuple[Any, ...]]:
    """A host snapshot in the shape of ``engine_view``."""
    return {
        path: (
            node.kind,
            node.mode,
            node.uid,
            node.gid,
            node.sha256,
            node.linkname,
            node.mtime if node.kind == "file" and path.startswith(f"{TREE}/") else None,
        )
        for path, node in seen.items()
        if not internal(path)
    }


@pytest.mark.slow
def test_parallel_imports_and_exports_on_one_volume_are_serialised(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    volume = new_volume("parallel")
    reference = new_volume("parallel-ref")
    write_files(isolated_env, small_tree("v1"))
    assert cai("import", "--data-volume", volume).code == 0  # exports need the volume
    write_files(isolated_env, small_tree("v2-new"))
    archives = [tmp_path / f"export-{n}.tgz" for n in range(2)]
    commands = [
        ("import", "--data-volume", volume),
        ("export", "--data-volume", volume, "-o", str(archives[0])),
        ("import", "--data-volume", volume),
        ("import", "--data-volume", volume),
        ("export", "--data-volume", volume, "-o", str(archives[1])),
        ("import", "--data-volume", volume),
    ]

    runs = [Cai(isolated_env, *command) for command in commands]
    results = [run.finish() for run in runs]

    for command, result in zip(commands, results, strict=True):
        assert result.code == 0, f"{' '.join(command)}: {result.err}"
    assert any("waiting for" in result.err for result in results), [r.err for r in results]
    for archive in archives:
        verified = cai("export", "--verify", str(archive))
        assert verified.code == 0, verified.out + verified.err
        # An export runs wholly before or wholly after an import: never a mix of versions.
        assert archive_versions(archive) in ({b"v1"}, {b"v2"}), archive
    assert cai("import", "--data-volume", reference).code == 0
    assert engine_view(docker_client, volume) == engine_view(docker_client, reference)


@contextlib.contextmanager
def engine_lock(client: Any, volume: str, command: str) -> Iterator[None]:
    """The volume's lock, held by this test process as a command would hold it."""
    with volume_lock(
        Engine(client),
        volume,
        command=command,
        timeout=0,
        stale_after=3600,
        on_wait=print,
        on_break=print,
    ):
        yield


def test_a_second_command_waits_for_the_holder_and_then_proceeds(
    isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    volume = new_volume("wait")
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})

    with engine_lock(docker_client, volume, "export"):
        waiting = Cai(isolated_env, "import", "--data-volume", volume)
        line = waiting.wait_for_stderr("waiting for")
        time.sleep(0.5)
        assert waiting.running(), "the second command did not wait for the lock"
        assert volume not in volume_names(docker_client)  # it waits before touching anything
    result = waiting.finish()

    assert f"'cai export' (pid {os.getpid()} of " in line and socket.gethostname() in line
    assert volume in line
    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/CLAUDE.md"].data == b"notes\n"


@pytest.mark.parametrize(
    "command",
    [("import",), ("import", "--dry-run"), ("export", "-o", "out.tgz"), ("export", "--json")],
    ids=["import", "import-dry-run", "export", "export-json"],
)
def test_a_command_gives_up_after_the_lock_timeout_naming_the_holder(
    command: tuple[str, ...],
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", "1")
    volume = new_volume("timeout")
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})

    with engine_lock(docker_client, volume, "restore"):
        started = time.monotonic()
        result = cai(*command, "--data-volume", volume)
        waited = time.monotonic() - started

    assert result.code == 1, result.err
    last = result.err.strip().splitlines()[-1]
    assert last.startswith(f"cai: volume {volume} is busy: 'cai restore' (pid {os.getpid()} of ")
    assert socket.gethostname() in last
    assert "after 1s" in last
    assert "Traceback" not in result.err
    assert 1 <= waited < 15
    assert volume not in volume_names(docker_client)
    assert not (Path.cwd() / "out.tgz").exists()


HOLDER = """
import sys, time
from containai.engine import Engine
from containai.engine import Engine
from containai.locking import volume_lock
with volume_lock(Engine.connect(), sys.argv[1], command="import", timeout=0, stale_after=3600,
                 on_wait=print, on_break=print):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_killed_holder_leaves_no_stale_lock(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", "0")  # no waiting at all
    volume = new_volume("stale")
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, volume],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        blocked = cai("import", "--data-volume", volume)
        assert blocked.code == 1
        assert f"'cai import' (pid {holder.pid} of " in blocked.err
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()

    started = time.monotonic()
    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert "waiting for" not in result.err
    assert f"broke the lock of volume {volume}" in result.err and "process is gone" in result.err
    assert time.monotonic() - started < 30
    assert read_volume(docker_client, volume)[".claude/CLAUDE.md"].data == b"notes\n"


# -- crash consistency -------------------------------------------------------------------------

IMPORT_POINTS = [
    Point("0.05s (starting up)", delay=0.05),
    Point("0.5s (before the transfer)", delay=0.5),
    Point("the first staged bytes", staged=0.0),
    Point("10% staged", staged=0.1),
    Point("25% staged", staged=0.25),
    Point("40% staged", staged=0.4),
    Point("55% staged", staged=0.55),
    Point("70% staged", staged=0.7),
    Point("85% staged", staged=0.85),
    Point("everything staged", staged=1.0),
    Point("the journal (linking)", journal=True),
]


@pytest.mark.slow
def test_import_killed_at_many_points_leaves_old_or_new_files_and_a_rerun_converges(
    host_tree: HostTree, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    home = isolated_env
    references: dict[str, dict[str, Seen]] = {}
    for name in ("A", "B"):
        reference = new_volume(f"crash-ref{name.lower()}")
        host_tree.use(name)
        assert run_cai(home, "import", "--data-volume", reference).code == 0
        references[name] = snapshot(mountpoint(docker_client, reference))
    # The host's view of a volume is the engine's.
    assert view(references["B"]) == engine_view(docker_client, reference)

    volume = new_volume("crash")
    args = ("import", "--data-volume", volume)
    # A kill before the first run ever finished: files are absent or new, no state yet.
    tree = host_tree.use("A")
    run = Cai(home, *args)
    assert interrupt_at(
        run, Point("half staged", staged=0.5), client=docker_client, volume=volume, total=tree.total
    )
    assert run.finish().code == -signal.SIGKILL
    root = mountpoint(docker_client, volume)
    check_interrupted(root, {}, references["A"], "a kill of the first import", state_required=False)
    rerun_converges(home, root, references["A"], *args, when="a kill of the first import")

    landed: list[str] = []  # where each kill landed, for the message below
    for number, point in enumerate(IMPORT_POINTS):
        name = "B" if number % 2 == 0 else "A"
        old = snapshot(root)
        tree = host_tree.use(name)
        run = Cai(home, *args)
        was_killed = interrupt_at(run, point, client=docker_client, volume=volume, total=tree.total)
        at = staging_progress(root)
        result = run.finish()
        when = f"a kill at {point.label} (importing {name})"
        if was_killed:
            assert result.code == -signal.SIGKILL, result.err
            staged = f"{at.staged * 100 // tree.total}% staged" if at.started else "not staging"
            landed.append(f"{point.label}: {staged}{', linking' if at.journal else ''}")
        else:
            assert result.code == 0, result.err
            landed.append(f"{point.label}: finished first")
        check_interrupted(root, old, references[name], when, state_required=True)
        rerun_converges(home, root, references[name], *args, when=when)

    killed = [where for where in landed if not where.endswith("finished first")]
    assert len(killed) >= 10, landed
    mid_transfer = [where for where in killed if "% staged" in where]
    assert len(mid_transfer) >= 8, landed


def export_archive(home: Path, volume: str, target: Path) -> Path:
    result = run_cai(
        home,
        "export",
        "--data-volume",
        volume,
        "-o",
        str(target),
        CONTAINAI_EXPORT__COMPRESSION_LEVEL="1",
    )
    assert result.code == 0, result.err
    return target


RESTORE_POINTS = [
    Point("0.6s (checking the archive)", delay=0.6),
    Point("the first staged bytes", staged=0.0),
    Point("30% staged", staged=0.3),
    Point("60% staged", staged=0.6),
    Point("90% staged", staged=0.9),
]


@pytest.mark.slow
def test_restore_killed_mid_way_leaves_old_or_new_files_and_a_rerun_converges(
    host_tree: HostTree, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    home = isolated_env
    source = new_volume("restore-src")
    archives: dict[str, Path] = {}
    totals: dict[str, int] = {}
    for name in ("A", "B"):
        totals[name] = host_tree.use(name).total
        assert run_cai(home, "import", "--data-volume", source).code == 0
        archives[name] = export_archive(home, source, tmp_path / f"{name}.tgz")
    references: dict[str, dict[str, Seen]] = {}
    for name in ("A", "B"):
        volume = new_volume(f"restore-ref{name.lower()}")
        restored = run_cai(home, "import", "--data-volume", volume, "--from", str(archives[name]))
        assert restored.code == 0, restored.err
        references[name] = snapshot(mountpoint(docker_client, volume))

    volume = new_volume("restore")
    run = Cai(home, "import", "--data-volume", volume, "--from", str(archives["A"]))
    assert interrupt_at(
        run,
        Point("half staged", staged=0.5),
        client=docker_client,
        volume=volume,
        total=totals["A"],
    )
    assert run.finish().code == -signal.SIGKILL
    root = mountpoint(docker_client, volume)
    when = "a kill of a restore into a new volume"
    check_interrupted(root, {}, references["A"], when, state_required=False)
    rerun_converges(
        home,
        root,
        references["A"],
        "import",
        "--data-volume",
        volume,
        "--from",
        str(archives["A"]),
        when=when,
        keep_mtime=restored_mtimes,
    )

    killed = 0
    for number, point in enumerate(RESTORE_POINTS):
        name = "B" if number % 2 == 0 else "A"
        args = ("import", "--data-volume", volume, "--from", str(archives[name]))
        old = snapshot(root)
        run = Cai(home, *args)
        was_killed = interrupt_at(
            run, point, client=docker_client, volume=volume, total=totals[name]
        )
        result = run.finish()
        assert result.code == (-signal.SIGKILL if was_killed else 0), result.err
        killed += was_killed
        when = f"a kill of a restore at {point.label} (restoring {name})"
        check_interrupted(root, old, references[name], when, state_required=True)
        rerun_converges(home, root, references[name], *args, when=when, keep_mtime=restored_mtimes)
    assert killed == len(RESTORE_POINTS)


@pytest.mark.slow
def test_an_export_killed_mid_way_leaves_nothing_at_its_target(
    host_tree: HostTree, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    home = isolated_env
    volume = new_volume("export-kill")
    host_tree.use("A")
    assert run_cai(home, "import", "--data-volume", volume).code == 0
    out = tmp_path / "out"
    out.mkdir()
    target = out / "backup.tgz"

    def partial_size() -> int:
        sizes = [p.stat().st_size for p in out.glob(".backup.tgz.*") if p.is_file()]
        return max(sizes, default=-1)

    for label, ready in [
        ("0.3s", lambda run: run.elapsed() >= 0.3),
        ("the temporary file appears", lambda run: partial_size() >= 0),
        ("10 MB written", lambda run: partial_size() >= 10 * ONE_MIB),
        ("30 MB written", lambda run: partial_size() >= 30 * ONE_MIB),
    ]:
        run = Cai(home, "export", "--data-volume", volume, "-o", str(target))
        while run.running() and not ready(run):
            time.sleep(0.002)
        assert run.running(), f"the export finished before {label}"
        run.process.kill()
        assert run.finish().code == -signal.SIGKILL
        assert not target.exists(), f"a kill at {label} left {target}"

    # An existing archive at the target stays as it was when a new export is killed.
    target.write_bytes(b"the previous archive")
    run = Cai(home, "export", "--data-volume", volume, "-o", str(target))
    while run.running() and partial_size() < 10 * ONE_MIB:
        time.sleep(0.002)
    assert run.running(), "the export finished before 10 MB were written"
    run.process.kill()
    assert run.finish().code == -signal.SIGKILL
    assert target.read_bytes() == b"the previous archive"

    result = run_cai(home, "export", "--data-volume", volume, "-o", str(target))
    assert result.code == 0, result.err
    assert run_cai(home, "export", "--verify", str(target)).code == 0


@pytest.mark.slow
def test_sigint_mid_transfer_stops_cleanly_with_exit_130_and_releases_everything(
    host_tree: HostTree, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    """(Ctrl-C while the volume is being read, and while the helper is being created: with the
    engine relay, below.)"""
    home = isolated_env
    volume = new_volume("sigint")
    old = host_tree.use("A")
    assert run_cai(home, "import", "--data-volume", volume).code == 0
    tree = host_tree.use("B")
    run = Cai(home, "import", "--data-volume", volume)
    point = Point("30% staged", staged=0.3)
    assert interrupt_at(
        run, point, client=docker_client, volume=volume, total=tree.total, how=signal.SIGINT
    )

    result = run.finish(timeout=60)

    assert result.code == 130, result.err
    assert result.err.strip().splitlines()[-1] == "cai: interrupted"
    assert "Traceback" not in result.err
    assert helpers_of(docker_client, volume) == []
    root = mountpoint(docker_client, volume)
    for path, node in snapshot(root).items():
        if path.startswith(f"{TREE}/") and node.kind == "file":
            relative = path.removeprefix(f"{TREE}/")
            assert node.sha256 in (old.digests[relative], tree.digests[relative]), path
    again = run_cai(home, "import", "--data-volume", volume, CONTAINAI_LOCK__TIMEOUT="0")
    assert again.code == 0, again.err
    assert "waiting for" not in again.err
    files = snapshot(root)
    for relative, digest in tree.digests.items():
        assert files[f"{TREE}/{relative}"].sha256 == digest, relative


# -- bad host sources --------------------------------------------------------------------------

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def without_file_capabilities() -> None:
    """In the child: root without the capabilities that let it read any file, so that a
    mode-000 file is as unreadable as it is for any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def make_socket(path: Path) -> socket.socket:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    here = Path.cwd()
    os.chdir(path.parent)  # a relative name: the full path may exceed the 108-byte limit
    try:
        server.bind(path.name)
    finally:
        os.chdir(here)
    return server


def test_bad_host_sources_are_reported_per_path_and_the_rest_is_imported(
    isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    home = isolated_env
    write_files(
        home,
        {
            f"{TREE}/ok.md": "fine\n",
            f"{TREE}/nested/ok2.md": "fine too\n",
            f"{TREE}/locked.md": "cannot be read\n",
            f"{TREE}/private/inside.md": "behind a locked directory\n",
            ".claude/agents/reviewer.md": "agent\n",
            ".bash_aliases": "alias ll='ls -l'\n",
            ".inputrc": "set editing-mode vi\n",
            ".claude/commands": "a file where a directory belongs\n",
        },
    )
    os.mkfifo(home / ".claude/CLAUDE.md")  # a FIFO where a file is expected
    (home / ".zshrc").mkdir()  # a directory where a file is expected
    (home / ".vimrc").symlink_to(home / ".vimrc2")  # a symlink loop
    (home / ".vimrc2").symlink_to(home / ".vimrc")
    os.mkfifo(home / TREE / "pipe")  # a FIFO and a socket inside a directory entry
    server = make_socket(home / TREE / "agent.sock")
    (home / TREE / "locked.md").chmod(0)  # unreadable
    (home / TREE / "private").chmod(0)
    (home / ".bash_aliases").chmod(0)
    volume = new_volume("badsrc")
    capabilities = without_file_capabilities if os.geteuid() == 0 else None

    try:
        result = Cai(home, "import", "--data-volume", volume, preexec_fn=capabilities).finish()
    finally:
        server.close()
        for path in (home / TREE / "private", home / TREE / "locked.md", home / ".bash_aliases"):
            path.chmod(0o700)

    assert result.code == 1, result.out + result.err
    assert "Traceback" not in result.err
    expected = {
        "~/.claude/CLAUDE.md": "expected a file, found not a regular file",
        "~/.zshrc": "expected a file, found a directory",
        "~/.vimrc": "too many levels of symbolic links",
        "~/.claude/commands": "expected a directory",
        f"~/{TREE}/pipe": "not a regular file",
        f"~/{TREE}/agent.sock": "not a regular file",
        f"~/{TREE}/private": "permission denied",
        f"{TREE}/locked.md": "permission denied",
        ".bash_aliases": "permission denied",
    }
    lines = result.out.splitlines()
    for path, reason in expected.items():
        reported = [line for line in lines if re.search(rf"\s{re.escape(path)}\s", line)]
        assert reported, f"{path} not reported:\n{result.out}"
        assert reported[0].startswith("error"), reported
        assert reason in reported[0], reported
    assert re.search(r"\b9 failed\b", lines[-1]), lines[-1]
    files = read_volume(docker_client, volume)
    assert files[f"{TREE}/ok.md"].data == b"fine\n"
    assert files[f"{TREE}/nested/ok2.md"].data == b"fine too\n"
    assert files[".claude/agents/reviewer.md"].data == b"agent\n"
    assert files[".inputrc"].data == b"set editing-mode vi\n"
    for path in (
        ".claude/CLAUDE.md",
        ".zshrc",
        ".vimrc",
        ".bash_aliases",
        f"{TREE}/pipe",
        f"{TREE}/agent.sock",
        f"{TREE}/locked.md",
        f"{TREE}/private/inside.md",
        ".claude/commands",
    ):
        assert path not in files, path


def test_a_file_vanishing_between_plan_and_transfer_fails_that_path_only(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = isolated_env
    write_files(home, {f"{TREE}/gone.md": "first\n", f"{TREE}/stays.md": "stays\n"})
    volume = new_volume("vanish")
    assert cai("import", "--data-volume", volume).code == 0
    write_files(home, {f"{TREE}/gone.md": "second, longer\n", f"{TREE}/new.md": "new\n"})
    apply_import = REGISTRY["apply_import"]

    def vanish_then_apply(run: Any) -> None:
        (home / TREE / "gone.md").unlink()  # planned as an update, gone when it is read
        apply_import(run)

    replaced = dataclasses.replace(apply_import, function=vanish_then_apply)
    monkeypatch.setitem(REGISTRY, "apply_import", replaced)
    result = cai("import", "--data-volume", volume)
    monkeypatch.setitem(REGISTRY, "apply_import", apply_import)

    assert result.code == 1, result.err
    assert re.search(rf"^error\s+{re.escape(TREE)}/gone\.md\s+\(no such file", result.out, re.M)
    files = read_volume(docker_client, volume)
    assert files[f"{TREE}/gone.md"].data == b"first\n"  # the old copy, untouched
    assert files[f"{TREE}/new.md"].data == b"new\n"
    assert files[f"{TREE}/stays.md"].data == b"stays\n"
    again = cai("import", "--data-volume", volume)
    assert again.code == 0, again.err
    assert read_volume(docker_client, volume)[f"{TREE}/gone.md"].data == b"first\n"


def test_a_file_rewritten_in_the_second_of_the_import_keeping_its_size_is_imported_again(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    """The quick check (size and whole-second mtime) must not hide a change made in the same
    second as the import that read the file: the host's mtimes are finer than a second."""
    settings = isolated_env / ".claude/settings.json"
    settings.parent.mkdir()
    volume = new_volume("samesecond")
    second = int(time.time())
    settings.write_text('{"theme": "dark"}\n')
    os.utime(settings, ns=(second * 10**9 + 200_000_000,) * 2)
    assert cai("import", "--data-volume", volume).code == 0
    settings.write_text('{"theme": "lite"}\n')  # an editor saving again, same size
    os.utime(settings, ns=(second * 10**9 + 700_000_000,) * 2)

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    assert read_volume(docker_client, volume)[".claude/settings.json"].data == (
        b'{"theme": "lite"}\n'
    )


# -- the engine --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ("import",),
        ("import", "--dry-run"),
        ("import", "--json"),
        ("export",),
        ("export", "-o", "x.tgz", "--json"),
        ("import", "--from", "{archive}"),
        ("import", "--from", "{archive}", "--dry-run"),
    ],
    ids=[
        "import",
        "import-dry-run",
        "import-json",
        "export",
        "export-json",
        "restore",
        "restore-dry",
    ],
)
@pytest.mark.parametrize(
    "host", ["unix:///nonexistent.sock", "tcp://127.0.0.1:1"], ids=["unix", "tcp"]
)
def test_an_unreachable_engine_is_one_clear_line_and_exit_1(
    command: tuple[str, ...],
    host: str,
    isolated_env: Path,
    tmp_path: Path,
) -> None:
    archive = tmp_path / "backup.tgz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(".vimrc")
        info.size = 7
        tar.addfile(info, io.BytesIO(b"set nu\n"))
    write_files(isolated_env, {".claude/CLAUDE.md": "notes\n"})

    args = [part.format(archive=archive) for part in command]
    result = run_cai(isolated_env, *args, DOCKER_HOST=host)

    assert result.code == 1
    assert result.err.splitlines() == [result.err.strip()], result.err
    assert result.err.startswith(f"cai: cannot reach the Docker engine at {host}: "), result.err
    assert result.out == ""
    assert not (Path.cwd() / "x.tgz").exists()


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


@pytest.fixture
def engine_relay(docker_client: Any) -> Iterator[EngineRelay]:
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        pytest.skip(f"the relay needs a unix-socket engine, not {host}")
    relay = EngineRelay(host.removeprefix("unix://"))
    yield relay
    relay.cut()


@pytest.mark.slow
@pytest.mark.parametrize("failure", ["vanishes", "hangs"])
def test_an_engine_lost_mid_import_is_one_line_and_leaves_old_or_new_files(
    failure: str,
    engine_relay: EngineRelay,
    host_tree: HostTree,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
) -> None:
    home = isolated_env
    volume = new_volume(f"engine-{failure}")
    host_tree.use("A")
    assert run_cai(home, "import", "--data-volume", volume).code == 0
    root = mountpoint(docker_client, volume)
    old = snapshot(root)
    tree = host_tree.use("B")
    env = cai_env(home, DOCKER_HOST=engine_relay.url, CONTAINAI_ENGINE__TIMEOUT="3")
    run = Cai(home, "import", "--data-volume", volume, env=env)
    point = Point("30% staged", staged=0.3)
    while run.running() and not reached(point, staging_progress(root), tree.total, 0):
        time.sleep(0.002)
    assert run.running(), "the import finished before the engine could be cut"
    if failure == "vanishes":
        engine_relay.cut()
    else:
        engine_relay.frozen.set()

    result = run.finish(timeout=90)
    engine_relay.cut()

    assert result.code == 1, result.err
    assert result.err.splitlines() == [result.err.strip()], result.err
    assert result.err.startswith("cai: writing to the volume failed: "), result.err
    assert f"lost the Docker engine at {engine_relay.url}: " in result.err, result.err
    if failure == "hangs":
        assert "timed out" in result.err, result.err
    assert "Traceback" not in result.err
    new = {
        path: replace(
            node,
            size=tree.sizes[path.removeprefix(f"{TREE}/")],
            sha256=tree.digests[path.removeprefix(f"{TREE}/")],
        )
        for path, node in old.items()
        if path.startswith(f"{TREE}/") and node.kind == "file"
    }
    check_interrupted(root, old, new, f"the engine {failure} mid-import", state_required=True)
    # The engine is back: the next run converges.
    again = run_cai(home, "import", "--data-volume", volume, CONTAINAI_LOCK__TIMEOUT="0")
    assert again.code == 0, again.err
    files = snapshot(root)
    for relative, digest in tree.digests.items():
        assert files[f"{TREE}/{relative}"].sha256 == digest, relative


def test_sigint_while_the_helper_is_being_created_leaves_no_helper_behind(
    engine_relay: EngineRelay, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    """The engine has created the helper container but its answer has not reached cai yet when
    Ctrl-C comes: the container must not be left behind (its name is known before the call)."""
    home = isolated_env
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    volume = new_volume("sigint-create")
    # Held after the helper's creation (the volume's lock container is created first).
    engine_relay.hold_after(lambda request: b"/containers/create?name=containai-helper" in request)
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    run = Cai(home, "import", "--data-volume", volume, env=env)
    deadline = time.monotonic() + 60
    while run.running() and not (engine_relay.held.is_set() and helpers_of(docker_client, volume)):
        assert time.monotonic() < deadline, "the helper was never created"
        time.sleep(0.01)
    assert run.running()
    run.process.send_signal(signal.SIGINT)

    try:
        result = run.finish(timeout=60)
    finally:
        engine_relay.cut()  # the engine lets go of whatever it was still sending

    assert result.code == 130, result.err
    assert result.err.strip().splitlines()[-1] == "cai: interrupted"
    assert helpers_of(docker_client, volume) == []


def put_many_files(client: Any, volume: str, count: int, size: int) -> None:
    """``count`` files of ``size`` random bytes under .many/ in the volume (random, so that the
    engine's stream of the volume stays large even if it is compressed on the way)."""
    data = os.urandom(count * size)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for number in range(count):
            info = tarfile.TarInfo(f".many/f{number:05d}")
            info.size = size
            tar.addfile(info, io.BytesIO(data[number * size : (number + 1) * size]))
    container = client.containers.create(
        TEST_IMAGE, ["true"], volumes={volume: {"bind": "/v", "mode": "rw"}}, network_mode="none"
    )
    try:
        container.put_archive("/v", buffer.getvalue())
    finally:
        container.remove(force=True)


@pytest.mark.slow
def test_sigint_while_the_volume_is_being_read_stops_promptly(
    engine_relay: EngineRelay, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    """Ctrl-C while cai reads the volume and the engine is still sending it: cai must close that
    stream before it removes the helper, or the engine (still holding the container for the
    stream) makes the removal wait for the engine timeout, 120 s by default."""
    home = isolated_env
    volume = new_volume("sigint-read")
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    assert run_cai(home, "import", "--data-volume", volume).code == 0
    # 30,000 small files: cai spends its time parsing their tar headers in Python, so that
    # Ctrl-C comes while it is busy with the stream, not while it waits for more of it.
    put_many_files(docker_client, volume, 30_000, 1024)
    # cai gets the answer and its first megabytes; then the engine seems to stall, mid-stream.
    engine_relay.hold_after(
        lambda request: request.startswith(b"GET ") and b"/archive" in request, allow=10 * ONE_MIB
    )
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    run = Cai(home, "import", "--data-volume", volume, env=env)
    deadline = time.monotonic() + 60
    while run.running() and engine_relay.passed < 3 * ONE_MIB:
        assert time.monotonic() < deadline, "the volume was never read"
        time.sleep(0.002)
    assert run.running()
    run.process.send_signal(signal.SIGINT)
    started = time.monotonic()

    try:
        result = run.finish(timeout=20)
    finally:
        engine_relay.cut()  # the engine lets go of whatever it was still sending
        stopped = time.monotonic() - started
        # A helper stuck in removal keeps the volume; wait for it so that the volume can be
        # removed after the test (this only takes long while cai leaves the stream open).
        left = helpers_of(docker_client, volume)
        for _ in range(120):
            if not helpers_of(docker_client, volume):
                break
            time.sleep(1)

    assert result.code == 130, result.err
    assert result.err.strip().splitlines()[-1] == "cai: interrupted"
    assert stopped < 10, f"cai took {stopped:.0f}s to stop"
    assert left == []


def fresh_bytes(staging: Path, leftover: dict[str, int]) -> int:
    """Bytes staged by the current run: files that are not the ones an earlier run left."""
    total = 0
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(staging) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if is_staged(entry.name) and leftover.get(entry.name) != entry.inode():
                    total += entry.stat(follow_symlinks=False).st_size
    return total


@pytest.mark.slow
def test_two_interruptions_in_a_row_still_converge_without_false_conflicts(
    engine_relay: EngineRelay,
    host_tree: HostTree,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
) -> None:
    """An import cut off while linking (some files new, the record still old, the journal
    explaining them), then a second import killed while staging, then a third: the files the
    first run put in place are still known as containai's own, not "changed in the container"."""
    home = isolated_env
    reference = new_volume("twice-ref")
    volume = new_volume("twice")
    tree_a = host_tree.use("A")
    for name in (reference, volume):
        assert run_cai(home, "import", "--data-volume", name).code == 0
    expected = snapshot(mountpoint(docker_client, reference))
    root = mountpoint(docker_client, volume)

    # 1: importing B, the engine goes away a little after the journal, in the middle of the links.
    tree_b = host_tree.use("B")
    engine_relay.cut_after(b".containai/staging/journal.json", 64 * 1024)
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    first = Cai(home, "import", "--data-volume", volume, env=env).finish()
    assert first.code == 1, first.err
    seen = snapshot(root)
    new = [p for p, d in tree_b.digests.items() if seen[f"{TREE}/{p}"].sha256 == d]
    assert 0 < len(new) < len(tree_b.digests), f"{len(new)} files new: not cut while linking"

    # 2: importing A again, killed while staging (before it writes a journal of its own). The
    # staging folder still holds run 1's files: count only those run 2 wrote anew.
    staging = root / META / "staging"
    leftover = {entry.name: entry.inode() for entry in os.scandir(staging)}
    host_tree.use("A")
    second = Cai(home, "import", "--data-volume", volume)
    while second.running() and fresh_bytes(staging, leftover) < 0.2 * tree_a.total:
        time.sleep(0.002)
    assert second.running(), "run 2 finished before it could be killed while staging"
    second.process.kill()
    assert second.finish().code == -signal.SIGKILL

    # 3: the rerun takes the files of run 1 back without calling them conflicts.
    rerun_converges(
        home, root, expected, "import", "--data-volume", volume, when="two interruptions"
    )


def test_the_engine_is_not_asked_to_compress_the_volume_it_sends(
    engine_relay: EngineRelay, isolated_env: Path, new_volume: Any, tmp_path: Path
) -> None:
    """Asked for gzip (requests' default Accept-Encoding), the engine compresses every read of
    the volume: CPU spent by the engine on each import and export, for data cai unpacks at once.
    Here a no-op re-import of 60 MB of random data took 1.24 s instead of 0.42 s."""
    home = isolated_env
    requests: list[bytes] = []

    def record(request: bytes) -> bool:
        requests.append(request)
        return False

    engine_relay.hold_after(record)
    write_files(home, {".claude/CLAUDE.md": "notes\n"})
    volume = new_volume("encoding")
    env = cai_env(home, DOCKER_HOST=engine_relay.url)
    for args in (
        ("import", "--data-volume", volume),
        ("import", "--data-volume", volume),  # reads what the first one wrote
        ("export", "--data-volume", volume, "-o", str(tmp_path / "x.tgz")),
    ):
        result = Cai(home, *args, env=env).finish()
        assert result.code == 0, result.err

    reads = [r for r in requests if re.match(rb"GET \S*/archive\?", r)]
    assert len(reads) >= 2, [r.split(b"\r\n")[0] for r in requests]
    for read in reads:
        headers = read.split(b"\r\n\r\n")[0].lower()
        assert b"\r\naccept-encoding: identity" in headers, headers.decode(errors="replace")


@contextlib.contextmanager
def tmpfs_volume(client: Any, name: str, size: str) -> Iterator[Any]:
    """A tmpfs-backed volume, kept mounted by a running container (a tmpfs volume is emptied
    whenever no container uses it)."""
    client.volumes.create(
        name, driver_opts={"type": "tmpfs", "device": "tmpfs", "o": f"size={size}"}
    )
    keeper = client.containers.run(
        TEST_IMAGE,
        ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"],
        volumes={name: {"bind": "/v", "mode": "rw"}},
        network_mode="none",
        detach=True,
    )
    try:
        yield keeper
    finally:
        keeper.remove(force=True)


def test_a_full_volume_is_one_clear_line_and_no_partial_file(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    home = isolated_env
    volume = new_volume("full")
    write_files(home, {f"{TREE}/small.md": "old\n", ".claude/CLAUDE.md": "old notes\n"})
    with tmpfs_volume(docker_client, volume, "1m"):
        assert cai("import", "--data-volume", volume).code == 0
        before = read_volume(docker_client, volume)
        big = os.urandom(3 * ONE_MIB)
        write_files(home, {f"{TREE}/big.bin": big, f"{TREE}/small.md": "new\n"})

        result = cai("import", "--data-volume", volume)

        assert result.code == 1
        assert result.err.splitlines() == [result.err.strip()], result.err
        assert result.err.startswith("cai: writing to the volume failed: ")
        assert "no space left on device" in result.err
        files = read_volume(docker_client, volume)
        assert f"{TREE}/big.bin" not in files or files[f"{TREE}/big.bin"].data == big
        assert files[f"{TREE}/small.md"].data in (b"old\n", b"new\n")
        for path, node in before.items():
            if not internal(path):
                assert path in files, path
                if node.kind == "file" and path != f"{TREE}/small.md":
                    assert files[path].data == node.data, path


def test_after_a_full_volume_error_an_import_that_fits_succeeds(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    """The failed run's staged files must not keep the volume full (the big file is staged
    after the small one, so the next run does not happen to overwrite it)."""
    home = isolated_env
    volume = new_volume("full-again")
    write_files(home, {f"{TREE}/a.md": "old\n"})
    with tmpfs_volume(docker_client, volume, "1m"):
        assert cai("import", "--data-volume", volume).code == 0
        write_files(home, {f"{TREE}/a.md": "new\n", f"{TREE}/z-big.bin": os.urandom(3 * ONE_MIB)})
        assert cai("import", "--data-volume", volume).code == 1
        (home / TREE / "z-big.bin").unlink()  # the user frees space on the host side

        result = cai("import", "--data-volume", volume)

        assert result.code == 0, result.err
        assert read_volume(docker_client, volume)[f"{TREE}/a.md"].data == b"new\n"


# -- secrets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Root:
    mode: int
    uid: int
    gid: int


def volume_root(client: Any, volume: str) -> Root:
    container = client.containers.create(
        TEST_IMAGE, ["true"], volumes={volume: {"bind": "/v", "mode": "ro"}}, network_mode="none"
    )
    try:
        chunks, _ = container.get_archive("/v")
        raw = b"".join(chunks)
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        first = tar.next()
    assert first is not None and first.name.rstrip("/") == "v", first
    return Root(first.mode & 0o7777, first.uid, first.gid)


@pytest.fixture
def own_helper_image(docker_client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A helper image name of this test's own (engine.helper_image): containai generates the
    image from its current template, whatever images other runs left under the default name."""
    name = f"cai-test/helper-{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("CONTAINAI_ENGINE__HELPER_IMAGE", name)
    yield name
    for image in docker_client.images.list(name=name):
        with contextlib.suppress(Exception):
            docker_client.images.remove(image.id, force=True)


def manifest_secrets() -> list[str]:
    """Every file source the packaged manifest marks secret or credential."""
    return [
        entry.source
        for entry in parse_file(packaged_manifest())
        if (entry.secret or entry.credential) and not entry.is_dir
    ]


@pytest.mark.slow
def test_secrets_reach_no_output_and_are_private_in_the_volume(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    own_helper_image: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = isolated_env
    tokens: dict[str, str] = {}
    secrets = [*manifest_secrets(), ".ssh/id_ed25519", ".ssh/id_rsa", ".netrc"]
    assert ".claude/.credentials.json" in secrets and ".codex/auth.json" in secrets
    for path in secrets:
        tokens[path] = f"SENTINEL-{uuid.uuid4().hex}"
        body = f'{{"token": "{tokens[path]}"}}\n' if path.endswith(".json") else tokens[path]
        write_files(home, {path: body})
    tokens["gitconfig"] = f"SENTINEL-{uuid.uuid4().hex}"
    write_files(
        home,
        {
            ".gitconfig": "[user]\n\tname = Ada\n"
            f"\tsigningkey = {tokens['gitconfig']}\n"
            f"[credential]\n\thelper = store --file {tokens['gitconfig']}\n"
            f'[url "https://ada:{tokens["gitconfig"]}@example.com/"]\n'
            "\tinsteadOf = https://example.com/\n",
            ".claude/CLAUDE.md": "# notes\n",
            ".config/containai/containai.toml": "[import]\nadditional_paths = "
            '["~/.ssh", "~/.netrc", "~/.claude/.credentials.json", "~/.codex/auth.json"]\n',
        },
    )
    tokens["environment"] = f"SENTINEL-{uuid.uuid4().hex}"
    monkeypatch.setenv("GITHUB_TOKEN", tokens["environment"])
    monkeypatch.setenv("ANTHROPIC_API_KEY", tokens["environment"])
    volume = new_volume("secrets")
    restored = new_volume("secrets-restored")
    archive = tmp_path / "secrets.tgz"

    outputs: dict[str, Any] = {}
    for label, args in [
        ("import --dry-run", ("import", "--dry-run")),
        ("import", ("import",)),
        ("import --no-secrets --verbose", ("import", "--no-secrets", "--verbose")),
        ("import --verbose", ("import", "--verbose")),
        ("import --json", ("import", "--json")),
        ("import --dry-run --json --verbose", ("import", "--dry-run", "--json", "--verbose")),
        ("export", ("export", "-o", str(archive))),
        ("export --json", ("export", "-o", str(archive), "--json")),
        ("export --verbose", ("export", "-o", str(archive), "--verbose")),
        ("export --verify", ("export", "--verify", str(archive), "--verbose")),
    ]:
        if args[0] == "export" and "--verify" in args:
            outputs[label] = cai(*args)
        else:
            outputs[label] = cai(*args, "--data-volume", volume)
    for label, args in [
        ("restore --dry-run --json", ("--dry-run", "--json")),
        ("restore", ("--verbose",)),
        ("restore again --json", ("--json", "--verbose")),
    ]:
        outputs[label] = cai("import", "--data-volume", restored, "--from", str(archive), *args)
    outputs["config --json"] = cai("config", "--json")
    outputs["config"] = cai("config")

    for label, result in outputs.items():
        assert result.code == 0, f"{label}: {result.err}"
        for source, token in tokens.items():
            assert token not in result.out, f"{label} printed the secret of {source}"
            assert token not in result.err, f"{label} printed the secret of {source}"
    with tarfile.open(archive) as tar:
        member = tar.extractfile(f"{META}/export.json")
        assert member is not None
        manifest = member.read().decode()
    for source, token in tokens.items():
        assert token not in manifest, source

    for name in (volume, restored):
        files = read_volume(docker_client, name)
        root = volume_root(docker_client, name)
        assert (root.mode, root.uid, root.gid) == (0o700, *AGENT), name
        for path in secrets:
            node = files[path]
            assert tokens[path] in node.data.decode(), f"{name}: {path} not copied"
            assert (node.kind, node.mode, node.uid, node.gid) == ("file", 0o600, *AGENT), (
                f"{name}: {path}: {node.mode:o} {node.uid}:{node.gid}"
            )
            parent = path.rpartition("/")[0]
            if parent:
                holder = files[parent]
                assert (holder.mode, holder.uid, holder.gid) == (0o700, *AGENT), (
                    f"{name}: {parent}/: {holder.mode:o} {holder.uid}:{holder.gid}"
                )


def test_import_no_secrets_leaves_a_directory_of_secrets_private(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any
) -> None:
    write_files(
        isolated_env,
        {
            ".ssh/id_ed25519": "PRIVATE KEY\n",
            ".ssh/config": "Host example\n",
            ".config/containai/containai.toml": '[import]\nadditional_paths = ["~/.ssh"]\n',
        },
    )
    (isolated_env / ".ssh").chmod(0o755)  # as many home directories have it
    volume = new_volume("nosecrets-dir")
    assert cai("import", "--data-volume", volume).code == 0
    assert read_volume(docker_client, volume)[".ssh"].mode == 0o700

    result = cai("import", "--data-volume", volume, "--no-secrets")

    assert result.code == 0, result.err
    files = read_volume(docker_client, volume)
    assert files[".ssh/id_ed25519"].data == b"PRIVATE KEY\n"  # left untouched, as promised
    assert files[".ssh/id_ed25519"].mode == 0o600
    assert files[".ssh"].mode == 0o700, f".ssh/ is now {files['.ssh'].mode:o} around a key"


def test_a_helper_image_left_by_an_older_containai_does_not_open_up_new_volumes(
    cai: Any, isolated_env: Path, docker_client: Any, new_volume: Any, own_helper_image: str
) -> None:
    """The helper image's mount point gives a new volume its root: an image generated by an
    earlier containai (whose template made it 0755) must not be reused as it is."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        mount = tarfile.TarInfo("data")
        mount.type, mount.mode, mount.uid, mount.gid = tarfile.DIRTYPE, 0o755, *AGENT
        tar.addfile(mount)
    docker_client.api.import_image_from_data(
        buffer.getvalue(), repository=own_helper_image, tag="uid1000-gid1000"
    )
    write_files(isolated_env, {".claude.json": '{"token": "secret"}\n'})
    volume = new_volume("stale-helper")

    result = cai("import", "--data-volume", volume)

    assert result.code == 0, result.err
    root = volume_root(docker_client, volume)
    assert (root.mode, root.uid, root.gid) == (0o700, *AGENT), f"volume root {root.mode:o}"


# -- helper containers -------------------------------------------------------------------------


@dataclass
class HelperWatch:
    volume: str
    seen: dict[str, dict[str, Any]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import docker
        import docker.errors

        client = docker.from_env()
        labels = [HELPER_LABEL, f"containai.data-volume={self.volume}"]
        while not self.stop.is_set():
            for summary in client.api.containers(all=True, filters={"label": labels}):
                if summary["Id"] in self.seen:
                    continue
                with contextlib.suppress(docker.errors.NotFound):
                    self.seen[summary["Id"]] = client.api.inspect_container(summary["Id"])
            time.sleep(0.01)


@contextlib.contextmanager
def watching_helpers(volume: str) -> Iterator[HelperWatch]:
    watch = HelperWatch(volume)
    thread = threading.Thread(target=watch.run, daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        watch.stop.set()
        thread.join(timeout=30)


def assert_locked_down(attrs: dict[str, Any], volume: str, *, writable: bool) -> None:
    host = attrs["HostConfig"]
    name = attrs["Name"]
    assert host["NetworkMode"] == "none", name
    assert attrs["Config"].get("NetworkDisabled") is True, name
    assert host["Privileged"] is False, name
    assert "ALL" in (host.get("CapDrop") or []), name
    assert not host.get("CapAdd"), name
    assert "no-new-privileges" in (host.get("SecurityOpt") or []), name
    assert not host.get("Devices"), name
    assert attrs["Config"]["User"] == "1000:1000", name
    mounts = attrs["Mounts"]
    assert len(mounts) == 1, mounts
    assert (mounts[0]["Type"], mounts[0]["Name"], mounts[0]["RW"]) == ("volume", volume, writable)
    assert attrs["State"]["Status"] == "created", name
    assert attrs["State"]["StartedAt"].startswith("0001-01-01"), name  # never started


@pytest.mark.slow
def test_helper_containers_are_never_started_and_have_no_network_privileges_or_extra_mounts(
    host_tree: HostTree, isolated_env: Path, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    home = isolated_env
    volume = new_volume("helpers")
    host_tree.use("A")

    with watching_helpers(volume) as during_import:
        imported = run_cai(home, "import", "--data-volume", volume)
    with watching_helpers(volume) as during_export:
        exported = run_cai(home, "export", "--data-volume", volume, "-o", str(tmp_path / "x.tgz"))

    assert imported.code == 0, imported.err
    assert exported.code == 0, exported.err
    assert during_import.seen, "no helper container was seen during the import"
    assert during_export.seen, "no helper container was seen during the export"
    for attrs in during_import.seen.values():
        assert_locked_down(attrs, volume, writable=True)
    for attrs in during_export.seen.values():
        assert_locked_down(attrs, volume, writable=False)
    assert helpers_of(docker_client, volume) == []
