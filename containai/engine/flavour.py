"""Which engine answers, and where its Docker API differs in ways containai must hide.

containai speaks the Docker API only; Podman serves it too, with differences that the facade
absorbs (measured on Podman 4.3 against Docker 20.10):

- a new volume takes its root's owner and mode from the mount point (copy-up) when a container
  that mounts it is *created* on Docker, only when one *starts* on Podman;
- the archive API's stat and download of one path describe a symlink itself on Docker, what
  it points to on Podman (a dangling one, or one leaving the volume, reads as absent);
- a download reports each file's owner on Docker, the container's user for every file on
  Podman.

Both are read from the headers of ``/_ping`` (what the SDK's own version negotiation reads from
``/version``, which costs Podman ~0.3 s: it runs conmon and runc to report their versions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Flavour:
    name: str  # "docker" or "podman"
    api_version: str  # the newest API version the engine speaks ("1.41")
    copies_up_at_create: bool = True
    follows_symlinks: bool = False
    reports_owners: bool = True

    @property
    def podman(self) -> bool:
        return self.name == "podman"


def from_ping(headers: Mapping[str, str]) -> Flavour:
    """The flavour told by ``/_ping``'s headers (requests' are case-insensitive)."""
    api_version = str(headers.get("Api-Version") or "")
    if headers.get("Libpod-Api-Version"):
        return Flavour(
            "podman",
            api_version,
            copies_up_at_create=False,
            follows_symlinks=True,
            reports_owners=False,
        )
    return Flavour("docker", api_version)


def ping(api: Any) -> Flavour:
    """Ask the engine of ``api`` (an SDK APIClient) which it is: one ``/_ping``."""
    response = api._get(api._url("/_ping", versioned_api=False))
    api._raise_for_status(response)
    return from_ping(response.headers)
