"""containai.archive.members: the rules one member must pass (each rule also has a hostile
archive of its own in test_reader.py)."""

from __future__ import annotations

import tarfile

from containai.archive.members import UnsafeMember, check_member
from containai.errors import ArchiveError
from tests.support.tars import header
from tests.unit.archive.builders import (
    folder,
    hard,
    reg,
    sym,
)


def test_unsafe_member_error_format() -> None:
    error = UnsafeMember("../x", "name has a '..' component")

    assert isinstance(error, ArchiveError)
    assert error.exit_code == 1
    assert str(error) == "unsafe archive member '../x': name has a '..' component"
    assert (error.member, error.reason) == ("../x", "name has a '..' component")


# --------------------------------------------------------------------------- check_member


def test_check_member_normalises_and_records_kinds_and_implicit_parents() -> None:
    seen: dict[str, str] = {}

    assert check_member(reg("./x/y/z.txt")[0], seen) == "x/y/z.txt"
    assert check_member(sym("x/l", "y/z.txt")[0], seen) == "x/l"
    assert check_member(hard("h", "./x/y/z.txt")[0], seen) == "h"

    assert seen == {
        "x": "dir",
        "x/y": "dir",
        "x/y/z.txt": "file",
        "x/l": "symlink",
        "h": "hardlink",
    }


def test_check_member_ignores_the_root_entry() -> None:
    seen: dict[str, str] = {}

    assert check_member(folder(".")[0], seen) == "."
    assert check_member(folder("./")[0], seen) == "."
    assert seen == {}


def test_check_member_allows_same_name_same_kind() -> None:
    seen: dict[str, str] = {}
    check_member(reg("a")[0], seen)
    check_member(folder("d")[0], seen)

    assert check_member(reg("./a")[0], seen) == "a"
    assert check_member(folder("d")[0], seen) == "d"


def test_check_member_accepts_an_explicit_dir_after_its_children() -> None:
    seen: dict[str, str] = {}
    check_member(reg("a/b")[0], seen)

    assert check_member(folder("a")[0], seen) == "a"


def test_check_member_treats_contiguous_files_as_regular() -> None:
    info = header("c", tarfile.CONTTYPE)

    assert check_member(info, {}) == "c"


def test_check_member_allows_a_hard_link_to_a_hard_link() -> None:
    seen: dict[str, str] = {}
    check_member(reg("f")[0], seen)
    check_member(hard("h1", "f")[0], seen)

    assert check_member(hard("h2", "h1")[0], seen) == "h2"
