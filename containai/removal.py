"""`cai rm`: remove a workspace's agent container and/or a named containai volume.

Only what carries ``containai.managed=true`` is ever removed. A volume goes under its lock (no
other cai command is working on it), and never while a container uses it: a running one is
refused outright, a stopped one is named (remove it first, or with it: ``cai rm WORKSPACE
--volume NAME``). Nothing is removed without ``--yes`` or a "y" typed on a terminal.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from containai import labels, workspaces
from containai.errors import ContainAIError, NotFoundError, UsageError
from containai.inventory import MANAGED
from containai.printable import printable
from containai.ui import UI

if TYPE_CHECKING:
    from containai.engine import ContainerInfo, Engine
    from containai.settings import Settings


def rm(*, workspace: str | None, volume: str | None, yes: bool, json_output: bool) -> None:
    """Remove the workspace's container (when a workspace is named, or nothing else is) and
    the volume named by ``volume``."""
    from containai import project, settings
    from containai.engine import Engine

    ui = UI(json_output=json_output)
    loaded = settings.load(Path.cwd(), project=project.load(Path.cwd()))
    engine = Engine.from_settings(loaded)
    try:
        containers: list[ContainerInfo] = []
        if workspace is not None or volume is None:
            path = _workspace(engine, workspace)
            containers = engine.containers_labelled({**MANAGED, labels.WORKSPACE: str(path)})
            containers = [c for c in containers if labels.ROLE not in c.labels]
            if not containers and volume is None:
                raise NotFoundError(f"no containai container for workspace {path}")
        if volume is not None:
            _check_volume(engine, volume)
            # Before anything is removed: a volume another running container uses stays, and
            # so does everything else this call would have removed.
            ours = {c.id for c in containers}
            for user in engine.containers_mounting(volume):
                if user.state == "running" and user.id not in ours:
                    raise ContainAIError(_in_use(volume, user.name))
        what = [f"container {c.name} ({c.state})" for c in containers]
        what += [f"volume {volume} and all it holds"] if volume else []
        confirm(ui, what, yes)
        for container in containers:
            if container.state == "running":
                engine.stop(container.id)
            engine.remove(container.id)
            ui.note(f"removed container {container.name}")
        if volume is not None:
            _remove_volume(engine, volume, loaded, ui)
            ui.note(f"removed volume {volume}")
    finally:
        engine.close()
    ui.emit_json(
        {
            "command": "rm",
            "removed": {"containers": [c.name for c in containers], "volume": volume},
        }
    )


def _workspace(engine: Engine, given: str | None) -> Path:
    """The workspace named (it may be gone: removing what it left is the point), else the one
    the current directory lies in (nested workspaces, as every command finds it)."""
    if given is not None:
        return Path(given).expanduser().resolve()
    here = Path.cwd().resolve()
    return workspaces.nearest_registered(here, engine.known_workspaces()) or here


def _check_volume(engine: Engine, name: str) -> None:
    workspaces.validate_name(name)
    found = engine.volume(name)
    if found is None:
        raise NotFoundError(f"volume {name} not found")
    if found.labels.get(labels.MANAGED) != "true":
        raise UsageError(
            f"volume {name} is not managed by containai (no {labels.MANAGED}=true label): "
            "not removed"
        )


def confirm(ui: UI, what: list[str], yes: bool) -> None:
    """Go on only with ``yes`` or a "y" typed on a terminal; without a terminal to ask, a usage
    error naming what would have been removed."""
    listed = printable("; ".join(what))  # names from the engine: anyone's labels
    if yes:
        return
    if not (sys.stdin.isatty() and ui.err.isatty()):
        raise UsageError(f"would remove {listed}: confirm with --yes (no terminal to ask)")
    ui.err.write(f"remove {listed}? [y/N] ")
    ui.err.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise ContainAIError("nothing removed")


def _remove_volume(engine: Engine, name: str, loaded: Settings, ui: UI) -> None:
    from containai.locking import volume_lock

    with volume_lock(
        engine,
        name,
        command="rm",
        timeout=loaded.get_int("lock.timeout"),
        stale_after=loaded.get_int("lock.stale_after"),
        on_wait=ui.note,
        on_break=ui.warn,
    ):
        engine.remove_stale_helpers(name)  # left by killed commands: ours to clean up
        users = engine.containers_mounting(name)
        running = [c for c in users if c.state == "running"]
        if running:
            raise ContainAIError(_in_use(name, running[0].name))
        helpers = [c for c in users if c.labels.get(labels.ROLE) == labels.HELPER]
        if helpers:
            raise ContainAIError(
                f"volume {name} is being read by another cai command: not removed (try again)"
            )
        if users:
            names = ", ".join(f"{c.name} ({c.state})" for c in users)
            raise ContainAIError(
                f"volume {name} is used by the container {names}: not removed (remove that "
                "first; 'cai rm WORKSPACE --volume NAME' removes both)"
            )
        engine.remove_volume(name)


def _in_use(volume: str, container: str) -> str:
    return (
        f"volume {volume} is used by the running container {container}: not removed "
        f"(stop it first: cai stop --container {shlex.quote(container)})"
    )
