"""Jinja templates (placeholders, the helper-container spec, the sync script) with a
project > user > package override chain.

Every template renders in Jinja's immutable sandbox, packaged ones included: a template can
read the values it is given and call nothing else (no ``lipsum.__globals__`` escape), and a
project's templates are used only when the user trusted them (``project.py``).
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from containai.errors import ConfigError
from containai.project import ProjectFile, ProjectLayer
from containai.resources import packaged_templates


def environment(project: ProjectLayer | None, user_dir: Path) -> jinja2.Environment:
    """Templates are looked up in the trusted project, then the user's config, then the package."""
    loaders: list[jinja2.BaseLoader] = [
        jinja2.FileSystemLoader(str(user_dir / "templates")),
        jinja2.FileSystemLoader(str(packaged_templates())),
    ]
    if project is not None:
        root = project.workspace / ".containai" / "templates"
        files = {f.path.relative_to(root).as_posix(): f for f in project.folder("templates")}
        loaders.insert(0, jinja2.FunctionLoader(lambda name: _text(files.get(name))))
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly, not silently empty
        keep_trailing_newline=True,
        autoescape=False,  # these are config files and scripts, not HTML
    )
    env.filters["shquote"] = shlex.quote
    return env


def _text(found: ProjectFile | None) -> str | None:
    return found.text() if found is not None else None


def render(env: jinja2.Environment, name: str, **variables: Any) -> str:
    try:
        return env.get_template(name).render(**variables)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template {name} not found") from None
    except jinja2.TemplateError as error:  # the sandbox's SecurityError among them
        raise ConfigError(f"template {name}: {error}") from None
