"""containai.host.tree: the links of a directory entry, kept or made relative to the volume
(the walk itself is tested through containai.host.scan, in test_scan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from containai.host.tree import relink

# -- relink() ----------------------------------------------------------------------------------


ROOT = Path("/home/ada")


@pytest.mark.parametrize(
    ("target", "volume_path", "expected"),
    [
        ("real.md", ".claude/skills/link", "real.md"),
        ("../../elsewhere", ".claude/skills/link", "../../elsewhere"),
        ("/home/ada/.claude/skills/real.md", ".claude/skills/link", "real.md"),
        ("/home/ada/.claude/skills/sub/x.md", ".claude/skills/link", "sub/x.md"),
        ("/home/ada/.claude/agents/a.md", ".claude/skills/deep/link", "../../agents/a.md"),
        ("/home/ada/.vimrc", ".claude/skills/link", "../../.vimrc"),
        ("/home/ada/./.claude//skills/../skills/real.md", ".claude/skills/link", "real.md"),
        ("/home/ada/.vimrc", "link", ".vimrc"),
    ],
    ids=[
        "relative-kept",
        "relative-escaping-kept",
        "absolute-sibling",
        "absolute-child",
        "absolute-cousin",
        "absolute-to-home-top",
        "absolute-unnormalised",
        "link-at-the-volume-root",
    ],
)
def test_relink_keeps_relative_links_and_makes_links_inside_the_root_relative(
    target: str, volume_path: str, expected: str
) -> None:
    linkname, warning = relink(target, ROOT / volume_path, volume_path, ROOT)

    assert (linkname, warning) == (expected, "")


@pytest.mark.parametrize(
    "target",
    ["/etc/hostname", "/home/adam/.vimrc", "/home", "/"],
    ids=["elsewhere", "sibling-home-with-a-common-prefix", "parent-of-root", "filesystem-root"],
)
def test_relink_keeps_links_outside_the_root_and_warns(target: str) -> None:
    linkname, warning = relink(target, ROOT / ".claude/x", ".claude/x", ROOT)

    assert linkname == target
    assert "outside" in warning and target in warning
