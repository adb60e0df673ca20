"""Steps shared by every workflow: which volume, and a helper container to reach it."""

from __future__ import annotations

from containai import render
from containai import workspaces as volumes
from containai.engine.client import HelperSpec
from containai.errors import NotFoundError, UsageError
from containai.locking import volume_lock
from containai.transfer.plan import DELETE
from containai.transfer.stream import Outcome
from containai.workflow.run import Run


def resolve_volume(run: Run) -> None:
    """Pick the data volume: --container's, --data-volume, settings (env, config), derived."""
    if run.container is not None:
        return  # hot reload already took the volume from the container's label
    if run.options.container:
        if run.options.data_volume:
            raise UsageError("--container and --data-volume cannot be used together")
        run.volume = container_volume(run, run.options.container)
    else:
        run.volume = volumes.resolve_name(
            run.options.data_volume, run.settings.get_str("data_volume"), run.workspace
        )
    run.ui.info(f"using data volume {run.volume}")


def lock_volume(run: Run) -> None:
    """Hold the volume's lock until the command ends (another command waits, then gives up)."""
    run.stack.enter_context(
        volume_lock(
            run.volume,
            command=run.command,
            timeout=run.settings.get_int("lock.timeout"),
            on_wait=run.ui.note,
        )
    )


def container_volume(run: Run, name: str) -> str:
    container = run.engine.container(name)
    if container is None:
        raise NotFoundError(f"container {name} not found")
    if container.labels.get(volumes.LABEL_MANAGED) != "true":
        raise UsageError(f"container {name} is not managed by containai")
    volume = container.labels.get(volumes.LABEL_VOLUME)
    if not volume:
        raise UsageError(f"container {name} has no {volumes.LABEL_VOLUME} label")
    return volumes.validate_name(volume)


def open_volume(
    run: Run, *, create: bool = False, required: bool = False, read_only: bool = False
) -> None:
    """Attach a helper container to the volume (creating the volume first when asked)."""
    info = run.engine.volume(run.volume)
    if info is None and required:
        raise NotFoundError(f"volume {run.volume} does not exist")
    if info is None and create and not run.options.dry_run:
        info = run.engine.create_volume(run.volume, volumes.labels_for(run.workspace))
    if info is None:
        return
    run.volume_labels = info.labels
    if run.engine.remove_stale_helpers(run.volume):
        run.ui.info(f"removed helper containers that killed commands left on {run.volume}")
    helper = run.engine.helper(run.volume, helper_spec(run), read_only=read_only)
    run.helper = run.stack.enter_context(helper)


def delete_planned(run: Run, outcome: Outcome) -> None:
    """Delete the plan's ``delete`` paths: the archive API can write but never remove, so this
    runs ``rm`` in a short-lived container of ``engine.shell_image`` (only when needed)."""
    assert run.plan is not None
    paths = [item.path for item in run.plan.items if item.action == DELETE]
    if not paths:
        return
    image = run.settings.get_str("engine.shell_image")
    for start in range(0, len(paths), 500):
        batch = paths[start : start + 500]
        code, output = run.engine.run_in_volume(
            run.volume, image, ["sh", "-c", 'cd /data && rm -rf -- "$@"', "sh", *batch]
        )
        if code != 0:
            for path in batch:
                outcome.failures[path] = f"could not delete: {' '.join(output.split())[:200]}"
            continue
        outcome.deleted += len(batch)


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
