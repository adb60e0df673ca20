"""Lock containers: the engine-side half of locking.py (one per volume, made atomically)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from typing import Any

from containai import labels
from containai.engine.errors import api_errors, inspect_or_none, reason
from containai.engine.helpers import HelpersMixin

# An image with nothing in it: a lock container is only ever created, never started.
_EMPTY_TAR = bytes(1024)


class LocksMixin(HelpersMixin):
    def create_lock(self, volume: str, holder: str) -> str | None:
        """Create the volume's lock container; its id, or None when another holds the lock."""
        import docker.errors

        image = self._ensure_generated_image(_EMPTY_TAR)
        with api_errors(f"cannot lock volume {volume}"):
            try:
                return self._create_hardened(
                    lock_name(volume),
                    image,
                    ["/containai-lock-is-never-started"],
                    role=labels.LOCK,
                    volume=volume,
                    extra_labels={labels.LOCK_HOLDER: holder},
                )
            except docker.errors.APIError as error:
                if _name_taken(error):  # someone holds the lock
                    return None
                raise

    def lock_of(self, volume: str) -> tuple[str, str, float] | None:
        """The volume's lock container: (id, holder, created), or None."""
        attrs = inspect_or_none(self.client.api.inspect_container, "container", lock_name(volume))
        if attrs is None:
            return None
        holder = (attrs["Config"].get("Labels") or {}).get(labels.LOCK_HOLDER, "")
        return str(attrs["Id"]), holder, _epoch(attrs.get("Created", ""))

    def remove_lock(self, lock_id: str) -> None:
        with contextlib.suppress(Exception):  # already gone is fine
            self.client.api.remove_container(lock_id, force=True)


def _name_taken(error: Any) -> bool:
    # Docker: 409 Conflict. Podman: 500 "... the container name ... is already in use".
    return bool(error.status_code == 409 or "is already in use" in reason(error))


def lock_name(volume: str) -> str:
    # Container names follow the volume-name rule; a long volume name is hashed to stay short.
    if len(volume) <= 200:
        return f"containai-lock-{volume}"
    return f"containai-lock-{hashlib.sha256(volume.encode()).hexdigest()[:32]}"


def _epoch(created: str) -> float:
    # "2026-12-06T01:23:45.123456789Z": Python reads at most microseconds.
    head, _, fraction = created.rstrip("Z").partition(".")
    try:
        stamp = dt.datetime.fromisoformat(head).replace(tzinfo=dt.UTC)
    except ValueError:
        return 0.0  # unreadable: as old as can be
    return stamp.timestamp() + float(f"0.{fraction[:6] or 0}")
