"""containai.archive.destination: the export's file name (never an existing file unless forced)
and the atomic publication of the finished archive."""

from __future__ import annotations

import datetime as dt
import errno
import io
import os
from pathlib import Path
from typing import Any

import pytest

from containai.archive import destination
from containai.errors import ContainAIError, UsageError

NOW = dt.datetime(2026, 1, 2, 3, 4, 5)
DEFAULT = "containai-export-20260102-030405.tgz"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    """An empty directory to export into."""
    (tmp_path / "out").mkdir()
    return tmp_path / "out"


def publish(chosen: destination.Destination, data: bytes = b"archive") -> Path:
    with destination.publishing(chosen) as publication:
        publication.out.write(data)
    return publication.path


def choose(output: str | None, cwd: Path, *, force: bool = False) -> destination.Destination:
    return destination.choose(output, cwd, force=force, now=NOW)


def test_no_output_is_the_default_name_in_the_current_directory(out: Path) -> None:
    assert choose(None, out).path == out / DEFAULT


@pytest.mark.parametrize("given", ["out", "out/"])
def test_a_directory_gets_the_default_name_inside(out: Path, given: str) -> None:
    (out / "sub").mkdir()
    assert choose(given.replace("out", "sub"), out).path == out / "sub" / DEFAULT


def test_a_taken_default_name_gets_the_next_number(out: Path) -> None:
    (out / DEFAULT).write_bytes(b"first")
    (out / DEFAULT.replace(".tgz", "-2.tgz")).write_bytes(b"second")

    made = publish(choose(None, out), b"third")

    assert made == out / DEFAULT.replace(".tgz", "-3.tgz")
    assert made.read_bytes() == b"third"
    assert (out / DEFAULT).read_bytes() == b"first"


def test_a_default_name_taken_while_writing_moves_on_to_the_next(out: Path) -> None:
    chosen = choose(None, out)
    with destination.publishing(chosen) as publication:
        publication.out.write(b"mine")
        chosen.path.write_bytes(b"another export, same second")
    assert publication.path == out / DEFAULT.replace(".tgz", "-2.tgz")
    assert publication.path.read_bytes() == b"mine"
    assert chosen.path.read_bytes() == b"another export, same second"


def test_an_existing_file_is_refused_without_force(out: Path) -> None:
    (out / "x.tgz").write_bytes(b"old")
    with pytest.raises(UsageError, match=r"x\.tgz exists \(use --force"):
        choose("x.tgz", out)
    assert (out / "x.tgz").read_bytes() == b"old"


def test_a_file_made_while_writing_is_not_overwritten(out: Path) -> None:
    chosen = choose("x.tgz", out)
    with pytest.raises(UsageError, match="exists"), destination.publishing(chosen) as publication:
        publication.out.write(b"new")
        chosen.path.write_bytes(b"theirs")
    assert chosen.path.read_bytes() == b"theirs"
    assert [p.name for p in out.iterdir()] == ["x.tgz"]  # no temporary file left


def test_force_replaces_an_existing_file(out: Path) -> None:
    (out / "x.tgz").write_bytes(b"old")
    assert publish(choose("x.tgz", out, force=True), b"new") == out / "x.tgz"
    assert (out / "x.tgz").read_bytes() == b"new"
    assert [p.name for p in out.iterdir()] == ["x.tgz"]


def test_nothing_is_published_when_writing_fails(out: Path) -> None:
    chosen = choose("x.tgz", out)
    with pytest.raises(RuntimeError), destination.publishing(chosen) as publication:
        publication.out.write(b"half")
        raise RuntimeError("the engine went away")
    assert list(out.iterdir()) == []


@pytest.mark.parametrize(
    ("output", "said"),
    [("missing/x.tgz", "does not exist"), ("missing/", "does not exist"), ("afile/x", "is not a")],
)
def test_a_bad_output_directory_is_a_usage_error(out: Path, output: str, said: str) -> None:
    (out / "afile").write_bytes(b"")
    with pytest.raises(UsageError, match=said):
        choose(output, out)


def test_a_directory_that_cannot_be_written_is_a_failure_naming_it(out: Path) -> None:
    with pytest.raises(ContainAIError, match="cannot write to /proc: ") as caught:
        publish(choose("/proc/x.tgz", out))
    assert not isinstance(caught.value, UsageError)


def test_a_write_error_names_the_archive(out: Path) -> None:
    publication = destination.Publication(FullDisk(), choose("x.tgz", out))
    with pytest.raises(ContainAIError, match=r"cannot write .*x\.tgz: No space left"):
        publication.out.write(b"x")
    with pytest.raises(ContainAIError, match="No space left"):
        publication.out.flush()


def test_without_hard_links_the_name_is_still_taken_exclusively(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "link", _no_hard_links)
    (out / DEFAULT).write_bytes(b"first")
    made = publish(choose(None, out), b"second")
    assert made.name == DEFAULT.replace(".tgz", "-2.tgz")
    assert made.read_bytes() == b"second"
    assert (out / DEFAULT).read_bytes() == b"first"


def test_the_archive_is_private_to_its_owner(out: Path) -> None:
    assert publish(choose(None, out)).stat().st_mode & 0o077 == 0


class FullDisk(io.BytesIO):
    def write(self, _data: Any) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def flush(self) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _no_hard_links(*_: object) -> None:
    raise OSError(errno.EPERM, os.strerror(errno.EPERM))


def test_force_replaces_only_a_regular_file(out: Path) -> None:
    os.mkfifo(out / "pipe")
    with pytest.raises(UsageError, match="not a regular file"):
        choose("pipe", out, force=True)
    with pytest.raises(UsageError, match="not a regular file"):
        choose("/dev/null", out, force=True)
