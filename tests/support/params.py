"""Tables of parametrised cases keyed by their test id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest


def cases(table: Mapping[str, tuple[Any, ...]]) -> list[Any]:
    """``{id: (arg, ...)}`` as the ``pytest.param``s of a parametrize, in the table's order."""
    return [pytest.param(*args, id=case_id) for case_id, args in table.items()]
