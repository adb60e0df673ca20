"""Jinja templates (placeholders, helper-container specs) with a team/user override chain."""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from containai.errors import ConfigError
from containai.resources import packaged_templates


@cache
def environment(project_dir: Path | None, user_dir: Path) -> jinja2.Environment:
    """Templates are looked up in the project, then the user's config, then the package."""
    search = [user_dir / "templates", packaged_templates()]
    if project_dir is not None:
        search.insert(0, project_dir / ".containai" / "templates")
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(path)) for path in search]),
        undefined=jinja2.StrictUndefined,  # a typo in a template fails loudly, not silently empty
        keep_trailing_newline=True,
        autoescape=False,  # these are config files and scripts, not HTML
    )
    env.filters["shquote"] = shlex.quote
    return env


def render(env: jinja2.Environment, name: str, **variables: Any) -> str:
    try:
        return env.get_template(name).render(**variables)
    except jinja2.TemplateNotFound:
        raise ConfigError(f"template {name} not found") from None
    except jinja2.TemplateError as error:
        raise ConfigError(f"template {name}: {error}") from None
