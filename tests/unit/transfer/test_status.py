"""containai.transfer.status and diff_text: the states of `cai status`, the text of `cai diff`."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from containai.host.candidates import Candidate, HostScan
from containai.host.manifest import Entry
from containai.transfer import diff_text, status
from containai.transfer.volume_state import Record, Shape, VolumeFile, VolumeState

ENTRY = Entry(tool="t", source="x", kind="file", target="x", link="x", origin="test")
T = 1_600_000_000
BASE, HOST, AGENT = b"base\n", b"host\n", b"agent\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def candidate(content: bytes, path: str = "f", **flags: Any) -> Candidate:
    return Candidate(path, "file", ENTRY, 0o644, T, len(content), content=content, **flags)


def on_volume(content: bytes, *, mtime: int = T + 9, mode: int = 0o644) -> VolumeFile:
    return VolumeFile("file", len(content), mtime, mode, sha256=sha(content))


def state_of(volume: bytes | None, *, base: bytes | None = BASE, path: str = "f") -> VolumeState:
    found = VolumeState(exists=True)
    if base is not None:
        found.record[path] = Record(len(base), T, sha(base), mode=0o644)
    if volume is not None:
        found.files[path] = on_volume(volume, mtime=T if volume == base else T + 9)
    return found


def digest(c: Candidate) -> str | None:
    return sha(c.content) if c.content is not None else None


def compare(host: Candidate, state: VolumeState) -> list[tuple[str, str]]:
    return [(s.path, s.state) for s in status.compare(HostScan([host]), state, digest)]


@pytest.mark.parametrize(
    ("host", "volume", "base", "expected"),
    [
        (BASE, BASE, BASE, "in-sync"),
        (HOST, BASE, BASE, "host-changed"),
        (BASE, AGENT, BASE, "volume-changed"),
        (BASE, None, BASE, "volume-changed"),
        (HOST, AGENT, BASE, "conflict"),
        (HOST, HOST, BASE, "in-sync"),  # the same change on both sides
        (HOST, None, None, "host-changed"),  # new on the host
        (HOST, HOST, None, "in-sync"),  # equal content containai did not write
        (HOST, AGENT, None, "conflict"),
    ],
    ids=[
        "same-same",
        "host-changed",
        "agent-edit",
        "agent-delete",
        "both",
        "both-same",
        "new",
        "new-equal",
        "new-different",
    ],
)
def test_each_side_against_the_base_gives_the_state_of_the_table(
    host: bytes, volume: bytes | None, base: bytes | None, expected: str
) -> None:
    assert compare(candidate(host), state_of(volume, base=base)) == [("f", expected)]


def test_a_path_containai_wrote_that_the_host_no_longer_has_is_host_deleted() -> None:
    state = state_of(BASE, path="gone")

    found = status.compare(HostScan([]), state, digest)

    assert [(s.path, s.state, s.private) for s in found] == [("gone", "host-deleted", True)]


def test_a_directory_and_a_symlink_compare_by_their_recorded_shape() -> None:
    link = Candidate("l", "symlink", ENTRY, 0o777, T, linkname="new")
    folder = Candidate("d", "dir", ENTRY, 0o700, T)
    state = VolumeState(exists=True)
    state.shapes = {"l": Shape("symlink", 0, "old"), "d": Shape("dir", 0o755)}
    state.files = {"l": VolumeFile("symlink", linkname="old"), "d": VolumeFile("dir", mode=0o700)}

    found = {s.path: s.state for s in status.compare(HostScan([link, folder]), state, digest)}

    assert found == {"l": "host-changed", "d": "in-sync"}  # d: both made it 0700


def test_a_parent_replaced_by_a_file_is_named() -> None:
    state = state_of(None, path="d/f")
    state.files["d"] = on_volume(b"mine")

    [found] = status.compare(HostScan([candidate(BASE, "d/f")]), state, digest)

    assert (found.state, found.detail) == (
        "volume-changed",
        "the volume has a file where a parent directory must go",
    )


# -- diff text -------------------------------------------------------------------------------


def shown(host: bytes | None, volume: bytes | None, **flags: Any) -> list[str]:
    item = status.PathStatus("f", "conflict", "file", "", candidate(host or b"", **flags))
    return diff_text.body(item, host, volume)


def test_a_text_change_is_a_unified_diff_host_against_volume() -> None:
    assert shown(b"a\nb\n", b"a\nc\n") == [
        "--- a/f",
        "+++ b/f",
        "@@ -1,2 +1,2 @@",
        " a",
        "-b",
        "+c",
    ]


def test_a_missing_final_newline_is_said_as_git_says_it() -> None:
    assert shown(b"a\n", b"a")[-3:] == ["-a", "+a", "\\ No newline at end of file"]


@pytest.mark.parametrize("flag", ["secret", "credential"])
def test_secrets_and_credentials_never_show_their_content(flag: str) -> None:
    lines = shown(b"token-one\n", b"token-two\n", **{flag: True})

    assert lines == ["secret: contents differ"]


def test_binary_and_large_files_are_said_to_differ() -> None:
    big = b"x\n" * (diff_text.MOST_SHOWN // 2 + 1)

    assert shown(b"\x00\x01", b"\x00\x02") == ["Binary files a/f and b/f differ"]
    assert shown(b"\xff\xfe", b"text\n") == ["Binary files a/f and b/f differ"]
    assert "not shown" in shown(big, b"small\n")[0]


def test_a_file_missing_from_the_volume_is_a_diff_against_dev_null() -> None:
    assert shown(b"a\n", None)[:2] == ["--- a/f", "+++ /dev/null"]
