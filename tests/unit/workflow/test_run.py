"""containai.workflow.run: the state of a run, and the phases its steps hand over."""

from __future__ import annotations

from pathlib import Path

import pytest

from containai.workflow.run import Options, Run, WorkflowError


def test_reading_a_phase_no_step_gave_is_a_workflow_error(isolated_env: Path) -> None:
    from containai import settings
    from containai.ui import UI

    run = Run(
        "import",
        settings.load(isolated_env),
        Options(),
        UI(),
        home=isolated_env,
        user_dir=isolated_env,
    )
    with pytest.raises(WorkflowError, match="needs the plan, which no earlier step gave"):
        _ = run.plan
    run.plan = "a plan"  # type: ignore[assignment]
    assert run.has("plan") and run.plan == "a plan"
