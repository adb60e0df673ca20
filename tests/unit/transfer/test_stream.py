"""containai.transfer.stream: an import's tar stream, unpacked by the fake engine and read back."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import io
import os
import re
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from containai.errors import EngineError
from containai.host.candidates import Candidate, HostScan, file_candidate
from containai.host.manifest import Entry
from containai.transfer import plan as planning
from containai.transfer import stream
from containai.transfer.plan import Plan
from containai.transfer.records import records_after
from containai.transfer.stream import HostFiles, Outcome, Owner
from containai.transfer.volume_state import (
    BACKUP_DIR,
    CARRIED_FILE,
    META_DIR,
    STAGING_DIR,
    Record,
    VolumeState,
)
from containai.transfer.volume_state import read as read_volume
from tests.fakes.engine import NOW, FakeHelper, FakeVolume

ENTRY = Entry(tool="test", source="x", kind="file", target="x", link="x", origin="test")
DIR_ENTRY = Entry(tool="test", source="d", kind="dir", target="d", link="d", origin="test")
OWNER = Owner(1000, 1000)
T = 1_600_000_000


def generated(
    path: str, content: bytes, *, mode: int = 0o644, mtime: float = T, **flags: Any
) -> Candidate:
    """A candidate whose bytes containai makes (compared by hash, never by mtime)."""
    return Candidate(path, "file", ENTRY, mode, mtime, len(content), content=content, **flags)


def secret(path: str, content: bytes, **flags: Any) -> Candidate:
    return generated(path, content, mode=0o600, secret=True, **flags)


def host_file(home: Path, path: str, content: bytes, *, mtime: float = T + 0.25) -> Candidate:
    """A real file under ``home``, scanned the way the host scan does."""
    source = home / path
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_bytes(content)
    os.utime(source, (mtime, mtime))
    return file_candidate(ENTRY, path, str(source), source.stat(), False)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def host_digest(candidate: Candidate) -> str | None:
    if candidate.content is not None:
        return sha(candidate.content)
    try:
        return sha(Path(candidate.source or "").read_bytes())
    except OSError:
        return None


def read_state(helper: FakeHelper, candidates: Iterable[Candidate]) -> VolumeState:
    return read_volume(helper.get(""), hash_paths={c.path for c in candidates if c.kind == "file"})


def plan_for(
    helper: FakeHelper, candidates: list[Candidate], *, on_conflict: str = "backup", **extra: Any
) -> tuple[Plan, VolumeState]:
    state = read_state(helper, candidates)
    made = planning.make(
        "vol",
        HostScan(list(candidates)),
        state,
        on_conflict=on_conflict,
        host_digest=host_digest,
        **extra,
    )
    return made, state


def run(
    helper: FakeHelper,
    candidates: list[Candidate],
    *,
    on_conflict: str = "backup",
    content: stream.ContentSource | None = None,
) -> tuple[Plan, Outcome]:
    """One import, as apply_import carries it out (deletions aside)."""
    made, state = plan_for(helper, candidates, on_conflict=on_conflict)
    outcome = Outcome()
    helper.put(stream.stream(made, state, OWNER, outcome, content))
    return made, outcome


def actions(made: Plan) -> dict[str, str]:
    return {item.path: item.action for item in made.items}


def metadata(volume: FakeVolume, path: str) -> tuple[str, int, int, int]:
    node = volume.nodes[path]
    return node.kind, node.mode, node.uid, node.gid


# -- files in place ----------------------------------------------------------------------------


def test_files_land_in_place_with_their_content_mode_owner_and_mtime(
    volume: FakeVolume, helper: FakeHelper, isolated_env: Path
) -> None:
    candidates = [
        generated(".gitconfig", b"[user]\n", mtime=T + 1.7),
        host_file(isolated_env, ".vimrc", b"set nu\n"),
        generated("bin/tool", b"#!/bin/sh\n", mode=0o755),
    ]

    made, outcome = run(helper, candidates)

    assert set(actions(made).values()) == {"add"}
    assert volume.content(".gitconfig") == b"[user]\n"
    assert volume.content(".vimrc") == b"set nu\n"
    assert volume.content("bin/tool") == b"#!/bin/sh\n"
    assert metadata(volume, "bin/tool") == ("file", 0o755, 1000, 1000)
    assert metadata(volume, ".vimrc") == ("file", 0o644, 1000, 1000)
    assert volume.nodes[".gitconfig"].mtime == T + 1  # whole seconds
    assert (outcome.files_sent, outcome.bytes_sent, outcome.failures) == (3, 24, {})


def test_a_symlink_candidate_becomes_a_symlink_owned_by_the_agent(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    link = Candidate("d/current", "symlink", DIR_ENTRY, 0o777, T + 3, linkname="v2")

    run(helper, [link])

    node = volume.nodes["d/current"]
    assert (node.kind, node.linkname, node.uid, node.gid, node.mtime) == (
        "symlink",
        "v2",
        1000,
        1000,
        T + 3,
    )


def test_the_staging_tree_is_gone_and_an_empty_private_file_is_in_its_place(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [generated("a", b"1"), generated("b/c", b"2")])

    # 0700: Podman sets the staging directory's mode on what is at its name when the stream ends.
    assert metadata(volume, STAGING_DIR) == ("file", 0o700, 1000, 1000)
    assert volume.content(STAGING_DIR) == b""
    assert [p for p in volume.nodes if p.startswith(f"{STAGING_DIR}/")] == []
    assert metadata(volume, META_DIR) == ("dir", 0o755, 1000, 1000)
    # The final names hold the only links to their files now.
    assert volume.content("b/c") == b"2"
    assert len({id(node) for node in volume.nodes.values()}) == len(volume.nodes)


def test_the_state_records_every_file_written(
    volume: FakeVolume, helper: FakeHelper, isolated_env: Path
) -> None:
    vimrc = host_file(isolated_env, ".vimrc", b"set nu\n", mtime=T + 0.25)
    candidates = [generated(".gitconfig", b"[user]\n", mtime=T + 1.7), vimrc]

    _, outcome = run(helper, candidates)
    state = read_state(helper, candidates)

    assert state.record == {
        ".gitconfig": Record(7, T + 1, sha(b"[user]\n"), mode=0o644),
        # A host file also keeps its own mtime at full precision, for the next quick check.
        ".vimrc": Record(7, T, sha(b"set nu\n"), T + 0.25, 0o644),
    }
    assert outcome.records == state.record
    assert state.journal == {}  # a finished run leaves no journal behind
    assert all(state.files[path].matches(state.record[path]) for path in state.record)


def test_a_second_import_of_the_same_host_is_a_no_op(
    helper: FakeHelper, isolated_env: Path
) -> None:
    candidates = [
        generated(".gitconfig", b"[user]\n"),
        host_file(isolated_env, ".vimrc", b"set nu\n"),
        secret(".config/gh/hosts.yml", b"token"),
    ]
    run(helper, candidates)

    again, state = plan_for(helper, candidates)

    assert set(actions(again).values()) == {"unchanged"}
    assert not any(item.writes for item in again.items)
    assert records_after(again, state) == (state.record, state.shapes)


def test_equal_content_containai_did_not_write_is_adopted_into_the_record(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file(".vimrc", b"same\n", mtime=T - 50)

    made, state = plan_for(helper, [generated(".vimrc", b"same\n")])
    outcome = Outcome()
    helper.put(stream.stream(made, state, OWNER, outcome))

    assert actions(made) == {".vimrc": "unchanged"}
    # Not a no-op although nothing is written: the record must learn about the file.
    adopted = Record(5, T - 50, sha(b"same\n"), mode=0o644)
    assert records_after(made, state)[0] == {".vimrc": adopted}
    assert read_state(helper, []).record == {".vimrc": adopted}
    assert volume.nodes[".vimrc"].mtime == T - 50  # left alone


def test_a_deleted_source_drops_out_of_the_record(volume: FakeVolume, helper: FakeHelper) -> None:
    run(helper, [generated("m/a", b"a"), generated("m/b", b"b")])

    made, state = plan_for(helper, [generated("m/a", b"a")], mirror_roots=["m"])

    assert actions(made) == {"m/a": "unchanged", "m/b": "delete"}
    assert set(records_after(made, state)[0]) == {"m/a"}


# -- conflicts ---------------------------------------------------------------------------------


def test_a_conflict_is_backed_up_under_containai_backups_before_it_is_replaced(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_file(".config/tool/settings.json", b'{"agent": 1}', mtime=T - 9)

    made, outcome = run(helper, [generated(".config/tool/settings.json", b'{"host": 2}')])

    assert [(i.action, i.resolution) for i in made.items] == [("conflict", "backup")]
    [backup] = outcome.backups
    assert re.fullmatch(rf"{BACKUP_DIR}/\d{{8}}-\d{{6}}/\.config/tool/settings\.json", backup), (
        backup
    )
    assert volume.content(backup) == b'{"agent": 1}'
    assert volume.nodes[backup].mtime == T - 9  # the old file itself, not a copy
    assert volume.content(".config/tool/settings.json") == b'{"host": 2}'
    # Every directory a backup creates is private: backups may hold secrets.
    parents = backup.split("/")[:-1]
    for end in range(2, len(parents) + 1):
        assert metadata(volume, "/".join(parents[:end])) == ("dir", 0o700, 1000, 1000)


@pytest.mark.parametrize(("on_conflict", "expected"), [("overwrite", b"host"), ("skip", b"agent")])
def test_a_conflict_is_overwritten_or_skipped_without_a_backup(
    volume: FakeVolume, helper: FakeHelper, on_conflict: str, expected: bytes
) -> None:
    volume.add_file("f", b"agent")

    _, outcome = run(helper, [generated("f", b"host")], on_conflict=on_conflict)

    assert volume.content("f") == expected
    assert outcome.backups == []
    assert not any(path.startswith(f"{BACKUP_DIR}/") for path in volume.nodes)
    state = read_state(helper, [])
    assert ("f" in state.record) == (on_conflict == "overwrite")


def test_a_file_the_agent_changed_after_an_import_is_a_conflict_the_next_time(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [generated("f", b"v1")])
    volume.add_file("f", b"agent's", mtime=T + 99)

    made, outcome = run(helper, [generated("f", b"v2")])

    assert [(i.action, i.detail) for i in made.items] == [
        ("conflict", "changed in the container since the last import")
    ]
    assert [volume.content(b) for b in outcome.backups] == [b"agent's"]
    assert volume.content("f") == b"v2"


# -- directories (stream._directories) ---------------------------------------------------------


def test_new_parents_are_0755_and_owned_by_the_agent_not_by_root(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [generated("a/b/c/file", b"x")])

    # Left to the engine they would be root's (tests/fakes/engine.py).
    for parent in ("a", "a/b", "a/b/c"):
        assert metadata(volume, parent) == ("dir", 0o755, 1000, 1000)


def test_a_new_parent_that_directly_holds_a_secret_is_0700_and_its_own_parent_0755(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [secret(".config/gh/hosts.yml", b"token"), generated(".config/gh/config.yml", b"")])

    assert metadata(volume, ".config/gh/hosts.yml") == ("file", 0o600, 1000, 1000)
    assert metadata(volume, ".config/gh") == ("dir", 0o700, 1000, 1000)
    assert metadata(volume, ".config") == ("dir", 0o755, 1000, 1000)


def test_existing_parents_are_left_alone(volume: FakeVolume, helper: FakeHelper) -> None:
    volume.add_dir("a", mode=0o750, uid=1234, gid=1234)
    volume.add_dir("a/b", mode=0o700, uid=1234, gid=1234)

    run(helper, [generated("a/b/new", b"x"), secret("a/b/key", b"k")])

    # No directory entry was sent for them: a different owner would have been replaced.
    assert metadata(volume, "a") == ("dir", 0o750, 1234, 1234)
    assert metadata(volume, "a/b") == ("dir", 0o700, 1234, 1234)


def test_an_existing_parent_becomes_private_when_it_directly_holds_a_secret(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    volume.add_dir(".config", uid=1234, gid=1234)
    volume.add_dir(".config/gh", mode=0o755)

    run(helper, [secret(".config/gh/hosts.yml", b"token")])

    assert metadata(volume, ".config/gh") == ("dir", 0o700, 1000, 1000)
    assert metadata(volume, ".config") == ("dir", 0o755, 1234, 1234)  # not its grandparent


def test_a_directory_candidate_is_created_with_its_own_mode(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    private = Candidate(".claude/skills", "dir", DIR_ENTRY, 0o750, T + 5, secret=True)

    run(helper, [private, generated(".claude/skills/x.md", b"x")])

    assert metadata(volume, ".claude/skills") == ("dir", 0o750, 1000, 1000)
    assert volume.nodes[".claude/skills"].mtime == T + 5  # set again once the stream ended
    assert metadata(volume, ".claude") == ("dir", 0o755, 1000, 1000)


# -- per-path failures -------------------------------------------------------------------------


class Shrinking:
    """Host content, except that ``path`` loses ``lost`` bytes between being sized and read."""

    def __init__(self, path: str, lost: int = 3) -> None:
        self.path, self.lost = path, lost

    @contextlib.contextmanager
    def open(self, candidate: Candidate) -> Iterator[tuple[BinaryIO, int]]:
        with HostFiles().open(candidate) as (handle, size):
            if candidate.path == self.path:
                yield io.BytesIO(handle.read()[: -self.lost]), size
            else:
                yield handle, size


def test_a_file_that_shrinks_while_read_fails_only_that_path(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [generated("b", b"old b"), generated("c", b"old c")])
    candidates = [
        generated("a", b"new a"),
        generated("b", b"new b, which shrinks"),
        generated("c", b"new c"),
        generated("d", b"new d"),
    ]

    _, outcome = run(helper, candidates, content=Shrinking("b"))

    assert outcome.failures == {"b": "changed while it was read (3 bytes short)"}
    assert volume.content("b") == b"old b"
    # The stream stayed in step: the files after the short one are whole.
    assert contents(volume, "acd") == {"a": b"new a", "c": b"new c", "d": b"new d"}
    assert read_state(helper, candidates).record["b"].sha256 == sha(b"old b")
    assert outcome.files_sent == 3


def test_a_new_file_that_fails_gets_no_parent_directories_either(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    candidates = [generated("new/dir/a", b"shrinks"), generated("other/b", b"b")]

    _, outcome = run(helper, candidates, content=Shrinking("new/dir/a"))

    assert set(outcome.failures) == {"new/dir/a"}
    assert "new" not in volume.nodes
    assert volume.content("other/b") == b"b"


def test_a_file_that_changed_since_it_was_checked_is_not_put_in_place(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    checked = generated("restored", b"what the archive holds now", sha256=sha(b"what was checked"))

    _, outcome = run(helper, [checked, generated("other", b"o")])

    assert outcome.failures == {"restored": "changed since it was checked (sha256 differs)"}
    assert "restored" not in volume.nodes
    assert volume.content("other") == b"o"


def test_an_unreadable_host_file_fails_only_that_path(
    volume: FakeVolume, helper: FakeHelper, isolated_env: Path
) -> None:
    gone = host_file(isolated_env, "gone", b"soon gone")
    (isolated_env / "gone").unlink()

    _, outcome = run(helper, [gone, generated("kept", b"k")])

    assert outcome.failures == {"gone": "no such file or directory"}
    assert "gone" not in volume.nodes
    assert volume.content("kept") == b"k"


# -- hard links (restore) ----------------------------------------------------------------------


def test_a_second_name_shares_the_staged_file_of_its_target(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    first = generated("a/first", b"shared")
    second = generated("z/second", b"", same_as="a/first")

    _, outcome = run(helper, [first, second])

    assert volume.same_file("a/first", "z/second")
    assert outcome.records["z/second"] == outcome.records["a/first"]
    assert outcome.files_sent == 1


def test_a_second_name_of_an_unchanged_file_links_to_the_file_in_place(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    run(helper, [generated("a/first", b"shared")])

    made, outcome = run(
        helper, [generated("a/first", b"shared"), generated("z/2", b"", same_as="a/first")]
    )

    assert actions(made) == {"a/first": "unchanged", "z/2": "add"}
    assert volume.same_file("a/first", "z/2")
    assert outcome.records["z/2"].sha256 == sha(b"shared")


def test_a_second_name_whose_target_is_missing_fails(
    volume: FakeVolume, helper: FakeHelper
) -> None:
    _, outcome = run(helper, [generated("z/2", b"", same_as="nowhere")])

    assert outcome.failures == {"z/2": "its hard-link target nowhere is missing"}
    assert "z/2" not in volume.nodes


# -- interrupted runs --------------------------------------------------------------------------


def base_volume() -> tuple[FakeVolume, list[Candidate]]:
    """A volume after one import, and a changed host: updates, adds, a secret, a conflict."""
    volume = FakeVolume("vol", clock=lambda: NOW)
    old = [
        generated(".gitconfig", b"[user] old\n"),
        secret(".config/gh/hosts.yml", b"old token"),
        generated(".claude/settings.json", b'{"old": 1}'),
        generated("same.txt", b"unchanged\n"),
    ]
    run(FakeHelper(volume), old)
    volume.add_file(".claude/settings.json", b'{"agent": 1}', mtime=T + 500)  # a conflict
    new = [
        generated(".gitconfig", b"[user] new, longer\n", mtime=T + 10),
        secret(".config/gh/hosts.yml", b"new token", mtime=T + 10),
        generated(".claude/settings.json", b'{"host": 2}', mtime=T + 10),
        generated("same.txt", b"unchanged\n"),
        generated("added/deep/file", b"added\n" * 200, mtime=T + 10),
        secret("added/key", b"k", mtime=T + 10),
    ]
    return volume, new


def contents(volume: FakeVolume, paths: Iterable[str]) -> dict[str, bytes | None]:
    return {p: volume.content(p) if p in volume.nodes else None for p in paths}


def test_an_interrupted_import_leaves_every_file_old_or_new_and_the_next_run_converges() -> None:
    base, new = base_volume()
    paths = [c.path for c in new]
    old = contents(base, paths)
    wanted = {c.path: c.content for c in new}
    made, state = plan_for(FakeHelper(base), new)
    chunks = list(stream.stream(made, state, OWNER, Outcome()))
    assert len(chunks) > 40

    for cut in range(len(chunks) + 1):
        volume = copy.deepcopy(base)
        helper = FakeHelper(volume)
        with contextlib.suppress(EngineError):
            helper.put(chunks[:cut])

        now = contents(volume, paths)
        torn = {p for p in paths if now[p] not in (old[p], wanted[p])}
        assert torn == set(), f"cut after {cut} chunks"
        read_state(helper, new)  # whatever the cut left, it can be read

        again, outcome = run(helper, new)
        conflicts = {i.path for i in again.items if i.action == "conflict"}
        # Only the agent's file may still be a conflict: containai knows its own files.
        assert conflicts <= {".claude/settings.json"}, f"cut after {cut} chunks"
        assert outcome.failures == {}
        assert contents(volume, paths) == wanted, f"cut after {cut} chunks"
        final = read_state(helper, new)
        assert {p: final.record[p].sha256 for p in paths} == {
            p: sha(content or b"") for p, content in wanted.items()
        }
        assert final.journal == {}
        assert b'{"agent": 1}' in backed_up(volume), f"cut after {cut} chunks"


def backed_up(volume: FakeVolume) -> list[bytes]:
    return [
        node.content
        for path, node in volume.nodes.items()
        if path.startswith(f"{BACKUP_DIR}/") and node.kind == "file"
    ]


def cut_after(chunks: list[bytes], name: str, *, with_data: bool) -> int:
    """How many chunks reach just past the member ``name`` (its header, data and padding)."""
    for number, chunk in enumerate(chunks):
        if len(chunk) == tarfile.BLOCKSIZE and chunk[:100].rstrip(b"\0") == name.encode():
            return number + (3 if with_data else 1)
    raise AssertionError(f"{name} is not in the stream")


def test_a_run_cut_twice_still_knows_its_files_through_the_carried_journal() -> None:
    volume = FakeVolume("vol", clock=lambda: NOW)
    helper = FakeHelper(volume)
    run(helper, [generated("f", b"v1"), generated("g", b"g1")])

    # Run 1 puts the new f in place and stops before it records it.
    made, state = plan_for(helper, [generated("f", b"v2, longer")])
    chunks = list(stream.stream(made, state, OWNER, Outcome()))
    helper.put(chunks[: cut_after(chunks, "f", with_data=False)])
    assert volume.content("f") == b"v2, longer"
    # The host changes again; run 2 stops right after carrying run 1's journal over.
    host = [generated("f", b"v3, longer still"), generated("g", b"g2")]
    made, state = plan_for(helper, host)
    assert actions(made) == {"f": "update", "g": "update"}
    chunks = list(stream.stream(made, state, OWNER, Outcome()))
    helper.put(chunks[: cut_after(chunks, CARRIED_FILE, with_data=True)])
    left = read_state(helper, host)
    assert left.record["f"].sha256 == sha(b"v1")  # not what f holds...
    assert left.journal["f"].sha256 == sha(b"v2, longer")  # ...but the journal knows it

    made, outcome = run(helper, host)

    assert actions(made) == {"f": "update", "g": "update"}  # no conflict, no backup
    assert outcome.backups == []
    assert contents(volume, ["f", "g"]) == {"f": b"v3, longer still", "g": b"g2"}
