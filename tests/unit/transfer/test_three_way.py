"""Three-way import over the fake engine: the plan keeps a change made on one side only, and
reads of the volume are limited to containai's records and the paths the host changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from containai.host.candidates import Candidate, HostScan
from containai.transfer import partial_read, plan, stream
from containai.transfer.plan import Plan
from containai.transfer.records import records_after
from containai.transfer.stream import Outcome
from containai.transfer.volume_state import (
    JOURNAL_FILE,
    STATE_FILE,
    Record,
    Shape,
    VolumeState,
    encode_records,
)
from tests.fakes.engine import FakeHelper, FakeVolume
from tests.unit.transfer.test_stream import (
    DIR_ENTRY,
    OWNER,
    T,
    generated,
    host_digest,
    host_file,
    read_state,
    sha,
)

RECORDS = [("head", ".containai/staging"), ("get", STATE_FILE)]


def three_way(helper: FakeHelper, candidates: list[Candidate], **extra: bool) -> Plan:
    """One import as read_volume + plan_import + apply_import do it (deletions aside)."""
    scan = HostScan(list(candidates))
    state = partial_read.read_records(helper.get_if_present, helper.stat)
    if STATE_FILE not in state.files or extra.get("three_way") is False:  # new, or --force
        state = read_state(helper, candidates)
    else:
        paths = plan.needed(scan, state, host_digest, ())
        listable = {c.path.rpartition("/")[0] for c in candidates if "/" in c.path}
        partial_read.read_paths(state, paths, listable, helper.get_if_present, helper.stat)
    made = plan.make("vol", scan, state, on_conflict="backup", host_digest=host_digest, **extra)
    if records_after(made, state) != (state.record, state.shapes) or any(
        i.writes for i in made.items
    ):
        helper.put(stream.stream(made, state, OWNER, Outcome()))
    return made


def actions(made: Plan) -> dict[str, str]:
    return {item.path: item.action for item in made.items}


@pytest.fixture
def imported(helper: FakeHelper, isolated_env: Path) -> list[Candidate]:
    candidates = [
        host_file(isolated_env, ".claude/settings.json", b'{"a": 1}\n'),
        host_file(isolated_env, ".claude/skills/x.md", b"x\n"),
        generated(".gitconfig", b"[user]\n"),
        Candidate(".claude/skills", "dir", DIR_ENTRY, 0o755, T),
        Candidate(".claude/current", "symlink", DIR_ENTRY, 0o777, T, linkname="skills"),
    ]
    three_way(helper, candidates)
    helper.requests.clear()
    return candidates


def test_a_no_op_reads_the_records_and_nothing_else_and_sends_nothing(
    helper: FakeHelper, imported: list[Candidate]
) -> None:
    made = three_way(helper, imported)

    assert set(actions(made).values()) == {"unchanged"}
    assert helper.requests == RECORDS
    assert helper.puts == 1  # the first import's only


def test_the_base_records_modes_and_the_shapes_of_directories_and_symlinks(
    helper: FakeHelper, imported: list[Candidate]
) -> None:
    state = partial_read.read_records(helper.get_if_present, helper.stat)

    assert state.shapes == {
        ".claude/skills": Shape("dir", 0o755),
        ".claude/current": Shape("symlink", 0, "skills"),
    }
    assert {path: r.mode for path, r in state.record.items()} == {
        ".claude/settings.json": 0o644,
        ".claude/skills/x.md": 0o644,
        ".gitconfig": 0o644,
    }


def test_an_agent_edit_is_kept_and_force_backs_it_up(
    volume: FakeVolume, helper: FakeHelper, imported: list[Candidate]
) -> None:
    volume.add_file(".claude/settings.json", b'{"agent": 1}\n', mtime=T + 99)

    kept = three_way(helper, imported)
    forced = three_way(helper, imported, three_way=False)

    assert actions(kept)[".claude/settings.json"] == "unchanged"
    assert [(i.action, i.resolution) for i in forced.items if i.path.endswith("settings.json")] == [
        ("conflict", "backup")
    ]
    assert volume.content(".claude/settings.json") == b'{"a": 1}\n'
    [backup] = [p for p in volume.nodes if p.startswith(".containai/backups/") and "json" in p]
    assert volume.content(backup) == b'{"agent": 1}\n'


def test_a_host_change_reads_only_its_path_and_parents(
    helper: FakeHelper, imported: list[Candidate], isolated_env: Path
) -> None:
    changed = host_file(isolated_env, ".claude/skills/x.md", b"x2\n", mtime=T + 5)
    candidates = [changed if c.path == changed.path else c for c in imported]

    made = three_way(helper, candidates)

    assert actions(made)[".claude/skills/x.md"] == "update"
    looked_at = [path for _, path in helper.requests[len(RECORDS) :]]
    assert looked_at == [".claude", ".claude/skills", ".claude/skills/x.md"]


def test_a_same_second_agent_edit_of_another_size_is_seen(
    volume: FakeVolume, helper: FakeHelper, imported: list[Candidate], isolated_env: Path
) -> None:
    written = volume.nodes[".claude/skills/x.md"].mtime
    volume.add_file(".claude/skills/x.md", b"agent!\n", mtime=written)
    changed = host_file(isolated_env, ".claude/skills/x.md", b"host\n", mtime=T + 5)
    candidates = [changed if c.path == changed.path else c for c in imported]

    made = three_way(helper, candidates)

    assert actions(made)[".claude/skills/x.md"] == "conflict"


def test_a_touched_host_file_is_hashed_once_and_then_quick_again(
    helper: FakeHelper, imported: list[Candidate], isolated_env: Path
) -> None:
    touched = host_file(isolated_env, ".claude/skills/x.md", b"x\n", mtime=T + 7.5)
    candidates = [touched if c.path == touched.path else c for c in imported]

    three_way(helper, candidates)
    state = partial_read.read_records(helper.get_if_present, helper.stat)

    assert state.record[".claude/skills/x.md"].source_mtime == T + 7.5
    assert helper.requests[len(RECORDS) :] == RECORDS  # nothing but the records read after


def test_many_changes_below_a_synced_directory_are_read_with_one_listing(
    helper: FakeHelper, isolated_env: Path
) -> None:
    first = [host_file(isolated_env, f"skills/s{n}.md", b"1\n") for n in range(20)]
    three_way(helper, first)
    helper.requests.clear()
    second = [host_file(isolated_env, f"skills/s{n}.md", b"22\n", mtime=T + 9) for n in range(20)]

    made = three_way(helper, second)

    assert set(actions(made).values()) == {"update"}
    assert helper.requests[len(RECORDS) :] == [("get", "skills")]


def test_a_parent_the_agent_replaced_by_a_file_is_found_without_an_engine_error(
    volume: FakeVolume, helper: FakeHelper, imported: list[Candidate], isolated_env: Path
) -> None:
    volume.add_file(".claude/skills", b"mine\n", mtime=T + 50)  # the folder is gone
    changed = host_file(isolated_env, ".claude/skills/x.md", b"x2\n", mtime=T + 5)
    candidates = [changed if c.path == changed.path else c for c in imported]

    made = three_way(helper, candidates)

    assert actions(made)[".claude/skills/x.md"] == "conflict"
    assert volume.content(".claude/skills") == b"mine\n"


def test_a_record_without_modes_is_completed_by_the_next_import(
    helper: FakeHelper, imported: list[Candidate]
) -> None:
    state: VolumeState = partial_read.read_records(helper.get_if_present, helper.stat)
    old = {
        path: r.__class__(r.size, r.mtime, r.sha256, r.source_mtime)
        for path, r in state.record.items()
    }
    helper.volume.add_file(STATE_FILE, stream.encode_records(old), mtime=T + 1)

    three_way(helper, imported)
    helper.requests.clear()
    three_way(helper, imported)

    assert helper.requests == RECORDS


def test_a_file_an_interrupted_run_put_in_place_is_looked_at_and_set_back(
    volume: FakeVolume, helper: FakeHelper, imported: list[Candidate]
) -> None:
    # An import of another version was cut after linking .gitconfig: the record still says
    # the old content, the journal the new one, and the volume holds the new one.
    interrupted = Record(6, T + 30, sha(b"[new]\n"), mode=0o644)
    volume.add_file(".gitconfig", b"[new]\n", mtime=T + 30)
    volume.remove(".containai/staging")
    volume.add_file(JOURNAL_FILE, encode_records({".gitconfig": interrupted}))

    made = three_way(helper, imported)  # the host is back to the recorded version

    assert actions(made)[".gitconfig"] == "update"
    assert volume.content(".gitconfig") == b"[user]\n"
