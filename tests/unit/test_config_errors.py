"""Broken settings, workflow and manifest files, and invalid volume names, through the CLI.

Issue 7: each is one line naming the file and the problem; settings and workflow files stop the
command with exit 2 before anything is touched. A broken user or project manifest is reported as
a warning and skipped, and the run goes on (issue 2: it never stops a run). No engine is used:
``DOCKER_HOST`` points at nothing, so a command that got as far as the engine would fail with
exit 1 and say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import trust

NO_ENGINE = "unix:///nonexistent.sock"
ENGINE_LINE = f"cai: cannot reach the Docker engine at {NO_ENGINE}: "


@pytest.fixture(autouse=True)
def no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", NO_ENGINE)
    for name in ("XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def home(isolated_env: Path) -> Path:
    return isolated_env


@pytest.fixture
def work(isolated_env: Path) -> Path:
    return Path.cwd()


def tree(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its content (None for directories)."""
    found: dict[str, bytes | None] = {}
    for path in sorted(root.rglob("*")):
        found[str(path.relative_to(root))] = None if path.is_dir() else path.read_bytes()
    return found


def one_error_line(result: Any) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("cai: "), lines[0]
    assert "Traceback" not in result.err
    assert "internal error" not in lines[0], lines[0]
    return str(lines[0])


def assert_untouched(home: Path, work: Path, before: tuple[Any, Any]) -> None:
    assert (tree(home), tree(work)) == before
    assert not (home / ".cache" / "containai").exists()  # not even the volume's lock


# -- settings files ----------------------------------------------------------------------------

SETTINGS_PROBLEMS = [
    pytest.param('data_volume = "unterminated\n', ["invalid TOML"], id="syntax"),
    pytest.param(b'data_volume = "\xff"\n', [], id="not-utf8"),
    pytest.param(
        'data_volum = "x"\n', ["unknown key 'data_volum'", "did you mean 'data_volume'"], id="typo"
    ),
    pytest.param("[import]\nexclude_prv = true\n", ["unknown key 'import.exclude_prv'"], id="key"),
    pytest.param("[imports]\nmirror = true\n", ["unknown key 'imports'"], id="table"),
    pytest.param(
        '[lock]\ntimeout = "soon"\n',
        ["'lock.timeout' must be an integer, not the string 'soon'"],
        id="wrong-type-int",
    ),
    pytest.param(
        '[import]\nmirror = "yes"\n', ["'import.mirror' must be true or false"], id="wrong-bool"
    ),
    pytest.param("excludes = [1, 2]\n", ["'excludes' must be a list of strings"], id="list"),
    pytest.param("import = 3\n", ["'import' must be a table"], id="not-a-table"),
    pytest.param("[lock]\ntimeout = 1.5\n", ["'lock.timeout' must be an integer"], id="float"),
    pytest.param(
        "[export]\ncompression_level = 12\n",
        ["'export.compression_level' must be a gzip level from 0 to 9"],
        id="range",
    ),
    pytest.param(
        '[import]\non_conflict = "merge"\n', ["'import.on_conflict' must be one of"], id="choice"
    ),
    pytest.param(
        '[workspace."relative/path"]\ndata_volume = "x"\n',
        ['workspace."relative/path" must be an absolute path'],
        id="workspace-path",
    ),
    pytest.param(
        '[workspace."/somewhere"]\nbogus = 1\n',
        ["unknown key 'workspace.\"/somewhere\".bogus'"],
        id="workspace-key",
    ),
]


