"""Run a named workflow for a command: settings, the run state, the steps, cleanup, exit code."""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

from containai import labels, paths, settings, workspaces
from containai import project as projects
from containai.engine import Engine
from containai.errors import EngineError, Terminated, UsageError
from containai.project import ProjectLayer
from containai.settings import Settings
from containai.steps import REGISTRY
from containai.ui import UI
from containai.workflow import loader
from containai.workflow.run import Options, Run

# Workflows that find their workspace without an engine (the in-container sync, verify).
_NO_ENGINE = frozenset({"sync", "verify"})


def run_workflow(
    name: str,
    *,
    options: Options,
    workspace: str | None,
    config: str | None,
    verbose: bool = False,
    json_output: bool = False,
) -> int:
    """Load settings and the workflow (validating both), run it, and return the exit code."""
    ui = UI(verbose=verbose, json_output=json_output)
    config_file = Path(config) if config else None
    user_dir = paths.user_config_dir()
    engine = Engine.connect() if options.container else None
    path = _workspace(workspace, options, engine)
    # Bad settings and workflow files stop the command before it waits for an engine.
    project, loaded, chosen = _prepare(name, path, config_file, user_dir, type(options))
    unreachable: EngineError | None = None
    if engine is None and name not in _NO_ENGINE:
        try:
            engine = Engine.from_settings(loaded)
        except EngineError as error:
            # Said by the first step that needs the engine: a workflow that needs none (a
            # team's scan-only one) and bad input found before still work without it.
            unreachable = error
        else:
            nested = _nested(path, workspace, options, engine, ui)
            if nested != path:
                path = nested
                project, loaded, chosen = _prepare(name, path, config_file, user_dir, type(options))
    for warning in filter(None, [project.warning(), *loaded.warnings]):
        ui.warn(warning)
    run = Run(
        command=name,
        settings=loaded,
        options=options,
        ui=ui,
        home=Path(os.environ.get("HOME") or Path.home()),
        user_dir=user_dir,
        project=project,
        engine=engine,
        unreachable=unreachable,
    )
    with _terminate_as_interrupt(), _close_uninterrupted(run.stack):
        loader.run(chosen, run)
    return run.exit_code


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises Terminated, so that it cleans up exactly as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminated(*_: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _close_uninterrupted(stack: contextlib.ExitStack) -> Iterator[None]:
    """Close ``stack`` (helpers, the lock) with SIGINT and SIGTERM held: a second Ctrl-C must
    not cut the clean-up of the first short. A held signal is delivered right after."""
    error: BaseException | None = None
    try:
        yield
    except BaseException as caught:
        error = caught
        raise
    finally:
        held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        try:
            if error is None:
                stack.close()
            else:
                stack.__exit__(type(error), error, error.__traceback__)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, held)


def _prepare(
    name: str, path: Path, config_file: Path | None, user_dir: Path, options: type[Options]
) -> tuple[ProjectLayer, Settings, loader.Workflow]:
    """The project layer, the settings and the workflow of ``path``, each checked whole."""
    project = projects.load(path)  # read once: what the user trusted is what runs
    loaded = settings.load(path, config_file=config_file, project=project)
    return (
        project,
        loaded,
        loader.load(name, loader.search_path(project, user_dir), REGISTRY, options),
    )


def _workspace(given: str | None, options: Options, engine: Engine | None) -> Path:
    """The workspace as given, else the one of ``--container`` (its label, when that directory
    exists here, so that its settings and manifests apply), else the current directory."""
    if given is None and engine is not None and options.container:
        found = engine.container(options.container)
        label = found.labels.get(labels.WORKSPACE) if found else None
        given = label if label and Path(label).is_dir() else None
    return workspaces.workspace_path(given)


def _nested(path: Path, given: str | None, options: Options, engine: Engine, ui: UI) -> Path:
    """Upstream's nested workspaces: in a directory that lies in a workspace with a containai
    volume or container, that workspace is meant (named explicitly, it is an error)."""
    if options.data_volume:
        return path
    registered = workspaces.nearest_registered(path, engine.known_workspaces())
    if registered is None or registered == path:
        return path
    if given is not None:
        raise UsageError(
            f"cannot use {path} as a workspace: it lies in the workspace {registered}, which "
            "has a containai volume or container (name that one)"
        )
    ui.info(f"using the workspace {registered} (this directory lies in it)")
    return registered
