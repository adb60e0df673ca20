"""The command-line conventions of issue 17 against a real engine: exports never overwrite, bad
input is one line and an exit code (and a JSON object under --json), one command per call,
quiet by default (skips only with --verbose), --quiet."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
import tarfile
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import one_line
from tests.support.engine import volume_exists
from tests.support.files import write_files

pytestmark = pytest.mark.engine

DEFAULT_NAME = re.compile(r"^containai-export-(\d{8}-\d{6})(-\d+)?\.tgz$")
MANIFEST = ".containai/export.json"
# A home with the files of three tools: git, gh and claude.
THREE_TOOLS = {
    ".gitconfig": "[user]\n\tname = Dev\n",
    ".config/gh/config.yml": "git_protocol: ssh\n",
    ".claude/settings.json": '{"theme": "dark"}\n',
}


@pytest.fixture
def filled(cai: Any, isolated_env: Path, volume: str) -> str:
    """The test's volume, after an import of a home with three tools' files."""
    write_files(isolated_env, THREE_TOOLS)
    result = cai("import", "--data-volume", volume)
    assert result.code == 0, result.err
    return volume


@pytest.fixture
def backups(tmp_path: Path) -> Path:
    folder = tmp_path / "backups"
    folder.mkdir()
    return folder


def members(archive: Path) -> set[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return {member.name for member in tar}


def json_error(out: str, code: int) -> str:
    document = json.loads(out)
    assert document["version"] == 1
    assert document["error"]["exit_code"] == code
    message: str = document["error"]["message"]
    return message


# -- export never overwrites ---------------------------------------------------------------


def test_two_exports_to_one_directory_make_two_archives(
    cai: Any, filled: str, backups: Path
) -> None:
    first = cai("export", "--data-volume", filled, "-o", f"{backups}/")
    second = cai("export", "--data-volume", filled, "-o", f"{backups}/")

    assert (first.code, second.code) == (0, 0), first.err + second.err
    made = sorted(p.name for p in backups.iterdir())
    assert len(made) == 2, made
    assert {first.out.strip(), second.out.strip()} == {str(backups / name) for name in made}
    for name in made:
        assert DEFAULT_NAME.match(name), name
        assert MANIFEST in members(backups / name)


def test_an_export_in_a_second_whose_name_is_taken_adds_a_number(
    cai: Any, filled: str, backups: Path
) -> None:
    # Every default name of the next two minutes is taken already: as if an export of another
    # workspace had just written one in the same second.
    start = dt.datetime.now()
    taken = {
        backups / f"containai-export-{(start + dt.timedelta(seconds=s)):%Y%m%d-%H%M%S}.tgz"
        for s in range(-1, 120)
    }
    for path in taken:
        path.write_bytes(b"another workspace's export")

    result = cai("export", "--data-volume", filled, "-o", str(backups))

    assert result.code == 0, result.err
    made = Path(result.out.strip())
    assert made not in taken and made.name.endswith("-2.tgz"), made.name
    assert MANIFEST in members(made)
    assert all(path.read_bytes() == b"another workspace's export" for path in taken)


def test_export_to_an_existing_file_exits_2_and_leaves_it(
    cai: Any, filled: str, backups: Path
) -> None:
    existing = backups / "existing.tgz"
    existing.write_bytes(b"precious")

    result = cai("export", "--data-volume", filled, "-o", str(existing))

    assert result.code == 2
    assert one_line(result.err) == f"cai: {existing} exists (use --force to replace it)"
    assert existing.read_bytes() == b"precious"
    assert [p.name for p in backups.iterdir()] == ["existing.tgz"]


def test_export_with_force_replaces_the_file(cai: Any, filled: str, backups: Path) -> None:
    existing = backups / "existing.tgz"
    existing.write_bytes(b"old")

    result = cai("export", "--data-volume", filled, "-o", str(existing), "--force")

    assert result.code == 0, result.err
    assert result.out == f"{existing}\n"
    assert {".gitconfig", MANIFEST} <= members(existing)
    assert [p.name for p in backups.iterdir()] == ["existing.tgz"]  # no temporary file left


# -- bad input: one line, an exit code, never "internal error" --------------------------------


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        pytest.param(["import", "--from", "/nonexistent.tgz"], 2, "no such file", id="missing"),
        pytest.param(["import", "--from", "notes.md"], 1, "not a gzip-compressed", id="text"),
        pytest.param(["export", "-o", "/proc/x.tgz"], 1, "cannot write to /proc", id="unwritable"),
        pytest.param(["export", "-o", "notes.md/x.tgz"], 2, "is not a directory", id="below-file"),
    ],
)
def test_bad_input_is_one_line_with_its_exit_code_and_a_json_error(
    cai: Any, filled: str, args: list[str], code: int, said: str
) -> None:
    Path("notes.md").write_text("# notes\n")
    command = [*args, "--data-volume", filled]

    text = cai(*command)
    as_json = cai(*command, "--json")

    assert text.code == as_json.code == code
    line = one_line(text.err)
    assert said in line
    assert text.out == ""
    assert json_error(as_json.out, code) == line.removeprefix("cai: ")
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["notes.md"]


# -- one command per call --------------------------------------------------------------------


def test_import_dry_run_export_exits_2_and_writes_nothing(
    cai: Any, docker_client: Any, volume: str
) -> None:
    result = cai("import", "--dry-run", "--data-volume", volume, "export")

    assert result.code == 2
    assert "one command per call" in one_line(result.err)
    assert result.out == ""
    assert list(Path.cwd().iterdir()) == []
    assert not volume_exists(docker_client, volume)


def test_a_misspelled_flag_suggests_the_right_one(cai: Any) -> None:
    result = cai("import", "--dryrun")
    assert result.code == 2
    assert "did you mean '--dry-run'?" in one_line(result.err)


# -- quiet by default ----------------------------------------------------------------------


def test_a_dry_run_of_three_tools_lists_no_skip_without_verbose(
    cai: Any, isolated_env: Path, volume: str
) -> None:
    write_files(isolated_env, THREE_TOOLS)

    plain = cai("import", "--dry-run", "--data-volume", volume)
    verbose = cai("import", "--dry-run", "--data-volume", volume, "--verbose")

    assert plain.code == verbose.code == 0, plain.err + verbose.err
    assert "skip:" not in plain.out
    assert re.search(r"^skip:missing\s", verbose.out, re.M)
    lines = plain.out.splitlines()
    listed = [line.split()[0] for line in lines[1:-1]]
    assert listed.count("add") == 3
    summary = lines[-1]
    assert summary.startswith("dry run, nothing changed: 3 added, 0 updated")
    placeholders = re.search(r"\b(\d+) placeholders\b", summary)
    assert int(placeholders.group(1) if placeholders else 0) == listed.count("placeholder")
    assert len(lines) < 25, plain.out  # ~85 lines before issue 17


def test_quiet_import_and_export_print_nothing(
    cai: Any, isolated_env: Path, volume: str, backups: Path
) -> None:
    write_files(isolated_env, THREE_TOOLS)

    imported = cai("import", "--data-volume", volume, "-q")
    exported = cai("export", "--data-volume", volume, "-o", str(backups), "--quiet")

    assert (imported.code, imported.out, imported.err) == (0, "", "")
    assert (exported.code, exported.out, exported.err) == (0, "", "")
    [archive] = backups.iterdir()
    with gzip.open(archive) as raw:
        assert raw.read(1)  # a real archive was written


def test_every_json_document_is_versioned(cai: Any, filled: str, backups: Path) -> None:
    exported = json.loads(cai("export", "--data-volume", filled, "-o", str(backups), "--json").out)
    archive = exported["archive"]
    for document in (
        exported,
        json.loads(cai("import", "--data-volume", filled, "--json").out),
        json.loads(cai("status", "--data-volume", filled, "--json").out),
        json.loads(cai("export", "--verify", archive, "--json").out),
        json.loads(cai("ls", "--json").out),
    ):
        assert document["version"] == 1, document
