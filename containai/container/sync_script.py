"""The in-container sync: one POSIX shell script, rendered with the manifest baked in.

The same script runs at container start (``cai run``), from the host through the engine's exec
API (``cai sync --container``, hot-reload import) and inside a container (``cai sync``). It
prints one tab-separated line per entry; ``parse`` turns that into a report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jinja2

from containai import __version__, render
from containai.host.manifest import Entry

DRY_RUN_VARIABLE = "CONTAINAI_SYNC_DRY_RUN"
NOT_MOUNTED_EXIT = 3


@dataclass(frozen=True)
class SyncLine:
    action: str  # moved, linked, skipped, failed
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
            "entries": [
                {"action": e.action, "path": e.path, "detail": e.detail} for e in self.lines
            ],
        }


def linked_entries(entries: Iterable[Entry]) -> list[dict[str, str]]:
    rows = []
    for entry in entries:
        if not entry.enabled or entry.link is None:
            continue
        if any(c in text for text in (entry.link, entry.target) for c in "\t\n"):
            continue  # cannot be expressed in the script's table (and no sane path has them)
        rows.append(
            {
                "kind": entry.kind,
                "link": entry.link,
                "target": entry.target,
                "placeholder": _placeholder(entry),
            }
        )
    return rows


def _placeholder(entry: Entry) -> str:
    if entry.is_dir:
        return "dir"
    if entry.json:
        return "json-secret" if entry.secret else "json"
    return "secret" if entry.secret or entry.credential else "file"


def script(env: jinja2.Environment, entries: Iterable[Entry], *, data_mount: str, home: str) -> str:
    return render.render(
        env,
        "sync.sh.j2",
        version=__version__,
        data_mount=data_mount,
        home=home,
        entries=linked_entries(entries),
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
        elif len(parts) == 3 and parts[0] in ("moved", "linked", "skipped", "failed"):
            report.lines.append(SyncLine(*parts))
        elif raw.strip():
            report.messages.append(raw.strip())
    return report
