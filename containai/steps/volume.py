"""Steps shared by every workflow: which volume, and a helper container to reach it."""

from __future__ import annotations

from containai import render, volumes
from containai.context import Run
from containai.engine import HelperSpec


def resolve_volume(run: Run) -> None:
    """Pick the data volume: --data-volume, then settings (env, config), then the derived name."""
    run.volume = volumes.resolve_name(
        run.options.data_volume, run.settings.get_str("data_volume"), run.workspace
    )
    run.ui.info(f"using data volume {run.volume}")


def open_volume(run: Run, *, create: bool = False, required: bool = False) -> None:
    """Attach a helper container to the volume (creating the volume first when asked)."""
    info = run.engine.volume(run.volume)
    if info is None and required:
        run.engine.require_volume(run.volume)  # raises the "does not exist" error
    if info is None and create and not run.options.dry_run:
        info = run.engine.create_volume(run.volume, volumes.labels_for(run.workspace))
    if info is None:
        return
    run.volume_labels = info.labels
    run.helper = run.stack.enter_context(run.engine.helper(run.volume, helper_spec(run)))


def helper_spec(run: Run) -> HelperSpec:
    env = render.environment(run.workspace, run.user_dir)
    text = render.render(
        env,
        "containers/helper.toml.j2",
        image=run.settings.get_str("engine.helper_image"),
        uid=run.settings.get_int("agent.uid"),
        gid=run.settings.get_int("agent.gid"),
        volume=run.volume,
    )
    return HelperSpec.from_toml(text)
