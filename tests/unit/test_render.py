"""Templates: Jinja2's sandbox with StrictUndefined, and a (trusted) project > user > package
override chain."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from containai import render
from containai.errors import ConfigError
from containai.resources import packaged_templates
from tests.support.files import trust


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("placeholders/json.j2", "{}"),
        ("placeholders/file.j2", ""),
        ("placeholders/secret.j2", ""),
    ],
    ids=["json", "file", "secret"],
)
def test_the_packaged_placeholders_render(user_dir: Path, name: str, expected: str) -> None:
    env = render.environment(None, user_dir)
    assert render.render(env, name, entry=None, settings=None) == expected


def test_the_packaged_helper_container_spec_renders_with_its_variables(user_dir: Path) -> None:
    import tomllib

    env = render.environment(None, user_dir)
    text = render.render(
        env, "containers/helper.toml.j2", image="containai/helper", uid=1000, gid=1000
    )
    spec = tomllib.loads(text)
    assert spec["user"] == "1000:1000"
    assert spec["mount_point"] == {"uid": 1000, "gid": 1000, "mode": 0o700}
    # Labels and confinement are not the template's to choose: the engine layer sets them.
    assert "labels" not in spec and "network_mode" not in spec


def test_a_missing_variable_is_a_config_error(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "t.j2", "hello {{ nobody }}\n")
    env = render.environment(trust(project), user_dir)
    with pytest.raises(ConfigError) as caught:
        render.render(env, "t.j2")
    assert "t.j2" in str(caught.value)
    assert "nobody" in str(caught.value)
    assert caught.value.exit_code == 2


def test_a_missing_attribute_is_a_config_error(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "t.j2", "{{ entry.nothing.deeper }}")
    env = render.environment(trust(project), user_dir)
    with pytest.raises(ConfigError):
        render.render(env, "t.j2", entry={})


def test_the_packaged_helper_spec_without_its_variables_is_a_config_error(user_dir: Path) -> None:
    env = render.environment(None, user_dir)
    with pytest.raises(ConfigError, match=re.escape("containers/helper.toml.j2")):
        render.render(env, "containers/helper.toml.j2")


def test_a_missing_template_is_a_config_error_naming_it(user_dir: Path) -> None:
    env = render.environment(None, user_dir)
    with pytest.raises(ConfigError, match=re.escape("placeholders/nosuch.j2")):
        render.render(env, "placeholders/nosuch.j2")


def test_a_template_syntax_error_is_a_config_error(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "t.j2", "{% if %}\n")
    env = render.environment(trust(project), user_dir)
    with pytest.raises(ConfigError, match=re.escape("t.j2")):
        render.render(env, "t.j2")


def test_a_project_template_overrides_the_packaged_one(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "placeholders" / "json.j2", '{"team": true}\n')
    env = render.environment(trust(project), user_dir)
    assert render.render(env, "placeholders/json.j2", entry=None) == '{"team": true}\n'


def test_a_user_template_overrides_the_packaged_one(user_dir: Path) -> None:
    write(user_dir / "templates" / "placeholders" / "json.j2", "[]\n")
    env = render.environment(None, user_dir)
    assert render.render(env, "placeholders/json.j2") == "[]\n"


def test_a_project_template_beats_a_user_template(project: Path, user_dir: Path) -> None:
    write(user_dir / "templates" / "placeholders" / "json.j2", "user\n")
    write(project / ".containai" / "templates" / "placeholders" / "json.j2", "project\n")
    env = render.environment(trust(project), user_dir)
    assert render.render(env, "placeholders/json.j2") == "project\n"


def test_an_override_of_one_template_leaves_the_others_packaged(
    project: Path, user_dir: Path
) -> None:
    write(project / ".containai" / "templates" / "placeholders" / "json.j2", "project\n")
    env = render.environment(trust(project), user_dir)
    expected = (packaged_templates() / "placeholders" / "secret.j2").read_text()
    assert render.render(env, "placeholders/secret.j2") == expected


def test_templates_are_not_html_escaped(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "t.j2", "{{ value }}")
    env = render.environment(trust(project), user_dir)
    assert render.render(env, "t.j2", value='<a href="x">&</a>') == '<a href="x">&</a>'


def test_trailing_newlines_are_kept(project: Path, user_dir: Path) -> None:
    write(project / ".containai" / "templates" / "t.j2", "line\n\n")
    env = render.environment(trust(project), user_dir)
    assert render.render(env, "t.j2") == "line\n\n"


# --- hostile templates ------------------------------------------------------------------------

ESCAPES = [
    "{{ lipsum.__globals__['os'].popen('touch MARK').read() }}",
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self._TemplateReference__context.joiner.__init__.__globals__.os.system('touch MARK') }}",
]


@pytest.mark.parametrize("text", ESCAPES, ids=["lipsum", "cycler", "subclasses", "self"])
def test_a_template_cannot_reach_python(
    text: str, project: Path, user_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(project)
    write(project / ".containai" / "templates" / "t.j2", text)
    env = render.environment(trust(project), user_dir)
    with pytest.raises(ConfigError):
        render.render(env, "t.j2")
    assert not (project / "MARK").exists()


def test_the_user_and_packaged_templates_render_in_the_sandbox_too(user_dir: Path) -> None:
    write(user_dir / "templates" / "placeholders" / "json.j2", ESCAPES[0])
    with pytest.raises(ConfigError):
        render.render(render.environment(None, user_dir), "placeholders/json.j2")


def test_an_untrusted_project_template_is_not_used(project: Path, user_dir: Path) -> None:
    from containai import project as projects

    write(project / ".containai" / "templates" / "placeholders" / "json.j2", "project\n")
    env = render.environment(projects.load(project), user_dir)
    assert render.render(env, "placeholders/json.j2") == "{}"


def test_every_value_in_the_sync_script_is_quoted(user_dir: Path) -> None:
    from containai.container import sync_script
    from containai.host.manifest import Entry

    hostile = "x'; touch /tmp/pwned; echo '$(id)`id`"
    entry = Entry("t", hostile, "file", hostile, hostile, origin="test")
    text = sync_script.script(
        render.environment(None, user_dir), [entry], data_mount="/data", home=f"/h {hostile}"
    )
    import shlex

    assert shlex.quote(hostile) in text and shlex.quote(f"/h {hostile}") in text
    assert f" {hostile} " not in text
