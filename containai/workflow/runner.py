"""Run a named workflow for a command: settings, the run state, the steps, cleanup, exit code."""

from __future__ import annotations

import os
from pathlib import Path

from containai import labels, paths, settings, workspaces
from containai import project as projects
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
    with run.stack:
        loader.run(chosen, run)
    return run.exit_code


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
