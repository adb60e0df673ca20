"""containai.archive.writer.write_archive: a fake volume's stream in, a checked .tgz out, and
that archive restored into another fake volume."""

from __future__ import annotations

import gzip
import hashlib
import tarfile
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import IO, Any

import pytest

from containai import __version__
from containai.archive import reader
from containai.archive.source import MemberContents
from containai.archive.writer import ExportRequest, ExportSummary, write_archive
from containai.host.candidates import Candidate, HostScan
from containai.host.excludes import Excludes, Rule
from containai.host.manifest import Entry
from containai.transfer import plan, restore_plan, stream
from containai.transfer.volume_state import META_DIR
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import FakeHelper, FakeVolume

T = 1_600_000_000
LIMIT = 100 * 1024 * 1024
ENTRY = Entry(tool="test", source="x", kind="file", target="x", link="x", origin="test")
LABELS = {"containai.managed": "true", "containai.workspace": "/ws"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Export:
    """One export of a fake volume: the archive, the summary and what was fetched."""

    def __init__(
        self,
        volume: FakeVolume,
        path: Path,
        *,
        excludes: Iterable[str] = (),
        secrets: bool = True,
        is_secret: Callable[[str], bool] = lambda path: False,
    ) -> None:
        helper = FakeHelper(volume)
        self.fetched: list[str] = []

        def fetch(name: str) -> AbstractContextManager[tuple[IO[bytes], int]]:
            self.fetched.append(name)
            return helper.open_file(name)

        rules = Excludes([Rule("excludes", tuple(excludes))])
        request = ExportRequest("src-vol", LABELS, rules, secrets, is_secret, 1)
        self.path = path
        with path.open("wb") as out:
            self.summary: ExportSummary = write_archive(helper.get(""), out, request, fetch)
        self.index = reader.scan_archive(path, max_expanded_bytes=LIMIT)

    def names(self) -> list[str]:
        return [entry.name for entry in self.index.entries]

    def members(self) -> dict[str, tarfile.TarInfo]:
        with gzip.open(self.path) as raw, tarfile.open(fileobj=raw, mode="r|") as archive:
            return {info.name: info for info in archive}

    def content(self, name: str) -> bytes:
        with gzip.open(self.path) as raw, tarfile.open(fileobj=raw, mode="r|") as archive:
            for info in archive:
                if info.name == name:
                    handle = archive.extractfile(info)
                    assert handle is not None
                    return handle.read()
        raise AssertionError(f"{name} is not in the archive")


def populated() -> FakeVolume:
    """A volume as containai leaves it: configs, a secret, links, and its bookkeeping."""
    volume = FakeVolume("src-vol")
    volume.add_dir(".claude", mtime=T + 1)
    volume.add_file(".claude/settings.json", b'{"model": "x"}\n', mtime=T + 2)
    volume.add_file(".claude.json", b'{"token": "secret"}\n', mode=0o600, mtime=T + 3)
    volume.add_dir(".config", mtime=T + 4)
    volume.add_dir(".config/gh", mode=0o700, mtime=T + 5)
    volume.add_file(".config/gh/hosts.yml", b"oauth: t\n", mode=0o600, mtime=T + 6)
    volume.add_file(".gitconfig", b"[user]\n", mtime=T + 7)
    volume.add_dir("bin", mode=0o2775, uid=1000, gid=1500, mtime=T + 8)
    volume.add_file("bin/tool", b"#!/bin/sh\n", mode=0o4755, mtime=T + 9)
    volume.add_hardlink("bin/tool-again", "bin/tool")
    volume.add_symlink(".claude/current", "settings.json", mtime=T + 10)
    volume.add_symlink("bin/up", "../.gitconfig", mtime=T + 11)
    volume.add_dir(META_DIR, mtime=T)
    volume.add_file(f"{META_DIR}/state.json", b'{"files": {}}\n')
    volume.add_file(f"{META_DIR}/staging", b"")
    volume.add_file(f"{META_DIR}/backups/20240101-000000/.gitconfig", b"[old]\n")
    return volume


def is_secret(path: str) -> bool:
    return path in (".claude.json",) or path.startswith(".config/gh/")


def tree(volume: FakeVolume) -> dict[str, tuple[Any, ...]]:
    """Everything outside containai's bookkeeping: kind, mode, owner, mtime, content, target."""
    return {
        path: (node.kind, node.mode, node.uid, node.gid, node.mtime, node.content, node.linkname)
        for path, node in volume.nodes.items()
        if path and path != META_DIR and not path.startswith(f"{META_DIR}/")
    }


# -- the manifest ------------------------------------------------------------------------------


def test_the_manifest_lists_every_file_with_its_size_sha256_mode_and_secret_flag(
    tmp_path: Path,
) -> None:
    volume = populated()

    export = Export(volume, tmp_path / "x.tgz", is_secret=is_secret)

    manifest = export.index.manifest
    assert manifest is not None
    listed = {name: (f.size, f.sha256, f.mode, f.secret) for name, f in manifest.files.items()}
    assert listed == {
        ".claude/settings.json": (15, sha(b'{"model": "x"}\n'), 0o644, False),
        ".claude.json": (20, sha(b'{"token": "secret"}\n'), 0o600, True),
        ".config/gh/hosts.yml": (9, sha(b"oauth: t\n"), 0o600, True),
        ".gitconfig": (7, sha(b"[user]\n"), 0o644, False),
        "bin/tool": (10, sha(b"#!/bin/sh\n"), 0o4755, False),
        # A second name is a file restore writes: listed with its target's content.
        "bin/tool-again": (10, sha(b"#!/bin/sh\n"), 0o4755, False),
    }
    assert manifest.symlinks == {".claude/current": "settings.json", "bin/up": "../.gitconfig"}
    assert manifest.dirs == (".claude", ".config", ".config/gh", "bin")
    assert manifest.left_out == {}
    assert (manifest.volume_name, dict(manifest.volume_labels)) == ("src-vol", LABELS)
    assert (manifest.tool_version, manifest.excludes, manifest.secrets) == (
        __version__,
        False,
        True,
    )
    assert (export.summary.files, export.summary.bytes) == (5, 61)
    report = reader.verify_archive(export.path, max_expanded_bytes=LIMIT)
    assert report.ok and not report.no_manifest


def test_members_keep_owner_mode_mtime_and_targets_without_the_mount_prefix(
    tmp_path: Path,
) -> None:
    volume = populated()

    export = Export(volume, tmp_path / "x.tgz")

    members = export.members()
    for name in export.names():
        info, node = members[name], volume.nodes[name]
        # The engine's headers carry the file type in the mode; the archive keeps permissions.
        assert (info.mode, info.uid, info.gid, info.mtime) == (
            node.mode,
            node.uid,
            node.gid,
            node.mtime,
        ), name
        assert info.uname == info.gname == ""
    assert members["bin/up"].linkname == "../.gitconfig"
    assert (members["bin/tool-again"].type, members["bin/tool-again"].linkname) == (
        tarfile.LNKTYPE,
        "bin/tool",
    )
    assert sorted(export.names()) == sorted(tree(volume))
    assert export.fetched == []


def test_containai_bookkeeping_is_never_exported(tmp_path: Path) -> None:
    export = Export(populated(), tmp_path / "x.tgz")

    ours = [name for name in export.members() if name.startswith(META_DIR)]
    assert ours == [f"{META_DIR}/export.json"]  # the manifest, written last
    assert list(export.members())[-1] == f"{META_DIR}/export.json"
    assert not [name for name in export.names() if name.startswith(META_DIR)]
    assert export.summary.skipped == []  # left out silently: it is not the user's


# -- what is left out --------------------------------------------------------------------------


def test_excluded_paths_are_left_out_and_an_excluded_directory_with_all_below_it(
    tmp_path: Path,
) -> None:
    volume = populated()
    volume.add_file(".claude/projects/p1/log.jsonl", b"x")
    volume.add_file(".claude/projects/p2/log.jsonl", b"y")
    volume.add_file("debug.log", b"z")

    export = Export(volume, tmp_path / "x.tgz", excludes=[".claude/projects/", "*.log"])

    assert not [n for n in export.names() if n.startswith(".claude/projects") or n.endswith("log")]
    assert export.summary.skipped == [
        (".claude/projects", "excluded by excludes"),
        ("debug.log", "excluded by excludes"),
    ]
    manifest = export.index.manifest
    assert manifest is not None and manifest.excludes
    assert manifest.left_out == {".claude/projects/": "excluded", "debug.log": "excluded"}
    assert ".claude/settings.json" in export.names()


def test_no_secrets_leaves_secret_files_out_and_keeps_their_directories(tmp_path: Path) -> None:
    export = Export(populated(), tmp_path / "x.tgz", secrets=False, is_secret=is_secret)

    assert ".claude.json" not in export.names()
    assert ".config/gh/hosts.yml" not in export.names()
    assert ".config/gh" in export.names()
    assert export.summary.skipped == [
        (".claude.json", "secret (--no-secrets)"),
        (".config/gh/hosts.yml", "secret (--no-secrets)"),
    ]
    manifest = export.index.manifest
    assert manifest is not None and not manifest.secrets
    assert not any(f.secret for f in manifest.files.values())
    assert manifest.left_out == {".claude.json": "secret", ".config/gh/hosts.yml": "secret"}


@pytest.mark.parametrize(
    ("name", "target"),
    [
        ("abs", "/home/agent/workspace/skills"),
        ("up", ".."),
        ("d/upup", "../../etc"),
        ("d/zigzag", "x/../../.."),
    ],
    ids=["absolute", "climbing-out", "climbing-out-deeper", "dot-dot-after-a-name"],
)
def test_a_symlink_that_a_restore_would_refuse_is_left_out_with_the_reason(
    tmp_path: Path, name: str, target: str
) -> None:
    volume = populated()
    volume.add_symlink(name, target)
    volume.add_symlink("d/fine", "../.gitconfig")

    export = Export(volume, tmp_path / "x.tgz")

    assert name not in export.names()
    assert "d/fine" in export.names()
    [(path, why)] = export.summary.skipped
    assert path == name
    assert why.startswith("symlink that a restore would refuse: ")
    assert export.index.manifest is not None
    assert export.index.manifest.left_out == {name: "symlink"}


def test_a_hard_link_whose_first_name_was_left_out_carries_the_content_itself(
    tmp_path: Path,
) -> None:
    volume = FakeVolume("src-vol")
    volume.add_file("aaa/original.txt", b"shared content\n", mode=0o640, mtime=T + 9)
    volume.add_hardlink("zzz/second-name.txt", "aaa/original.txt")

    export = Export(volume, tmp_path / "x.tgz", excludes=["aaa/"])

    assert export.fetched == ["zzz/second-name.txt"]
    info = export.members()["zzz/second-name.txt"]
    assert (info.type, info.size, info.mode, info.mtime) == (tarfile.REGTYPE, 15, 0o640, T + 9)
    assert export.content("zzz/second-name.txt") == b"shared content\n"
    assert export.index.manifest is not None
    assert export.index.manifest.files["zzz/second-name.txt"].sha256 == sha(b"shared content\n")
    assert (export.summary.files, export.summary.bytes) == (1, 15)
    assert reader.verify_archive(export.path, max_expanded_bytes=LIMIT).ok


def test_a_hard_link_to_a_symlink_is_exported_as_that_symlink(tmp_path: Path) -> None:
    volume = FakeVolume("src-vol")
    volume.add_file("f", b"x")
    volume.add_symlink("a-link", "f", mtime=T + 4)
    volume.add_hardlink("b-same-link", "a-link")  # what cp -al makes of a symlink
    volume.add_symlink("c-bad", "../outside")
    volume.add_hardlink("d-same-bad", "c-bad")

    export = Export(volume, tmp_path / "x.tgz")

    info = export.members()["b-same-link"]
    assert (info.type, info.linkname, info.mtime) == (tarfile.SYMTYPE, "f", T + 4)
    assert export.index.manifest is not None
    assert export.index.manifest.symlinks == {"a-link": "f", "b-same-link": "f"}
    assert [name for name, _ in export.summary.skipped] == ["c-bad", "d-same-bad"]
    assert all(why.startswith("symlink that a restore") for _, why in export.summary.skipped)
    assert reader.verify_archive(export.path, max_expanded_bytes=LIMIT).ok


def test_an_export_after_an_interrupted_import_stores_what_staging_shared(
    tmp_path: Path,
) -> None:
    # An import cut right after a file's hard link went into place leaves the file sharing its
    # inode with its staged name, which the engine lists first (".containai" < ".gitconfig").
    volume = FakeVolume("src-vol")
    helper = FakeHelper(volume)
    state = read_volume(helper.get(""), hash_paths=set())
    candidate = Candidate(".gitconfig", "file", ENTRY, 0o644, T, 13, content=b"new settings\n")
    made = plan.make(
        "src-vol",
        HostScan([candidate]),
        state,
        on_conflict="backup",
        host_digest=lambda c: sha(c.content or b""),
    )
    chunks = list(stream.stream(made, state, stream.Owner(1000, 1000), stream.Outcome()))
    link = next(n for n, c in enumerate(chunks) if c[:100].rstrip(b"\0") == b".gitconfig")
    helper.put(chunks[: link + 1])
    [staged] = [p for p in volume.nodes if p.startswith(f"{META_DIR}/staging/run-")]
    assert volume.same_file(".gitconfig", staged)

    export = Export(volume, tmp_path / "x.tgz")

    assert export.fetched == [".gitconfig"]
    assert export.content(".gitconfig") == b"new settings\n"
    assert reader.verify_archive(export.path, max_expanded_bytes=LIMIT).ok


# -- and back ----------------------------------------------------------------------------------


def restore_into(target: FakeVolume, archive: Path) -> stream.Outcome:
    """cai import --from ARCHIVE: check, plan against the volume, stream the members in."""
    index = reader.scan_archive(archive, max_expanded_bytes=LIMIT)
    helper = FakeHelper(target)
    writes = {e.name for e in index.entries if e.kind in ("file", "hardlink")}
    state = read_volume(helper.get(""), hash_paths=writes)
    made = restore_plan.make_plan("dst-vol", index, state, replace=False, private=Excludes([]))
    outcome = stream.Outcome()
    contents = MemberContents(archive)
    try:
        helper.put(stream.stream(made, state, stream.Owner(1000, 1000), outcome, contents))
    finally:
        contents.close()
    return outcome


def test_the_archive_restores_into_an_empty_volume_as_it_was(tmp_path: Path) -> None:
    source = populated()
    export = Export(source, tmp_path / "x.tgz")
    target = FakeVolume("dst-vol")

    index = reader.scan_archive(export.path, max_expanded_bytes=LIMIT)
    empty = read_volume(FakeHelper(target).get(""), hash_paths=set())
    made = restore_plan.make_plan("dst-vol", index, empty, replace=False, private=Excludes([]))
    outcome = restore_into(target, export.path)

    assert {item.action for item in made.items} == {"add"}
    assert outcome.failures == {}
    expected = tree(source)
    # What a restore writes is the agent's, without setuid, setgid or sticky bits.
    expected["bin"] = ("dir", 0o775, 1000, 1000, *expected["bin"][4:])
    expected["bin/tool"] = ("file", 0o755, 1000, 1000, *expected["bin/tool"][4:])
    expected["bin/tool-again"] = expected["bin/tool"]
    assert tree(target) == expected
    assert target.same_file("bin/tool", "bin/tool-again")


def test_restoring_the_same_archive_again_changes_nothing(tmp_path: Path) -> None:
    source = populated()
    source.nodes["bin/tool"].mode = 0o755
    export = Export(source, tmp_path / "x.tgz")
    target = FakeVolume("dst-vol")
    restore_into(target, export.path)
    before = tree(target)

    index = reader.scan_archive(export.path, max_expanded_bytes=LIMIT)
    writes = {e.name for e in index.entries if e.kind in ("file", "hardlink")}
    state = read_volume(FakeHelper(target).get(""), hash_paths=writes)
    again = restore_plan.make_plan("dst-vol", index, state, replace=False, private=Excludes([]))

    assert {item.action for item in again.items} == {"unchanged"}
    assert tree(target) == before


def test_an_export_of_the_restored_volume_lists_the_same_files(tmp_path: Path) -> None:
    first = Export(populated(), tmp_path / "first.tgz")
    middle = FakeVolume("dst-vol")
    restore_into(middle, first.path)

    second = Export(middle, tmp_path / "second.tgz")

    assert first.index.manifest is not None and second.index.manifest is not None
    assert sorted(second.names()) == sorted(first.names())
    first_files = {n: (f.size, f.sha256) for n, f in first.index.manifest.files.items()}
    second_files = {n: (f.size, f.sha256) for n, f in second.index.manifest.files.items()}
    assert second_files == first_files
