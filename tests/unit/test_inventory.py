"""containai.inventory without an engine: what `cai ls` makes of the labels it finds."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from containai import inventory, labels
from containai.engine.volumes import ListedVolume


class LabelledVolumes:
    """The two calls of the engine facade `cai ls` makes for volumes."""

    def __init__(self, *volumes: ListedVolume) -> None:
        self.volumes = list(volumes)

    def volumes_labelled(self, wanted: Any) -> list[ListedVolume]:
        return self.volumes

    def volume_sizes(self) -> dict[str, int]:
        return {}


def test_a_workspace_this_user_may_not_look_into_is_listed_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Another user's volume on a shared engine names a directory under their 0700 home.
    private = "/home/someone-else/project"
    real_stat = Path.stat

    def stat(self: Path, *, follow_symlinks: bool = True) -> Any:
        if str(self).startswith("/home/someone-else"):
            raise PermissionError(13, "Permission denied", str(self))
        return real_stat(self, follow_symlinks=follow_symlinks)

    monkeypatch.setattr(Path, "stat", stat)
    theirs = ListedVolume(
        name="v1", labels={labels.MANAGED: "true", labels.WORKSPACE: private}, created=""
    )

    [listed] = inventory.managed_volumes(LabelledVolumes(theirs), [], sizes=False)  # type: ignore[arg-type]

    assert (listed.workspace, listed.workspace_exists, listed.current) == (private, False, None)
