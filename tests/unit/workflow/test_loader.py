"""containai.workflow.loader: step lists in TOML, validated against the step registry, overridable
by teams, run in order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from containai.errors import ConfigError
from containai.resources import packaged_workflows
from containai.steps import REGISTRY
from containai.workflow import loader as workflow
from containai.workflow.loader import StepDef, step
from containai.workflow.run import ExportOptions, ImportOptions, Options
from tests.support.files import trust
from tests.support.params import cases
from tests.unit.config_files import (
    Untouched,
    refused,
    write_trusted,
)


@dataclass
class Context:
    calls: list[str] = field(default_factory=list)
    options: Options = field(default_factory=Options)


@step(gives=("plan",))
def record(context: Context) -> None:
    context.calls.append("record")


@step()
def greet(context: Context, *, name: str = "world", loud: bool = False) -> None:
    context.calls.append(f"greet {name}{'!' if loud else ''}")


@step(needs=("plan",))
def halt(context: Context) -> None:
    context.calls.append("halt")


FAKE: dict[str, StepDef] = {"record": record, "greet": greet, "halt": halt}


def write_workflow(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path


def steps_toml(*names: str) -> str:
    return "".join(f'[[steps]]\nuse = "{name}"\n' for name in names)


def load_error(
    path: Path, registry: dict[str, StepDef] = FAKE, options: type[Options] = Options
) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        workflow.load(path.stem, [path.parent], registry, options)
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    return caught.value


# --- the packaged workflows -----------------------------------------------------------------


def test_the_packaged_import_workflow_loads(user_dir: Path) -> None:
    loaded = workflow.load("import", workflow.search_path(None, user_dir), REGISTRY, ImportOptions)
    assert loaded.path == packaged_workflows() / "import.toml"
    assert loaded.description
    assert loaded.steps
    assert all(item.definition is REGISTRY[item.name] for item in loaded.steps)


@pytest.mark.parametrize(
    "name", sorted(path.stem for path in packaged_workflows().glob("*.toml")), ids=str
)
def test_every_packaged_workflow_loads_against_the_registry(name: str, user_dir: Path) -> None:
    from containai.tasks import WORKFLOW_OPTIONS
    from containai.workflow import run

    options = getattr(run, WORKFLOW_OPTIONS[name])
    loaded = workflow.load(name, workflow.search_path(None, user_dir), REGISTRY, options)
    assert loaded.steps


def test_every_registered_step_is_a_plain_function_taking_the_run_first() -> None:
    import inspect

    for name, definition in REGISTRY.items():
        parameters = list(inspect.signature(definition.function).parameters.values())
        assert parameters, name
        assert parameters[0].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD, name
        assert parameters[0].name == "run", name


# --- the override chain ---------------------------------------------------------------------


def test_the_project_workflow_overrides_the_packaged_one(project: Path, user_dir: Path) -> None:
    path = write_workflow(project / ".containai" / "workflows", "import", steps_toml("record"))
    loaded = workflow.load("import", workflow.search_path(trust(project), user_dir), FAKE)
    assert loaded.path == path
    assert [step.name for step in loaded.steps] == ["record"]


def test_the_user_workflow_overrides_the_packaged_one(user_dir: Path) -> None:
    path = write_workflow(user_dir / "workflows", "import", steps_toml("greet"))
    loaded = workflow.load("import", workflow.search_path(None, user_dir), FAKE)
    assert loaded.path == path


def test_the_project_workflow_beats_the_user_workflow(project: Path, user_dir: Path) -> None:
    write_workflow(user_dir / "workflows", "import", steps_toml("greet"))
    path = write_workflow(project / ".containai" / "workflows", "import", steps_toml("record"))
    loaded = workflow.load("import", workflow.search_path(trust(project), user_dir), FAKE)
    assert loaded.path == path


def test_an_override_replaces_the_packaged_workflow_whole(project: Path, user_dir: Path) -> None:
    write_workflow(project / ".containai" / "workflows", "import", steps_toml("record", "halt"))
    loaded = workflow.load("import", workflow.search_path(trust(project), user_dir), FAKE)
    assert [step.name for step in loaded.steps] == ["record", "halt"]


def test_the_search_path_puts_project_then_user_then_package(project: Path, user_dir: Path) -> None:
    layer = trust(project)
    assert workflow.search_path(layer, user_dir) == [
        layer,
        user_dir / "workflows",
        packaged_workflows(),
    ]


def test_an_untrusted_project_workflow_is_not_used(project: Path, user_dir: Path) -> None:
    from containai import project as projects

    write_workflow(project / ".containai" / "workflows", "import", steps_toml("record"))
    places = workflow.search_path(projects.load(project), user_dir)
    loaded = workflow.load("import", places, REGISTRY, ImportOptions)
    assert loaded.path == packaged_workflows() / "import.toml"


def test_the_user_config_dir_follows_xdg_for_the_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from containai.paths import user_config_dir

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    folders = workflow.search_path(None, user_config_dir())
    assert folders[0] == tmp_path / "xdg" / "containai" / "workflows"


def test_an_unknown_workflow_name_is_a_config_error(user_dir: Path) -> None:
    with pytest.raises(ConfigError, match="no workflow named 'nosuch'"):
        workflow.load("nosuch", workflow.search_path(None, user_dir), REGISTRY)


# --- validation before anything runs --------------------------------------------------------


def test_an_unknown_step_is_an_error_listing_the_known_steps(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", steps_toml("record", "recrod"))
    message = str(load_error(path))
    assert str(path) in message
    assert "step 2" in message
    assert "'recrod'" in message
    assert "greet, halt, record" in message


def test_a_step_needing_what_no_earlier_step_gives_is_refused(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", steps_toml("halt", "record"))
    message = str(load_error(path))
    assert "step 1 (halt) needs the plan" in message


def test_a_conditional_step_does_not_satisfy_a_later_need(tmp_path: Path) -> None:
    text = '[[steps]]\nuse = "record"\nwhen = "dry_run"\n' + steps_toml("halt")
    path = write_workflow(tmp_path, "w", text)
    assert "step 2 (halt) needs the plan" in str(load_error(path))


def test_when_must_name_a_boolean_option_of_the_command(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", '[[steps]]\nuse = "record"\nwhen = "replace"\n')
    message = str(load_error(path))
    assert "'when' must name one of" in message and "dry_run" in message
    # The same condition is valid for the command that has that option.
    workflow.load("w", [tmp_path], FAKE, ImportOptions)


def test_a_step_of_another_command_is_refused(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", steps_toml("verify_export"))
    assert "belongs to another command" in str(load_error(path, REGISTRY, ImportOptions))
    workflow.load("w", [tmp_path], REGISTRY, ExportOptions)


def test_step_option_values_are_checked_against_the_step_signature(tmp_path: Path) -> None:
    text = steps_toml("scan_host", "resolve_volume", "open_volume", "read_volume")
    bad = text + '[[steps]]\nuse = "plan_import"\nwith = { on_conflict = "bakup" }\n'
    path = write_workflow(tmp_path, "w", bad)
    message = str(load_error(path, REGISTRY, ImportOptions))
    assert "'on_conflict' must be one of 'backup', 'skip', 'overwrite'" in message
    wrong_type = text.replace('use = "open_volume"', 'use = "open_volume"\nwith = { create = 1 }')
    path = write_workflow(tmp_path, "w", wrong_type)
    assert "'create' must be" in str(load_error(path, REGISTRY, ImportOptions))


def test_an_unknown_step_against_the_real_registry_lists_its_steps(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", steps_toml("scan_hosts"))
    message = str(load_error(path, REGISTRY))
    for name in REGISTRY:
        assert name in message


@pytest.mark.parametrize(
    "options",
    [
        pytest.param('{ nmae = "x" }', id="unknown-option"),
        pytest.param("{ context = 1 }", id="the-run-itself"),
        pytest.param('"loud"', id="not-a-table"),
    ],
)
def test_bad_step_options_are_an_error_naming_the_step(tmp_path: Path, options: str) -> None:
    path = write_workflow(tmp_path, "w", f'[[steps]]\nuse = "greet"\nwith = {options}\n')
    message = str(load_error(path))
    assert str(path) in message
    assert "(greet)" in message


def test_options_for_a_step_without_options_are_an_error(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", '[[steps]]\nuse = "record"\nwith = { fast = true }\n')
    assert "(record)" in str(load_error(path))


def test_a_syntax_error_is_an_error_naming_the_file(tmp_path: Path) -> None:
    path = write_workflow(tmp_path, "w", "[[steps]\nuse = \n")
    message = str(load_error(path))
    assert str(path) in message
    assert "invalid TOML" in message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param('description = "none"\n', "at least one", id="no-steps"),
        pytest.param("steps = []\n", "at least one", id="empty-steps"),
        pytest.param('name = "x"\n' + steps_toml("record"), "'name'", id="unknown-top-key"),
        pytest.param('[[steps]]\nuse = "record"\nrun = "x"\n', "'run'", id="unknown-step-key"),
        pytest.param("[[steps]]\nuse = 3\n", "'use'", id="use-not-a-string"),
        pytest.param('steps = ["record"]\n', "must be a table", id="step-not-a-table"),
    ],
)
def test_a_malformed_workflow_is_an_error_naming_the_file(
    tmp_path: Path, text: str, fragment: str
) -> None:
    path = write_workflow(tmp_path, "w", text)
    message = str(load_error(path))
    assert str(path) in message
    assert fragment in message


def test_a_broken_override_is_reported_not_skipped(project: Path, user_dir: Path) -> None:
    path = write_workflow(project / ".containai" / "workflows", "import", steps_toml("nope"))
    with pytest.raises(ConfigError, match=re.escape(str(path))):
        workflow.load("import", workflow.search_path(trust(project), user_dir), REGISTRY)


# --- running --------------------------------------------------------------------------------


def load_fake(tmp_path: Path, text: str) -> workflow.Workflow:
    write_workflow(tmp_path, "w", text)
    return workflow.load("w", [tmp_path], FAKE)


def test_run_calls_the_steps_in_order_with_their_options(tmp_path: Path) -> None:
    loaded = load_fake(
        tmp_path,
        steps_toml("record")
        + '[[steps]]\nuse = "greet"\nwith = { name = "team", loud = true }\n'
        + steps_toml("greet"),
    )
    context = Context()
    workflow.run(loaded, context)  # type: ignore[arg-type]
    assert context.calls == ["record", "greet team!", "greet world"]


def test_a_step_with_when_runs_only_when_that_option_is_on(tmp_path: Path) -> None:
    text = steps_toml("record") + '[[steps]]\nuse = "greet"\nwhen = "dry_run"\n'
    loaded = load_fake(tmp_path, text)
    off, on = Context(), Context(options=Options(dry_run=True))
    workflow.run(loaded, off)  # type: ignore[arg-type]
    workflow.run(loaded, on)  # type: ignore[arg-type]
    assert off.calls == ["record"]
    assert on.calls == ["record", "greet world"]


def test_nothing_runs_when_a_later_step_is_invalid(tmp_path: Path) -> None:
    calls: list[str] = []

    @step()
    def side_effect(context: Any) -> None:
        calls.append("ran")

    write_workflow(tmp_path, "w", steps_toml("side_effect", "missing"))
    with pytest.raises(ConfigError):
        workflow.load("w", [tmp_path], {"side_effect": side_effect})
    assert calls == []


def test_a_step_error_propagates_and_later_steps_do_not_run(tmp_path: Path) -> None:
    @step()
    def boom(context: Context) -> None:
        raise RuntimeError("boom")

    path = write_workflow(tmp_path, "w", steps_toml("boom", "record"))
    loaded = workflow.load(path.stem, [tmp_path], {**FAKE, "boom": boom})
    context = Context()
    with pytest.raises(RuntimeError):
        workflow.run(loaded, context)  # type: ignore[arg-type]
    assert context.calls == []


# -- through the command line: a broken workflow runs no step ---------------------------------


WORKFLOW_PROBLEMS = cases(
    {
        "syntax": (
            '[[steps]\nuse = "scan_host"\n',
            ["invalid TOML"],
        ),
        "not-utf8": (
            b'[[steps]]\nuse = "\xff"\n',
            ["invalid TOML"],
        ),
        "top-key": (
            'name = "mine"\n[[steps]]\nuse = "scan_host"\n',
            ["unknown key 'name'"],
        ),
        "unknown-step": (
            '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "rm_rf_everything"\n',
            ["step 2: unknown step 'rm_rf_everything'", "known steps: ", "scan_host"],
        ),
        "step-key": (
            '[[steps]]\nuse = "scan_host"\nrun = "sh"\n',
            ["step 1: unknown key 'run'"],
        ),
        "use-type": (
            "[[steps]]\nuse = 3\n",
            ["step 1: 'use' must name a step"],
        ),
        "with-type": (
            '[[steps]]\nuse = "open_volume"\nwith = 3\n',
            ["'with' must be a table"],
        ),
        "step-options": (
            '[[steps]]\nuse = "open_volume"\nwith = { bogus = true }\n',
            ["step 1 (open_volume): wrong options"],
        ),
        "options-for-no-options": (
            '[[steps]]\nuse = "scan_host"\nwith = { anything = 1 }\n',
            ["step 1 (scan_host): wrong options"],
        ),
        "no-steps": (
            'description = "empty"\n',
            ["at least one [[steps]]"],
        ),
        "steps-type": (
            'steps = "scan_host"\n',
            ["at least one [[steps]]"],
        ),
        "step-type": (
            "steps = [1]\n",
            ["step 1 must be a table"],
        ),
    }
)


# Valid steps that would create the volume and take its lock, before the broken one.


TOUCHING = '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "lock_volume"\n'


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(("text", "expected"), WORKFLOW_PROBLEMS)
@pytest.mark.parametrize("where", ["project", "user"])
def test_a_bad_workflow_file_is_one_line_naming_it_exit_2_and_runs_no_step(
    where: str, text: str | bytes, expected: list[str], cai: Any, home: Path, work: Path
) -> None:
    folder = {
        "project": work / ".containai/workflows",
        "user": home / ".config/containai/workflows",
    }[where]
    if isinstance(text, str) and text.startswith("[[steps]]"):
        text = TOUCHING + text  # valid steps first: not even these may run
        expected = [
            part.replace("step 1", "step 3").replace("step 2", "step 4") for part in expected
        ]
    path = write_trusted(folder / "import.toml", text)
    untouched = Untouched(home, work)

    result = cai("import", "--dry-run")

    refused(result, str(path), *expected)
    untouched.check()


@pytest.mark.usefixtures("no_engine")
@pytest.mark.parametrize(
    ("name", "command"),
    [("export", ("export",)), ("restore", ("import", "--from", "{archive}")), ("run", ("run",))],
    ids=["export", "restore", "run"],
)
def test_a_bad_workflow_override_stops_its_own_command(
    name: str, command: tuple[str, ...], cai: Any, home: Path, work: Path, tmp_path: Path
) -> None:
    archive = tmp_path / "backup.tgz"
    archive.write_bytes(b"\x1f\x8b not really")
    path = write_trusted(
        work / ".containai/workflows" / f"{name}.toml", '[[steps]]\nuse = "nope"\n'
    )
    untouched = Untouched(home, work)

    result = cai(*(part.format(archive=archive) for part in command))

    refused(result, str(path), "unknown step 'nope'")
    untouched.check()
