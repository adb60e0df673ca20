"""Named volumes: look one up, create one."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from containai.engine.errors import api_errors, inspect_or_none


@dataclass(frozen=True)
class VolumeInfo:
    name: str
    labels: dict[str, str]


class VolumesMixin:
    client: Any

    def volume(self, name: str) -> VolumeInfo | None:
        attrs = inspect_or_none(self.client.api.inspect_volume, "volume", name)
        if attrs is None:
            return None
        return VolumeInfo(name=attrs["Name"], labels=dict(attrs.get("Labels") or {}))

    def create_volume(self, name: str, labels: dict[str, str]) -> VolumeInfo:
        with api_errors(f"cannot create volume {name}"):
            self.client.api.create_volume(name=name, labels=labels)
        return VolumeInfo(name=name, labels=labels)
