"""Steps shared by every workflow that touches a volume: which one, its lock, its helper, what
it holds, and deleting from it."""

from __future__ import annotations

import os
import shlex
import time

from containai import labels, render, workspaces
from containai.engine import ContainerInfo, Helper, HelperSpec
from containai.errors import EngineError, NotFoundError, UsageError
from containai.locking import volume_lock
from containai.transfer import deletion, partial_read, plan, recovery, volume_state
from containai.transfer.plan import DELETE
from containai.transfer.stream import Outcome
from containai.transfer.volume_state import VolumeState
from containai.workflow.loader import step
from containai.workflow.run import Options, Run


@step(gives=("volume",))
def resolve_volume(run: Run[Options]) -> None:
    """Pick the data volume: the container's, --data-volume, settings (env, config), derived."""
    if run.container is not None:  # hot reload: the volume of the container found
        run.volume = container_volume(run, run.container.id)
    elif run.options.container:
        run.volume = container_volume(run, run.options.container)
    else:
        run.volume = workspaces.resolve_name(
            run.options.data_volume, run.settings.get_str("data_volume"), run.workspace
        )
    run.ui.info(f"using data volume {run.volume}")


@step(needs=("volume",))
def reset_volume(run: Run[Options]) -> None:
    """A new, empty volume for the workspace (recorded in the state file); the old one is kept."""
    origin = run.settings.origins.get("data_volume", "default")
    if origin.startswith(("environment", *run.settings.explicit_files)):
        # The new volume would be recorded below that setting and silently ignored later.
        raise UsageError(f"--reset cannot override data_volume set by {origin}")
    old = run.volume
    new = workspaces.validate_name(
        f"{workspaces.derived_name(run.workspace)}-{time.strftime('%Y%m%d%H%M%S')}"
        f"{os.urandom(2).hex()}"
    )
    run.volume = new
    if run.options.dry_run:
        run.ui.note(f"would give workspace {run.workspace} the new volume {new} ({old} is kept)")
        return
    workspaces.record_volume(run.workspace, new)
    run.ui.note(
        f"workspace {run.workspace} now uses the new volume {new}; the old volume {old} is kept "
        f"(back it up with 'cai export --data-volume {old}', remove it with "
        f"'cai rm --volume {old}')"
    )


@step(needs=("volume",))
def lock_volume(run: Run[Options]) -> None:
    """Hold the volume's lock until the command ends (another command waits, then gives up)."""
    run.stack.enter_context(
        volume_lock(
            run.engine,
            run.volume,
            command=run.command,
            timeout=run.settings.get_int("lock.timeout"),
            stale_after=run.settings.get_int("lock.stale_after"),
            on_wait=run.ui.note,
            on_break=run.ui.warn,
        )
    )


def container_volume(run: Run[Options], name: str) -> str:
    container = run.engine.container(name)
    if container is None:
        raise NotFoundError(f"container {name} not found")
    if container.labels.get(labels.MANAGED) != "true":
        raise UsageError(f"container {name} is not managed by containai")
    volume = container.labels.get(labels.VOLUME)
    if not volume:
        raise UsageError(f"container {name} has no {labels.VOLUME} label")
    return workspaces.validate_name(volume)


def find_target(run: Run[Options]) -> ContainerInfo:
    """The container named by --container, or the one labelled with the workspace."""
    engine = run.engine
    if run.options.container:
        found = engine.container(run.options.container)
        if found is None:
            raise NotFoundError(f"container {run.options.container} not found")
        if found.labels.get(labels.MANAGED) != "true":
            raise UsageError(f"container {found.name} is not managed by containai")
        return found
    matches = engine.containers_labelled({labels.WORKSPACE: str(run.workspace)})
    if not matches:
        raise NotFoundError(
            f"no containai container for workspace {run.workspace}; start one with "
            f"'cai run {shlex.quote(str(run.workspace))}'"
        )
    if len(matches) > 1:
        names = ", ".join(sorted(c.name for c in matches))
        raise UsageError(
            f"several containers belong to workspace {run.workspace} ({names}); "
            "choose one with --container"
        )
    return matches[0]


@step(needs=("volume",), gives=("helper",))
def open_volume(
    run: Run[Options], *, create: bool = False, required: bool = False, read_only: bool = False
) -> None:
    """Attach a helper container to the volume (creating the volume first when asked; a
    restore gives it the archive's labels too)."""
    info = run.engine.volume(run.volume)
    if info is None and required:
        raise NotFoundError(f"volume {run.volume} does not exist")
    if info is None and create and not run.options.dry_run:
        manifest = run.archive.manifest if run.has("archive") else None
        # Only containai's own labels come from an archive (never another tool's, such as
        # com.docker.compose.project, which would enrol the volume in someone's project).
        found = manifest.volume_labels if manifest else {}
        wanted = {k: v for k, v in found.items() if k.startswith("containai.")}
        wanted.update(workspaces.labels_for(run.workspace))
        info = run.engine.create_volume(run.volume, wanted)
    run.helper = None
    if info is None:
        return
    run.volume_labels = info.labels
    if run.engine.remove_stale_helpers(run.volume):
        run.ui.info(f"removed helper containers that killed commands left on {run.volume}")
    helper = run.engine.helper(run.volume, helper_spec(run), read_only=read_only)
    run.helper = run.stack.enter_context(helper)


