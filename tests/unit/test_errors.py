"""errors.exit_codes: the one place where an exception becomes an exit code and one line."""

from __future__ import annotations

import pytest
from invoke.exceptions import Exit

from containai.errors import ArchiveError, ConfigError, exit_codes


def stopped_by(error: BaseException, *, debug: bool = False) -> Exit:
    with pytest.raises(Exit) as caught, exit_codes(debug=debug):
        raise error
    return caught.value


@pytest.mark.parametrize(
    ("error", "code"),
    [(ArchiveError("bad archive"), 1), (ConfigError("bad key"), 2), (KeyboardInterrupt(), 130)],
    ids=["failure", "usage", "interrupt"],
)
def test_each_kind_of_error_has_its_exit_code(error: BaseException, code: int) -> None:
    stop = stopped_by(error)
    assert stop.code == code
    assert stop.message.startswith("cai: ") and "\n" not in stop.message


def test_an_unexpected_error_exits_3_and_points_at_debug() -> None:
    stop = stopped_by(KeyError("oops"))
    assert stop.code == 3
    assert "internal error: KeyError" in stop.message
    assert "--debug" in stop.message


def test_with_debug_an_unexpected_error_keeps_its_traceback() -> None:
    with pytest.raises(KeyError), exit_codes(debug=True):
        raise KeyError("oops")


def test_an_exit_passes_through_unchanged() -> None:
    assert stopped_by(Exit("cai: usage", code=2)).code == 2


def test_a_tilde_path_of_a_user_that_does_not_exist_is_a_usage_error() -> None:
    from pathlib import Path

    with pytest.raises(Exit) as caught, exit_codes():
        Path("~no-such-user-here/x").expanduser()
    assert caught.value.code == 2
    assert "names a user this machine does not have" in caught.value.message
    assert stopped_by(RuntimeError("something else")).code == 3
