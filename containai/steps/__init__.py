"""The steps workflows are made of, found by name.

A step is a function ``step(run, **options)`` declared with ``@step(needs=..., gives=...)``;
the registry is an explicit table (as pre-commit keeps its languages), so every step a
workflow file can name is listed here and greppable.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, MutableMapping

from containai.workflow.loader import StepDef


class _Registry(MutableMapping[str, StepDef]):
    """Step name -> step; a module is imported when a workflow names one of its steps, so that
    `cai import` never loads the container steps (nor what they import). A step can be set
    (tests replace one), which then wins over its place."""

    def __init__(self, places: dict[str, str]) -> None:
        self._places = places  # name -> "module:function" below containai.steps
        self._steps: dict[str, StepDef] = {}  # loaded or set

    def __getitem__(self, name: str) -> StepDef:
        if name not in self._steps:
            module, _, function = self._places[name].partition(":")
            self._steps[name] = getattr(
                importlib.import_module(f"containai.steps.{module}"), function
            )
        return self._steps[name]

    def __setitem__(self, name: str, step: StepDef) -> None:
        self._steps[name] = step

    def __delitem__(self, name: str) -> None:
        self._places.pop(name, None)
        self._steps.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._places | dict.fromkeys(self._steps, ""))

    def __len__(self) -> int:
        return len(self._places.keys() | self._steps.keys())


REGISTRY: MutableMapping[str, StepDef] = _Registry(
    {
        "resolve_volume": "volume:resolve_volume",
        "reset_volume": "volume:reset_volume",
        "lock_volume": "volume:lock_volume",
        "open_volume": "volume:open_volume",
        "read_volume": "volume:read_volume",
        "scan_host": "importing:scan_host",
        "plan_import": "importing:plan_import",
        "apply_import": "importing:apply_import",
        "check_archive": "restoring:check_archive",
        "plan_restore": "restoring:plan_restore",
        "apply_restore": "restoring:apply_restore",
        "report_import": "reporting:report_import",
        "write_export": "exporting:write_export",
        "verify_export": "exporting:verify_export",
        "find_container": "containers:find_container",
        "run_container": "containers:run_container",
        "shell_container": "containers:shell_container",
        "stop_container": "containers:stop_container",
        "reload_container": "syncing:reload_container",
        "sync_container": "syncing:sync_container",
        "sync_here": "syncing:sync_here",
        "compare_volume": "inspecting:compare_volume",
        "report_status": "inspecting:report_status",
        "show_diff": "inspecting:show_diff",
    }
)
