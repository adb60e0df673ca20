"""Where Docker's exceptions stop: each becomes an EngineError with a one-line message."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from containai.errors import EngineError

_LOCAL = "unix:///var/run/docker.sock"


def endpoint() -> str:
    """Where the engine is: ``DOCKER_HOST``, else the current Docker context's (``DOCKER_CONTEXT``
    or ``docker context use``), else the local socket, as the docker CLI decides."""
    return os.environ.get("DOCKER_HOST") or _context().get("base_url") or _LOCAL


def endpoint_settings() -> dict[str, Any]:
    """The SDK client's settings for ``endpoint()`` (its base_url and TLS)."""
    import docker

    if os.environ.get("DOCKER_HOST"):
        return dict(docker.utils.kwargs_from_env())
    return _context() or dict(docker.utils.kwargs_from_env())


class _NoContextStore(Exception):
    """No Docker config file: nowhere (absolute) to look a context up."""


def _context() -> dict[str, Any]:
    """base_url (and tls) of the Docker CLI's current context, unless it is "default"."""
    try:
        from docker.context import ContextAPI
        from docker.context.config import get_current_context_name
        from docker.utils.config import find_config_file

        name = os.environ.get("DOCKER_CONTEXT") or get_current_context_name()
        if not name or name == "default":
            return {}
        config = find_config_file()
        if config is None or not os.path.isabs(config):
            # Without a config file the SDK looks for contexts relative to the current
            # directory: a cloned repository would choose the engine. The CLI's store is
            # beside its config file, so with none there is no context to find.
            raise _NoContextStore
        context = ContextAPI.get_context(name)
    except _NoContextStore:
        raise EngineError(
            f"Docker context {name!r} does not exist: no Docker config file "
            "(~/.docker/config.json or $DOCKER_CONFIG/config.json) to find it beside"
        ) from None
    except Exception:  # an unreadable ~/.docker: as if it had no context
        return {}
    if context is None:  # never the local engine in its place: that is not what was asked
        raise EngineError(f"Docker context {name!r} does not exist (see 'docker context ls')")
    if not context.Host:
        return {}
    found: dict[str, Any] = {"base_url": str(context.Host)}
    if context.TLSConfig is not None:
        found["tls"] = context.TLSConfig
    return found


@contextlib.contextmanager
def api_errors(what: str) -> Iterator[None]:
    import docker.errors
    import requests.exceptions

    try:
        yield
    except docker.errors.APIError as error:
        raise EngineError(f"{what}: {reason(error)}") from None
    except (requests.exceptions.ConnectionError, docker.errors.DockerException) as error:
        raise EngineError(
            f"{what}: lost the Docker engine at {endpoint()}: {reason(error)}"
        ) from None


def inspect_or_none(call: Callable[[str], Any], what: str, name: str) -> dict[str, Any] | None:
    """An object's attributes, or None when the engine says it does not exist."""
    import docker.errors

    try:
        attrs: dict[str, Any] = call(name)
    except docker.errors.NotFound:
        return None
    except docker.errors.APIError as error:
        raise EngineError(f"cannot inspect {what} {name}: {reason(error)}") from None
    return attrs


def reason(error: BaseException) -> str:
    explanation = getattr(error, "explanation", None)
    text = str(explanation or error) or type(error).__name__
    return " ".join(text.split())
