"""containai.steps.reporting: what an import prints by default, with --verbose and --quiet; the
summary's counts are those of the lines printed (and of what it says it left out)."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from containai import settings
from containai.host.candidates import Candidate
from containai.host.manifest import Entry
from containai.steps.reporting import report_import
from containai.transfer import plan
from containai.transfer.plan import Item, Plan
from containai.ui import UI
from containai.workflow.run import ImportOptions, Run


def entry(tool: str, source: str) -> Entry:
    return Entry(tool=tool, source=source, kind="file", target=source, link=source, origin="t")


def item(tool: str, path: str, action: str, *, placeholder: bool = False) -> Item:
    candidate = Candidate(path, "file", entry(tool, path), 0o644, 0.0, placeholder=placeholder)
    detail = "no source on the host" if placeholder else ""
    return Item(path, action, "file", size=3, detail=detail, candidate=candidate)


def skipped(path: str) -> Item:
    return Item(path, "skip:missing", "file", detail="no source")


# A home with claude and git, not codex: 2 adds, 1 update, a placeholder of a tool the host has
# (claude) and two of one it does not (codex), unchanged paths and skipped ones.
ITEMS = [
    item("git", ".gitconfig", plan.ADD),
    item("claude", ".claude/settings.json", plan.ADD),
    item("claude", ".claude/CLAUDE.md", plan.UPDATE),
    item("claude", ".claude.json", plan.PLACEHOLDER, placeholder=True),
    item("codex", ".codex/auth.json", plan.PLACEHOLDER, placeholder=True),
    item("codex", ".codex/skills", plan.PLACEHOLDER, placeholder=True),
    item("git", ".gitignore_global", plan.UNCHANGED),
    Item(".claude", plan.UNCHANGED, "dir"),
    skipped(".zshrc"),
    skipped(".vimrc"),
    skipped(".aider.conf.yml"),
]


def reported(
    isolated_env: Path, items: list[Item], *, dry_run: bool = True, **ui: bool
) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    run = Run(
        "import",
        settings.load(isolated_env),
        ImportOptions(dry_run=dry_run),
        UI(out=out, err=err, **ui),
        home=isolated_env,
        user_dir=isolated_env,
    )
    run.plan = Plan("vol", True, items)
    run.outcome = None
    report_import(run)
    return out.getvalue(), err.getvalue()


def actions(out: str) -> list[str]:
    return [line.split()[0] for line in out.splitlines()[1:-1]]


def summary_count(out: str, name: str) -> int:
    found = re.search(rf"(\d+) {name}\b", out.splitlines()[-1])
    assert found, out
    return int(found.group(1))


def test_by_default_only_changes_and_the_host_s_tools_placeholders_are_listed(
    isolated_env: Path,
) -> None:
    out, _ = reported(isolated_env, ITEMS)

    assert actions(out) == ["add", "add", "update", "placeholder"]
    assert ".claude.json" in out
    assert ".codex" not in out.split("\n", 1)[1].rsplit("\n", 2)[0]
    assert "skip:" not in out


def test_the_summary_counts_the_lines_and_what_it_left_out(isolated_env: Path) -> None:
    out, _ = reported(isolated_env, ITEMS)

    listed = actions(out)
    assert summary_count(out, "added") == listed.count("add") == 2
    assert summary_count(out, "updated") == listed.count("update") == 1
    assert summary_count(out, "placeholders") == listed.count("placeholder") == 1
    last = out.splitlines()[-1]
    assert "not listed: 2 placeholders for tools not on this host, 1 unchanged, 3 skipped" in last
    assert "--verbose" in last


def test_verbose_lists_everything_it_counts(isolated_env: Path) -> None:
    out, _ = reported(isolated_env, ITEMS, verbose=True)

    listed = actions(out)
    assert listed.count("skip:missing") == summary_count(out, "skipped") == 3
    assert listed.count("unchanged") == summary_count(out, "unchanged") == 1
    assert listed.count("placeholder") == 3
    assert "not listed" not in out


def test_a_real_run_lists_its_changes_too(isolated_env: Path) -> None:
    out, _ = reported(isolated_env, ITEMS, dry_run=False)
    assert [line.split()[0] for line in out.splitlines()[:-1]] == [
        "add",
        "add",
        "update",
        "placeholder",
    ]
    assert out.splitlines()[-1].startswith("imported into vol: 2 added, 1 updated")


def test_quiet_prints_nothing_when_all_went_well(isolated_env: Path) -> None:
    assert reported(isolated_env, ITEMS, quiet=True) == ("", "")


def test_quiet_still_says_errors(isolated_env: Path) -> None:
    failing = Item(".gitconfig", plan.ERROR, "file", detail="permission denied")

    out, err = reported(isolated_env, [*ITEMS, failing], quiet=True)

    assert out == ""
    assert err == "cai: error: .gitconfig: permission denied\n"


def test_an_error_is_listed_and_counted_as_failed(isolated_env: Path) -> None:
    failing = Item(".gitconfig", plan.ERROR, "file", detail="permission denied")
    out, _ = reported(isolated_env, [failing])
    assert "error           .gitconfig  (permission denied)" in out
    assert summary_count(out, "failed") == 1


def test_an_action_the_report_does_not_know_is_counted_by_its_name(isolated_env: Path) -> None:
    out, _ = reported(isolated_env, [Item(".x", "skim", "file", detail="a future action")])
    assert "not listed: 1 skim" in out


def test_what_replace_keeps_on_purpose_is_listed_and_counted(isolated_env: Path) -> None:
    kept = Item(".config/gh/hosts.yml", "keep", "file", detail="not in archive: secret")
    out, _ = reported(isolated_env, [kept])
    assert "keep            .config/gh/hosts.yml  (not in archive: secret)" in out
    assert "1 kept (not in the archive on purpose)" in out


@pytest.mark.parametrize("dry_run", [True, False])
def test_the_json_document_is_versioned_and_lists_every_item(
    isolated_env: Path, dry_run: bool
) -> None:
    out, _ = reported(isolated_env, ITEMS, dry_run=dry_run, json_output=True)

    document = json.loads(out)
    assert document["version"] == 1
    assert [i["path"] for i in document["items"]] == [i.path for i in ITEMS]
