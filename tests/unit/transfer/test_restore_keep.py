"""containai.transfer.restore_plan with --replace: what the archive left out on purpose stays.

An archive made with --no-secrets, or with excludes, lists what it left out and why in its
manifest (``left_out``). --replace deletes the volume paths the archive lacks, except those:
they are ``keep (not in archive: secret)``.
"""

from __future__ import annotations

from dataclasses import replace

from containai.archive.comparison import ArchiveIndex, IndexEntry
from containai.transfer.plan import Plan
from containai.transfer.restore_plan import make_plan
from containai.transfer.volume_state import VolumeFile, VolumeState
from tests.unit.transfer.test_restore_plan import PRIVATE, index, member, vdir, vfile

LEFT_OUT = {
    ".claude.json": "secret",
    ".config/gh/hosts.yml": "secret",
    ".claude/projects/": "excluded",
    "odd-link": "symlink",  # left out because it could not be restored: not a choice
}


def archive(*entries: IndexEntry, left_out: dict[str, str] | None = None) -> ArchiveIndex:
    made = index(*entries)
    assert made.manifest is not None
    return replace(made, manifest=replace(made.manifest, left_out=left_out))


def restore_plan(made: ArchiveIndex, files: dict[str, VolumeFile], **extra: object) -> Plan:
    state = VolumeState(True, dict(files))
    private = extra.get("private", PRIVATE)
    return make_plan("vol", made, state, replace=True, private=private)  # type: ignore[arg-type]


def removals(made: Plan) -> dict[str, tuple[str, str]]:
    return {i.path: (i.action, i.detail) for i in made.items if i.action in ("delete", "keep")}


VOLUME = {
    ".claude.json": vfile(b"{token}", mode=0o600),
    ".claude": vdir(),
    ".claude/settings.json": vfile(b"{}"),
    ".claude/projects": vdir(),
    ".claude/projects/a/log": vfile(b"log"),
    ".config": vdir(),
    ".config/gh": vdir(mode=0o700),
    ".config/gh/hosts.yml": vfile(b"token", mode=0o600),
    ".config/gh/config.yml": vfile(b"c"),
    "odd-link": VolumeFile("symlink", linkname="/etc/passwd"),
    "extra.txt": vfile(b"mine"),
}


def test_what_the_archive_left_out_on_purpose_is_kept_and_the_rest_goes() -> None:
    made = archive(
        member(".claude", "dir"),
        member(".claude/settings.json", data=b"{}"),
        member(".config", "dir"),
        member(".config/gh", "dir", mode=0o700),
        left_out=LEFT_OUT,
    )

    assert removals(restore_plan(made, VOLUME)) == {
        ".claude.json": ("keep", "not in archive: secret"),
        ".claude/projects": ("keep", "not in archive: excluded"),
        ".config/gh/config.yml": ("delete", "not in the archive"),
        ".config/gh/hosts.yml": ("keep", "not in archive: secret"),
        "extra.txt": ("delete", "not in the archive"),
        "odd-link": ("delete", "not in the archive"),
    }


def test_a_directory_holding_a_left_out_secret_is_not_removed_whole() -> None:
    # An archive of files only: .config/gh is not among its members.
    made = archive(member("other.txt", data=b"o"), left_out=LEFT_OUT)

    found = removals(restore_plan(made, VOLUME))

    assert found[".config/gh/hosts.yml"] == ("keep", "not in archive: secret")
    assert found[".config/gh/config.yml"] == ("delete", "not in the archive")
    assert ".config" not in found and ".config/gh" not in found


def test_an_archive_without_left_out_keeps_nothing_but_the_private_files() -> None:
    made = archive(member("other.txt", data=b"o"), left_out=None)
    files = {**VOLUME, ".bashrc.d": vdir(), ".bashrc.d/tokens.priv.sh": vfile(b"t")}

    found = removals(restore_plan(made, files))

    assert found[".claude.json"] == ("delete", "not in the archive")
    assert found[".config"] == ("delete", "not in the archive")
    # This restore never writes *.priv.* files there: it never deletes the volume's either.
    assert found[".bashrc.d/tokens.priv.sh"] == ("keep", "excluded by exclude_priv")


def test_kept_paths_do_not_make_their_directory_change() -> None:
    made = archive(member(".config", "dir"), left_out={".config/token": "secret"})
    files = {".config": vdir(), ".config/token": vfile(b"t")}

    found = restore_plan(made, files)

    assert {i.path: i.action for i in found.items} == {
        ".config": "unchanged",
        ".config/token": "keep",
    }
