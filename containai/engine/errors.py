"""Where Docker's exceptions stop: each becomes an EngineError with a one-line message."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

from containai.errors import EngineError


def endpoint() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


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
