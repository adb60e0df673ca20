"""The in-container sync: one POSIX shell script, rendered with the manifest baked in.

The same script runs at container start (``cai run``), from the host through the engine's exec
API (``cai sync --container``, hot-reload import) and inside a container (``cai sync``). It
prints one tab-separated line per entry; ``parse`` turns that into a report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jinja2

from containai import __version__, render
from containai.host.manifest import Entry

DRY_RUN_VARIABLE = "CONTAINAI_SYNC_DRY_RUN"
START_VARIABLE = "CONTAINAI_SYNC_START"
_ACTIONS = frozenset(
    {"moved", "linked", "kept", "skipped", "failed", "would move", "would link", "would keep"}
)
NOT_MOUNTED_EXIT = 3
_PAST = {"would move": "moved", "would link": "linked", "would keep": "kept"}


@dataclass(frozen=True)
class SyncLine:
    action: str  # moved, linked, kept, skipped, failed (or "would ..." in a dry run)
    path: str
    detail: str


@dataclass
class SyncReport:
    exit_code: int
    lines: list[SyncLine] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    messages: list[str] = field(default_factory=list)  # anything else the script printed

    @property
    def changed(self) -> int:
        return self.counts["moved"] + self.counts["linked"]

    def to_json(self) -> dict[str, Any]:
        return {
            "exit_code": self.exit_code,
            "counts": {
                k: self.counts[k] for k in ("moved", "linked", "unchanged", "skipped", "failed")
            },
            # One vocabulary whatever the mode (the document's dry_run says which): "would
            # move" is for people.
            "entries": [
                {"action": _PAST.get(e.action, e.action), "path": e.path, "detail": e.detail}
                for e in self.lines
            ],
        }


def linked_entries(
    entries: Iterable[Entry], opted_in: Iterable[str] = (), secret: Callable[[str], bool] = bool
) -> list[dict[str, str]]:
    """The script's table: every enabled entry with a link, then what is linked only when the
    volume holds it (entries the user opted into, additional paths)."""
    rows, seen = [], set()
    for entry in entries:
        if entry.link is None or not (entry.enabled or entry.source in opted_in):
            continue
        when = "always" if entry.enabled else "present"
        rows.append(_row(entry.kind, entry.link, entry.target, when, secret(entry.target)))
        seen.add(entry.link)
    for path in opted_in:
        if path not in seen:
            rows.append(_row("any", path, path, "present", secret(path)))
    # A tab or newline cannot be expressed in the script's report (and no sane path has one).
    return [row for row in rows if not any(c in row["link"] + row["target"] for c in "\t\n")]


def _row(kind: str, link: str, target: str, when: str, private: bool) -> dict[str, str]:
    return {
        "kind": kind,
        "link": link,
        "target": target,
        "when": when,
        "private": str(int(private)),
    }


def script(
    env: jinja2.Environment,
    entries: Iterable[Entry],
    *,
    data_mount: str,
    home: str,
    opted_in: Iterable[str] = (),
    secret: Callable[[str], bool] = bool,
) -> str:
    return render.render(
        env,
        "sync.sh.j2",
        version=__version__,
        data_mount=data_mount,
        home=home,
        entries=linked_entries(entries, opted_in, secret),
    )


def parse(exit_code: int, output: str) -> SyncReport:
    report = SyncReport(exit_code)
    for raw in output.splitlines():
        parts = raw.split("\t")
        if len(parts) == 3 and parts[0] == "summary":
            for pair in parts[2].split():
                key, _, value = pair.partition("=")
                if value.isdigit():
                    report.counts[key] = int(value)
        elif len(parts) == 3 and parts[0] in _ACTIONS:
            report.lines.append(SyncLine(*parts))
        elif raw.strip():
            report.messages.append(raw.strip())
    return report
