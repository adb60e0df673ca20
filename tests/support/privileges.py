"""Running cai as root without root's power over file permissions (CI runs as root)."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1
CAP_DAC_READ_SEARCH = 2


def without_file_capabilities() -> None:
    """In the child: root without the capabilities that let it read any file, so that a
    mode-000 file is as unreadable as it is for any user."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def as_an_ordinary_reader() -> Callable[[], None] | None:
    """The ``preexec_fn`` that makes permissions bind this process's children too."""
    return without_file_capabilities if os.geteuid() == 0 else None
