"""The harness of the crash-consistency, interrupt and engine-fault tests (issue 7).

The crash tests watch the volume's directory on this host (a local engine) to stop ``cai`` by
the number of bytes it has staged, and read the volume there too (much faster than the engine's
archive API; one test checks that both views agree).

- Two versions of a large tree (``make_tree``), switched in and out of ~/.claude/skills by
  renaming (``HostTree``).
- A volume read on this host (``snapshot``), compared across volumes (``comparable``, ``view``)
  and checked after an interruption (``check_interrupted``, ``rerun_converges``).
- The points at which a run is stopped (``Point``, ``interrupt_at``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import Cai, run_cai
from tests.support.engine import read_volume

META = ".containai"
TREE = ".claude/skills"
ONE_MIB = 1024 * 1024
# The large tree of the crash tests: two versions with the same names and different content.
SMALL_FILES = 300
SMALL_SIZE = 160 * 1024
BIG_FILES = 3
BIG_SIZE = 5 * ONE_MIB


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


def two_trees(base: Path) -> dict[str, Tree]:
    """Version A and version B of a ~60 MB skills tree (300 x 160 KiB + 3 x 5 MiB)."""
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

    def imported(self, volume: str, name: str) -> Tree:
        """Switch to version ``name`` and import it into ``volume`` (which must succeed)."""
        tree = self.use(name)
        result = run_cai(self.home, "import", "--data-volume", volume)
        assert result.code == 0, result.err
        return tree

    def use(self, name: str) -> Tree:
        if self.current == name:
            return self.trees[name]
        if self.current is not None:
            self.path.rename(self.store / self.current)
        (self.store / name).rename(self.path)
        self.current = name
        return self.trees[name]


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


def converges_to(tree: Tree, home: Path, root: Path, volume: str) -> None:
    """The next import after an interrupted one: no lock to wait for, and the volume (its
    directory ``root`` on this host) ends holding ``tree``."""
    again = run_cai(home, "import", "--data-volume", volume, CONTAINAI_LOCK__TIMEOUT="0")
    assert again.code == 0, again.err
    assert "waiting for" not in again.err
    files = snapshot(root)
    for relative, digest in tree.digests.items():
        assert files[f"{TREE}/{relative}"].sha256 == digest, relative


def engine_view(client: Any, volume: str) -> dict[str, tuple[Any, ...]]:
    """The volume read through the engine's archive API, as ``comparable`` gives it (the same
    as that of a ``snapshot`` of its directory on this host)."""
    seen = {
        path: Seen(
            node.kind,
            node.mode,
            node.uid,
            node.gid,
            node.mtime,
            len(node.data),
            hashlib.sha256(node.data).hexdigest() if node.kind == "file" else "",
            node.linkname,
        )
        for path, node in read_volume(client, volume).items()
    }
    return comparable(seen)


def fresh_bytes(staging: Path, leftover: dict[str, int]) -> int:
    """Bytes staged by the current run: files that are not the ones an earlier run left."""
    total = 0
    with contextlib.suppress(FileNotFoundError, NotADirectoryError), os.scandir(staging) as entries:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                if is_staged(entry.name) and leftover.get(entry.name) != entry.inode():
                    total += entry.stat(follow_symlinks=False).st_size
    return total