@step(needs=("helper",), gives=("state",))
def read_volume(run: Run[Options], *, full: bool = False) -> None:
    """Read what the volume holds: for a three-way import, containai's records and only the
    paths the host changed; otherwise (or ``full``) everything, hashing only the paths this
    run may write. What an interrupted run left half rebuilt is shown as this run will leave
    it (it finishes it first: transfer/recovery.py)."""
    if run.helper is None:
        run.state = volume_state.empty()
        return
    limit = run.settings.get_int("limits.record_bytes")
    state = None
    if run.has("scan") and not full and not getattr(run.options, "force", False):
        state = _read_changed(run, run.helper, limit)
    if state is None:
        if run.has("scan"):
            writes = {c.path for c in run.scan.candidates if c.kind == "file"}
        elif run.has("archive"):
            writes = {e.name for e in run.archive.entries if e.kind in ("file", "hardlink")}
        else:
            writes = set()
        state = volume_state.read(run.helper.get(""), hash_paths=writes, max_record_bytes=limit)
    run.state = state
    for warning in state.warnings:
        run.ui.warn(f"volume {run.volume}: {warning}")
    if state.complete:
        recovery.settle(state)
    if state.recovery:
        run.ui.warn(
            f"volume {run.volume}: an interrupted run left directories half rebuilt; "
            f"{len(state.recovery)} paths are put back from its stash first"
        )


# Beyond this many requests, streaming the whole volume once is the cheaper read.
_MOST_REQUESTS = 256


def _read_changed(run: Run[Options], helper: Helper, limit: int) -> VolumeState | None:
    """The records, then what the volume holds where the host changed; None when a full read
    is needed (no usable record: a new or foreign volume, or too many changes)."""
    state = partial_read.read_records(helper.get_if_present, helper.stat, max_record_bytes=limit)
    # An interrupted rebuild is finished from a full read: every missing name must be seen.
    if volume_state.STATE_FILE not in state.files or state.warnings or state.rebuilds:
        return None
    scan = run.scan
    roots = plan.mirror_roots(scan, run.settings.get_bool("import.mirror"))
    paths = plan.needed(scan, state, scan.digest, roots)
    listable = {c.entry.target for c in scan.candidates if c.path != c.entry.target}
    if len(paths) > _MOST_REQUESTS and len(paths) > len(state.record) // 4:
        return None
    # A deletion rebuilds the directory around it: list that directory whole (with owners).
    trees = deletion.rebuilt_directories(sorted(plan.gone_from_host(scan, state, roots)))
    in_trees = {p for p in paths if p in trees or deletion.below(p, trees)}
    # (their parents are looked at first: nothing is asked below a file)
    above = {"/".join(t.split("/")[:end]) for t in trees for end in range(1, t.count("/") + 1)}
    get, stat = helper.get_if_present, helper.stat
    requests = partial_read.read_paths(state, (paths - in_trees) | above, listable, get, stat)
    requests += partial_read.read_trees(state, trees, in_trees, get)
    run.ui.info(f"read {len(paths)} changed paths of the volume in {requests} requests")
    return state


def delete_planned(run: Run[Options], outcome: Outcome) -> None:
    """Delete the plan's names directly in the volume root: the archive API cannot (the stream
    deletes the rest, transfer/deletion.py), so this runs ``rm`` in a short-lived container of
    an image the engine has (``local_shell_image``; never pulled)."""
    paths = [i.path for i in run.plan.items if i.action == DELETE and deletion.at_root(i.path)]
    if not paths:
        return
    image = local_shell_image(run)
    if not image:
        for path in paths:
            outcome.failures[path] = cannot_delete_at_root(run)
        return
    for start in range(0, len(paths), 500):
        batch = paths[start : start + 500]
        code, output = run.engine.run_in_volume(
            run.volume, image, ["sh", "-c", 'cd /data && rm -rf -- "$@"', "sh", *batch]
        )
        if code != 0:
            for path in batch:
                outcome.failures[path] = f"could not delete: {' '.join(output.split())[:200]}"
            continue
        recovery.forget_below(run.state, batch)  # an interrupted rebuild must not bring them back


def local_shell_image(run: Run[Options]) -> str:
    """An image with a POSIX shell the engine already has, for deleting names in the volume
    root: ``engine.shell_image``, else the agent image ``run.image`` (it has one, and it is
    usually there); "" if it has neither. Never pulled: deleting must work without a registry.
    The container runs with no network and the volume as its only mount."""
    for key in ("engine.shell_image", "run.image"):
        image = run.settings.get_str(key)
        if not image:
            continue
        try:
            run.engine.image_config(image)
        except EngineError:
            continue
        return image
    return ""


def cannot_delete_at_root(run: Run[Options]) -> str:
    shell = run.settings.get_str("engine.shell_image") or "unset"
    agent = run.settings.get_str("run.image") or "unset"
    return (
        f"a name in the volume root can only be deleted by a program, and the engine has "
        f"neither engine.shell_image ({shell}) nor run.image ({agent}): load one, or delete "
        "it in the container"
    )


def helper_spec(run: Run[Options]) -> HelperSpec:
    text = render.render(
        render.environment(run.project, run.user_dir),
        "containers/helper.toml.j2",
        image=run.settings.get_str("engine.helper_image"),
        uid=run.agent.uid,
        gid=run.agent.gid,
    )
    return HelperSpec.from_toml(text)
