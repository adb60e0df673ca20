"""The fast ustar header path must write exactly what tarfile writes, or step aside."""

from __future__ import annotations

import tarfile

import pytest

from containai.transfer.tar import _ustar, member

KINDS = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
}
NAMES = ["a", ".claude/settings.json", "x" * 99, "x" * 100, "dir/"]


def info(kind: str, name: str, **changes: object) -> tarfile.TarInfo:
    result = tarfile.TarInfo(name)
    result.type = KINDS[kind]
    result.mode, result.uid, result.gid, result.mtime = 0o640, 1000, 1000, 1_600_000_000
    result.size = 123 if kind == "file" else 0
    if kind in ("symlink", "hardlink"):
        result.linkname = "../target"
    for key, value in changes.items():
        setattr(result, key, value)  # "path" is TarInfo's other spelling of "name"
    return result


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", NAMES, ids=["short", "nested", "99", "100", "slash"])
def test_a_fast_header_is_byte_for_byte_what_tarfile_writes(kind: str, name: str) -> None:
    header = info(kind, name)
    expected = header.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")
    fast = _ustar(header)
    if fast is not None:
        assert fast == expected
    else:  # only a directory of 100 characters grows past ustar's limit with its slash
        assert kind == "dir" and len(name) == 100


@pytest.mark.parametrize(
    "changes",
    [
        {"path": "y" * 101},
        {"path": "café"},
        {"linkname": "l" * 101, "type": tarfile.SYMTYPE},
        {"mtime": 1.5},
        {"uid": 8**7},
        {"size": 8**11},
        {"type": tarfile.FIFOTYPE},
    ],
    ids=["long-name", "non-ascii", "long-link", "float-mtime", "big-uid", "big-size", "fifo"],
)
def test_anything_ustar_cannot_hold_falls_back_to_pax(changes: dict[str, object]) -> None:
    header = info("file", "a", **changes)
    assert _ustar(header) is None
    parsed = tarfile.TarInfo.frombuf(member(header)[:512], "utf-8", "surrogateescape")
    assert parsed.type in (tarfile.XHDTYPE, header.type)  # a PAX record leads where needed