def write(path: Path, text: str | bytes) -> Path:
    """Write a file; a project file is then trusted (as after `cai trust`): these tests are
    about broken files the user has accepted."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    if path.is_relative_to(Path.cwd()) and "containai" in path.as_posix():
        trust(Path.cwd())
    return path


@pytest.mark.parametrize(("text", "expected"), SETTINGS_PROBLEMS)
@pytest.mark.parametrize("where", ["user", "project", "--config", "state"])
def test_a_bad_settings_file_is_one_line_naming_it_exit_2_and_touches_nothing(
    where: str,
    text: str | bytes,
    expected: list[str],
    cai: Any,
    home: Path,
    work: Path,
    tmp_path: Path,
) -> None:
    path = {
        "user": home / ".config/containai/containai.toml",
        "project": work / "containai.toml",
        "--config": tmp_path / "extra.toml",
        "state": home / ".local/state/containai/state.toml",
    }[where]
    write(path, text)
    args = ["--config", str(path)] if where == "--config" else []
    before = (tree(home), tree(work))

    result = cai("import", "--dry-run", *args)

    assert result.code == 2, result.err
    line = one_error_line(result)
    assert str(path) in line, line
    for part in expected:
        assert part in line, line
    assert result.out == ""
    assert_untouched(home, work, before)


@pytest.mark.parametrize(
    "command",
    [
        ("import",),
        ("import", "--dry-run", "--json"),
        ("import", "--from", "{backup}"),
        ("export",),
        ("export", "-o", "out.tgz", "--json"),
        ("export", "--verify", "{backup}/x.tgz"),
        ("config",),
        ("config", "--json"),
        ("run",),
        ("stop",),
        ("shell",),
        ("sync", "--dry-run"),
    ],
    ids=lambda c: "-".join(c).replace("{backup}", "dir").replace("/", "").strip("-"),
)
def test_every_command_stops_at_a_bad_project_settings_file(
    command: tuple[str, ...], cai: Any, home: Path, work: Path, tmp_path: Path
) -> None:
    backup = tmp_path / "backup"
    backup.mkdir()
    (backup / "x.tgz").write_bytes(b"")
    path = write(work / "containai.toml", "[lock]\ntimeout = -5\n")
    before = (tree(home), tree(work))

    result = cai(*(part.format(backup=backup) for part in command))

    assert result.code == 2, result.err
    line = one_error_line(result)
    assert str(path) in line
    assert "'lock.timeout' must be a number of seconds (0 or more), not -5" in line
    assert result.out == ""
    assert_untouched(home, work, before)


def test_a_bad_environment_variable_stops_import_naming_it(
    cai: Any, home: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTAINAI_LOCK__TIMEOUT", "soon")
    before = (tree(home), tree(work))

    result = cai("import", "--dry-run")

    assert result.code == 2
    assert "CONTAINAI_LOCK__TIMEOUT" in one_error_line(result)
    assert_untouched(home, work, before)


# -- workflow files ----------------------------------------------------------------------------

WORKFLOW_PROBLEMS = [
    pytest.param('[[steps]\nuse = "scan_host"\n', ["invalid TOML"], id="syntax"),
    pytest.param(b'[[steps]]\nuse = "\xff"\n', ["invalid TOML"], id="not-utf8"),
    pytest.param(
        'name = "mine"\n[[steps]]\nuse = "scan_host"\n', ["unknown key 'name'"], id="top-key"
    ),
    pytest.param(
        '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "rm_rf_everything"\n',
        ["step 2: unknown step 'rm_rf_everything'", "known steps: ", "scan_host"],
        id="unknown-step",
    ),
    pytest.param(
        '[[steps]]\nuse = "scan_host"\nrun = "sh"\n', ["step 1: unknown key 'run'"], id="step-key"
    ),
    pytest.param("[[steps]]\nuse = 3\n", ["step 1: 'use' must name a step"], id="use-type"),
    pytest.param(
        '[[steps]]\nuse = "open_volume"\nwith = 3\n', ["'with' must be a table"], id="with-type"
    ),
    pytest.param(
        '[[steps]]\nuse = "open_volume"\nwith = { bogus = true }\n',
        ["step 1 (open_volume): wrong options"],
        id="step-options",
    ),
    pytest.param(
        '[[steps]]\nuse = "scan_host"\nwith = { anything = 1 }\n',
        ["step 1 (scan_host): wrong options"],
        id="options-for-no-options",
    ),
    pytest.param('description = "empty"\n', ["at least one [[steps]]"], id="no-steps"),
    pytest.param('steps = "scan_host"\n', ["at least one [[steps]]"], id="steps-type"),
    pytest.param("steps = [1]\n", ["step 1 must be a table"], id="step-type"),
]

# Valid steps that would create the volume and take its lock, before the broken one.
TOUCHING = '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "lock_volume"\n'


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
    path = write(folder / "import.toml", text)
    before = (tree(home), tree(work))

    result = cai("import", "--dry-run")

    assert result.code == 2, result.err
    line = one_error_line(result)
    assert str(path) in line, line
    for part in expected:
        assert part in line, line
    assert result.out == ""
    assert_untouched(home, work, before)


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
    path = write(work / ".containai/workflows" / f"{name}.toml", '[[steps]]\nuse = "nope"\n')
    before = (tree(home), tree(work))

    result = cai(*(part.format(archive=archive) for part in command))

    assert result.code == 2, result.err
    line = one_error_line(result)
    assert str(path) in line and "unknown step 'nope'" in line
    assert_untouched(home, work, before)


# -- manifests ---------------------------------------------------------------------------------

GOOD_ENTRY = '[[entries]]\nsource = ".good"\nkind = "file"\n'
MANIFEST_PROBLEMS = [
    pytest.param('[[entries]\nsource = ".x"\n', "invalid TOML", id="syntax"),
    pytest.param(b'[[entries]]\nsource = "\xff"\nkind = "file"\n', "invalid TOML", id="not-utf8"),
    pytest.param(
        'version = 2\n[[entries]]\nsource = ".x"\nkind = "file"\n',
        "unknown top-level key 'version'",
        id="top-key",
    ),
    pytest.param('entries = ".x"\n', "'entries' must be an array of tables", id="entries-type"),
    pytest.param(
        '[[entries]]\nsorce = ".x"\nkind = "file"\n', "entry 1: unknown key 'sorce'", id="key"
    ),
    pytest.param('[[entries]]\nsource = ".x"\n', "entry 1: 'kind' is required", id="no-kind"),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "link"\n', 'kind must be "file" or "dir"', id="kind"
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\nsecret = "yes"\n',
        "'secret' must be true or false",
        id="bool",
    ),
    pytest.param(
        '[[entries]]\nsource = 3\nkind = "file"\n', "'source' must be a string", id="source-type"
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\nexcludes = "*.log"\n',
        "excludes must be a list of strings",
        id="excludes",
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\ntransform = "shell"\n',
        "unknown transform 'shell'",
        id="transform",
    ),
    pytest.param(
        '[[entries]]\nsource = "../outside"\nkind = "file"\n',
        "source must not contain '..'",
        id="source-dotdot",
    ),
    pytest.param(
        '[[entries]]\nsource = ".config/../../outside"\nkind = "dir"\n',
        "source must not contain '..'",
        id="source-deep-dotdot",
    ),
    pytest.param(
        '[[entries]]\nsource = "/etc/passwd"\nkind = "file"\n',
        "source must be relative to the home directory",
        id="source-absolute",
    ),
    pytest.param(
        '[[entries]]\nsource = "~"\nkind = "dir"\n',
        "source must name something inside the home directory",
        id="source-home",
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "../escape"\n',
        "target must not contain '..'",
        id="target-dotdot",
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "a/../../escape"\n',
        "target must not contain '..'",
        id="target-deep-dotdot",
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "/etc/cron.d/x"\n',
        "target must be relative",
        id="target-absolute",
    ),
    pytest.param(
        '[[entries]]\nsource = ".x"\nkind = "file"\nlink = "../../.bashrc"\n',
        "link must not contain '..'",
        id="link-dotdot",
    ),
]


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The whole program in its own process (an in-process run that reaches the missing engine
    leaves the SDK's unclosed socket behind)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTAINAI_")}
    env.update(HOME=str(home), DOCKER_HOST=NO_ENGINE)
    return subprocess.run(
        [sys.executable, "-m", "containai", *args],
        cwd=Path.cwd(),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# The import workflow up to the step that reads the manifests, so that a run needs no engine
# and its whole output is what reading them printed (a project may replace a workflow).
SCAN_ONLY = '[[steps]]\nuse = "resolve_volume"\n[[steps]]\nuse = "scan_host"\n'


def manifest_folder(where: str, home: Path, work: Path) -> Path:
    return {
        "user": home / ".config/containai/manifests",
        "project": work / ".containai/manifests",
    }[where]


def with_good_entry(text: str | bytes) -> str | bytes:
    return text + GOOD_ENTRY if isinstance(text, str) and "[[entries]]" in text else text


@pytest.mark.parametrize(("text", "problem"), MANIFEST_PROBLEMS)
@pytest.mark.parametrize("where", ["user", "project"])
def test_a_bad_manifest_is_one_warning_naming_it_and_skipped(
    where: str, text: str | bytes, problem: str, cai: Any, home: Path, work: Path
) -> None:
    path = write(manifest_folder(where, home, work) / "team.toml", with_good_entry(text))
    write(work / ".containai/workflows/import.toml", SCAN_ONLY)
    (home.parent / "outside").write_text("not under $HOME\n")
    before = (tree(home), tree(work))

    result = cai("import", "--dry-run")

    assert result.code == 0, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"cai: warning: {path}"), lines[0]
    assert problem in lines[0], lines[0]
    assert lines[0].endswith("(manifest skipped)"), lines[0]
    assert (tree(home), tree(work)) == before


@pytest.mark.parametrize(
    ("where", "text", "problem"),
    [
        ("user", '[[entries]]\nsource = "../outside"\nkind = "file"\n', "must not contain '..'"),
        ("project", '[[entries]]\nsource = ".x"\nkind = "file"\ntarget = "/x"\n', "relative"),
        ("user", "[[entries]\n", "invalid TOML"),
    ],
    ids=["user-source-dotdot", "project-target-absolute", "user-syntax"],
)
def test_the_real_import_goes_on_past_a_bad_manifest(
    where: str, text: str, problem: str, home: Path, work: Path
) -> None:
    path = write(manifest_folder(where, home, work) / "team.toml", text)
    before = (tree(home), tree(work))

    result = run_cli(home, "import", "--dry-run")

    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert lines[0].startswith(f"cai: warning: {path}") and problem in lines[0], lines[0]
    # Past the manifest, on to the engine: exit 1 for the missing engine, not 2.
    assert lines[1].startswith(ENGINE_LINE), result.stderr
    assert result.returncode == 1
    after = (tree(home), tree(work))
    assert after[1] == before[1]
    assert {k: v for k, v in after[0].items() if not k.startswith(".cache")} == before[0]


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/etc", "is outside the home directory"),
        ("~/../outside", "is outside the home directory"),
        ("~", "cannot sync the whole home directory"),
        ("relative/path", "must start with ~/ or be absolute"),
        ("~root/.ssh", "~user paths are not supported"),
    ],
)
def test_an_additional_path_escaping_home_is_one_warning_and_skipped(
    path: str, problem: str, cai: Any, home: Path, work: Path
) -> None:
    write(home / ".config/containai/containai.toml", f'[import]\nadditional_paths = ["{path}"]\n')
    write(work / ".containai/workflows/import.toml", SCAN_ONLY)

    result = cai("import", "--dry-run")

    assert result.code == 0, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith(f"cai: warning: [import] additional_paths[0] ({path!r})")
    assert problem in lines[0], lines[0]


# -- volume names ------------------------------------------------------------------------------

BAD_NAMES = [
    pytest.param(["--data-volume", "../x"], "../x", id="dotdot"),
    pytest.param(["--data-volume=-bad"], "-bad", id="dash"),
    pytest.param(["--data-volume", "-bad"], "-bad", id="dash-separate"),
    pytest.param(["--data-volume", "a" * 300], "a" * 300, id="300-chars"),
    pytest.param(["--data-volume", "/var/lib/x"], "/var/lib/x", id="absolute"),
    pytest.param(["--data-volume", "a/b"], "a/b", id="slash"),
    pytest.param(["--data-volume", "with space"], "with space", id="space"),
    pytest.param(["--data-volume", ".hidden"], ".hidden", id="leading-dot"),
    pytest.param(["--data-volume", "vol\u00e9"], "vol\u00e9", id="non-ascii"),
]


@pytest.mark.parametrize(("flags", "name"), BAD_NAMES)
@pytest.mark.parametrize(
    "command",
    [("import",), ("import", "--dry-run"), ("export", "-o", "out.tgz"), ("run",)],
    ids=["import", "import-dry-run", "export", "run"],
)
def test_an_invalid_volume_name_is_exit_2_and_touches_nothing(
    command: tuple[str, ...], flags: list[str], name: str, cai: Any, home: Path, work: Path
) -> None:
    before = (tree(home), tree(work))

    result = cai(*command, *flags)

    assert result.code == 2, result.err
    assert one_error_line(result).startswith(f"cai: invalid volume name {name!r}")
    assert_untouched(home, work, before)


@pytest.mark.parametrize("where", ["environment", "project", "workspace-table"])
def test_an_invalid_configured_volume_name_is_exit_2(
    where: str, cai: Any, home: Path, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "environment":
        monkeypatch.setenv("CONTAINAI_DATA_VOLUME", "../escape")
    elif where == "project":
        write(work / "containai.toml", 'data_volume = "../escape"\n')
    else:
        write(
            home / ".config/containai/containai.toml",
            f'[workspace."{work}"]\ndata_volume = "../escape"\n',
        )
    before = (tree(home), tree(work))

    result = cai("import", "--dry-run")

    assert result.code == 2, result.err
    assert one_error_line(result).startswith("cai: invalid volume name '../escape'")
    assert_untouched(home, work, before)
