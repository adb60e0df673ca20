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
from containai.errors import Terminated
from containai.steps import REGISTRY
from containai.ui import UI
from containai.workflow import loader
from containai.workflow.run import Options, Run


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
    if workspace is None and options.container:
        workspace = container_workspace(options.container)
    path = workspaces.workspace_path(workspace)
    ui = UI(verbose=verbose, json_output=json_output)
    # The project's files are read once: what the user trusted is what runs.
    project = projects.load(path)
    if (warning := project.warning()) is not None:
        ui.warn(warning)
    loaded = settings.load(path, config_file=Path(config) if config else None, project=project)
    for warning in loaded.warnings:
        ui.warn(warning)
    user_dir = paths.user_config_dir()
    chosen = loader.load(name, loader.search_path(project, user_dir), REGISTRY, type(options))
    run = Run(
        command=name,
        settings=loaded,
        options=options,
        ui=ui,
        home=Path(os.environ.get("HOME") or Path.home()),
        user_dir=user_dir,
        project=project,
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


def container_workspace(name: str) -> str | None:
    """The host workspace of a containai container, so that its settings and manifests apply
    (when that directory exists here; otherwise the current directory's are used)."""
    from containai.engine import Engine

    engine = Engine.connect()
    try:
        found = engine.container(name)
    finally:
        engine.close()
    label = found.labels.get(labels.WORKSPACE) if found else None
    return label if label and Path(label).is_dir() else None
