"""`cai ls`: every volume and container containai manages on this engine, found by their labels
(``containai.managed=true``), with the workspace each belongs to.

A volume that is not the one its workspace uses now is marked: ``cai run --reset`` leaves the
old one behind (and so does an import with ``--data-volume``). The time of the last import is
not shown: it lives inside the volume (``.containai/state.json``), and reading it would take a
helper container per volume, while volume labels cannot change after creation; ``cai status``
shows it for one workspace. Sizes are asked for only with ``--size``: the engine walks every
volume to count them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from containai import labels, workspaces
from containai.errors import ContainAIError
from containai.ui import UI, human_bytes

if TYPE_CHECKING:
    from containai.engine import ContainerInfo, Engine
    from containai.engine.volumes import ListedVolume

MANAGED = {labels.MANAGED: "true"}


@dataclass(frozen=True)
class ManagedVolume:
    name: str
    workspace: str  # "" when the volume has no workspace label
    created: str
    # Whether the workspace uses this volume now; None when that cannot be told (the workspace
    # directory is gone, or its settings do not load).
    current: bool | None
    workspace_exists: bool
    containers: tuple[str, ...]  # the agent containers that name it as their data volume
    size: int | None = None

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "workspace": self.workspace or None,
            "workspace_exists": self.workspace_exists,
            "current": self.current,
            "created": self.created or None,
            "containers": list(self.containers),
        }
        if self.size is not None:
            document["size"] = self.size
        return document


@dataclass(frozen=True)
class ManagedContainer:
    name: str
    state: str
    workspace: str
    volume: str

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "workspace": self.workspace or None,
            "volume": self.volume or None,
        }


def agent_containers(engine: Engine) -> list[ManagedContainer]:
    """containai's agent containers (not its helpers and locks), in any state."""
    found: list[ContainerInfo] = engine.containers_labelled(MANAGED)
    return sorted(
        (
            ManagedContainer(
                name=info.name,
                state=info.state,
                workspace=info.labels.get(labels.WORKSPACE, ""),
                volume=info.labels.get(labels.VOLUME, ""),
            )
            for info in found
            if labels.ROLE not in info.labels
        ),
        key=lambda c: (c.workspace, c.name),
    )


def managed_volumes(
    engine: Engine, containers: list[ManagedContainer], *, sizes: bool
) -> list[ManagedVolume]:
    listed: list[ListedVolume] = engine.volumes_labelled(MANAGED)
    measured = engine.volume_sizes() if sizes else {}
    current = {workspace: _current_volume(workspace) for workspace in _workspaces(listed)}
    result = []
    for volume in listed:
        workspace = volume.labels.get(labels.WORKSPACE, "")
        now = current.get(workspace)
        result.append(
            ManagedVolume(
                name=volume.name,
                workspace=workspace,
                created=volume.created,
                current=None if now is None else now == volume.name,
                workspace_exists=bool(workspace) and _is_dir(Path(workspace)),
                containers=tuple(c.name for c in containers if c.volume == volume.name),
                size=measured.get(volume.name) if sizes else None,
            )
        )
    return sorted(result, key=lambda v: (v.workspace, not v.current, v.created, v.name))


def _is_dir(path: Path) -> bool:
    """A label can name anyone's directory: one this user may not look into counts as absent
    (Path.is_dir raises PermissionError for it)."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _workspaces(volumes: list[ListedVolume]) -> set[str]:
    return {v.labels[labels.WORKSPACE] for v in volumes if v.labels.get(labels.WORKSPACE)}


def _current_volume(workspace: str) -> str | None:
    """The volume a command run in ``workspace`` would use now (its settings, the volume
    ``--reset`` recorded, else the derived name), as ``cai config`` shows it."""
    from containai import project, settings

    path = Path(workspace)
    if not path.is_absolute() or not _is_dir(path):
        return None
    try:
        loaded = settings.load(path, project=project.load(path))
        return workspaces.resolve_name(None, loaded.get_str("data_volume"), path)
    except (ContainAIError, OSError):  # someone else's workspace: not ours to read
        return None


def show(ui: UI, volumes: list[ManagedVolume], containers: list[ManagedContainer]) -> None:
    """A table of the volumes (and of the containers whose volume is gone), or JSON."""
    if ui.json_output:
        ui.emit_json(
            {
                "command": "ls",
                "volumes": [v.to_json() for v in volumes],
                "containers": [c.to_json() for c in containers],
            }
        )
        return
    states = {c.name: c.state for c in containers}
    sized = any(v.size is not None for v in volumes)
    rows = [["VOLUME", "WORKSPACE", "CONTAINER", "CREATED", *(["SIZE"] if sized else []), ""]]
    for volume in volumes:
        running = ", ".join(f"{name} ({states.get(name, '?')})" for name in volume.containers)
        size = [human_bytes(volume.size) if volume.size is not None else "?"] if sized else []
        rows.append(
            [
                volume.name,
                volume.workspace or "-",
                running or "-",
                volume.created[:16].replace("T", " ") or "-",
                *size,
                _note(volume),
            ]
        )
    known = {v.name for v in volumes}
    for container in containers:
        if container.volume not in known:
            note = "its volume is gone" if container.volume else "no data volume label"
            place = [container.workspace or "-", f"{container.name} ({container.state})"]
            rows.append([container.volume or "-", *place, "-", *([""] if sized else []), note])
    if len(rows) == 1:
        ui.note("containai manages no volume or container on this engine")
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        ui.line("  ".join([*cells, row[-1]]).rstrip())


def _note(volume: ManagedVolume) -> str:
    if volume.workspace and not volume.workspace_exists:
        return "workspace directory gone"
    if volume.current is False:
        return "not the workspace's current volume (--reset leaves the old one)"
    return ""


def ls(*, sizes: bool, json_output: bool) -> None:
    from containai import project, settings
    from containai.engine import Engine

    ui = UI(json_output=json_output)
    # The engine settings (engine.timeout, engine.ssh_client) as every other command reads them.
    loaded = settings.load(Path.cwd(), project=project.load(Path.cwd()))
    engine = Engine.from_settings(loaded)
    try:
        containers = agent_containers(engine)
        show(ui, managed_volumes(engine, containers, sizes=sizes), containers)
    finally:
        engine.close()
