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

    # -- what `cai ls` and `cai rm` need --------------------------------------------------------

    def volumes_labelled(self, wanted: dict[str, str]) -> list[ListedVolume]:
        """Every volume carrying all of ``wanted``, with its creation time."""
        filters = {"label": [f"{key}={value}" for key, value in wanted.items()]}
        with api_errors("cannot list volumes"):
            found = self.client.api.volumes(filters=filters).get("Volumes") or []
        return [
            ListedVolume(
                name=str(item["Name"]),
                labels=dict(item.get("Labels") or {}),
                created=str(item.get("CreatedAt") or ""),
            )
            for item in found
        ]

    def volume_sizes(self) -> dict[str, int]:
        """The disk use of every volume the engine can tell (it walks them all: slow for big
        volumes, so only asked for on request)."""
        with api_errors("cannot ask the engine for its disk use"):
            usage = self.client.api.df()
        sizes: dict[str, int] = {}
        for item in usage.get("Volumes") or []:
            size = (item.get("UsageData") or {}).get("Size", -1)
            if isinstance(size, int) and size >= 0:
                sizes[str(item["Name"])] = size
        return sizes

    def remove_volume(self, name: str) -> None:
        with api_errors(f"cannot remove volume {name}"):
            self.client.api.remove_volume(name)


@dataclass(frozen=True)
class ListedVolume:
    name: str
    labels: dict[str, str]
    created: str  # as the engine says it (RFC 3339); "" when it does not
