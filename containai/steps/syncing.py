"""The in-container sync, run three ways: inside a container (`cai sync`), from the host in a
running container (`cai sync --container`), and after a hot-reload import."""

from __future__ import annotations

import io
import os
import subprocess

from containai import render
from containai.container import sync_script as insync
from containai.engine import ContainerInfo
from containai.errors import ContainAIError
from containai.host.additional_paths import home_relative
from containai.host.secrets import SecretPaths, secret_patterns
from containai.steps.reporting import report_sync
from containai.steps.volume import container_volume, find_target, lock_volume
from containai.workflow.loader import step
from containai.workflow.run import Options, Run


def sync_script(run: Run[Options]) -> str:
    """The sync script for this container, the user's opted-in paths linked where present."""
    settings = run.settings
    return insync.script(
        render.environment(run.project, run.user_dir),
        run.manifest.entries,
        data_mount=run.agent.data_mount,
        home=run.agent.home,
        opted_in=home_relative(settings.get_list("import.additional_paths"), run.home),
        secret=SecretPaths(run.manifest.layered, secret_patterns(settings)),
    )


@step(needs=("plan",))
def reload_container(run: Run[Options]) -> None:
    """After an import: link new entries in the running container (it is not restarted)."""
    if run.container is None:
        return
    if run.options.dry_run:
        run.ui.note(f"would reload configs into container {run.container.name}")
        return
    if run.exit_code:
        run.ui.warn(f"import failed; container {run.container.name} was not reloaded")
        return
    report = _exec_sync(run, run.container, dry_run=False)
    run.sync_report = report
    if report.exit_code:
        run.exit_code = 1


@step()
def sync_container(run: Run[Options]) -> None:
    """`cai sync --container NAME`: run the sync in that running container, as the agent."""
    container = find_target(run)  # the same lookup and checks as hot reload
    if container.state != "running":
        raise ContainAIError(
            f"container {container.name} is not running (state: {container.state})"
        )
    run.container = container
    run.volume = container_volume(run, container.id)
    lock_volume(run)
    report_sync(run, _exec_sync(run, container, dry_run=run.options.dry_run))


@step()
def sync_here(run: Run[Options]) -> None:
    """`cai sync` inside a container: run the same script with this machine's shell."""
    environment = {insync.DRY_RUN_VARIABLE: "1"} if run.options.dry_run else {}
    completed = subprocess.run(
        ["sh", "-c", sync_script(run)],
        capture_output=True,
        text=True,
        env={**os.environ, **environment},
        check=False,
    )
    if completed.returncode == insync.NOT_MOUNTED_EXIT:
        raise ContainAIError(completed.stderr.strip() or "the data volume is not mounted here")
    report_sync(run, insync.parse(completed.returncode, completed.stdout + completed.stderr))


def _exec_sync(run: Run[Options], container: ContainerInfo, *, dry_run: bool) -> insync.SyncReport:
    environment = {"HOME": run.agent.home}
    if dry_run:
        environment[insync.DRY_RUN_VARIABLE] = "1"
    output = io.BytesIO()
    code = run.engine.exec(
        container.id,
        ["sh", "-c", sync_script(run)],
        user=run.agent.user,
        environment=environment,
        out=output,
    )
    text = output.getvalue().decode(errors="replace")
    if code == insync.NOT_MOUNTED_EXIT:
        raise ContainAIError(f"container {container.name}: {text.strip()}")
    return insync.parse(code, text)
