"""containai.removal.confirm: `cai rm` removes nothing unless told --yes or answered "y" on a
terminal (its engine side is in tests/engine/test_ls_rm.py)."""

from __future__ import annotations

import io

import pytest

from containai.errors import ContainAIError, UsageError
from containai.removal import confirm
from containai.ui import UI


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


WHAT = ["container c (running)", "volume v and all it holds"]


def asked(monkeypatch: pytest.MonkeyPatch, answer: str) -> str:
    """Confirm on a terminal answering ``answer``; what was asked."""
    monkeypatch.setattr("sys.stdin", Terminal(answer))
    err = Terminal()
    confirm(UI(err=err), WHAT, yes=False)
    return err.getvalue()


def test_yes_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal, never read
    err = io.StringIO()
    confirm(UI(err=err), WHAT, yes=True)
    assert err.getvalue() == ""


@pytest.mark.parametrize("answer", ["y\n", "yes\n", " Y \n"])
def test_a_y_on_the_terminal_goes_on(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    question = asked(monkeypatch, answer)
    assert question == "remove container c (running); volume v and all it holds? [y/N] "


@pytest.mark.parametrize("answer", ["\n", "n\n", "no\n", ""])
def test_anything_else_removes_nothing(monkeypatch: pytest.MonkeyPatch, answer: str) -> None:
    with pytest.raises(ContainAIError, match="nothing removed") as caught:
        asked(monkeypatch, answer)
    assert caught.value.exit_code == 1


def test_without_a_terminal_it_refuses_naming_what_it_would_remove(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped: not an answer
    with pytest.raises(UsageError, match=r"would remove container c .*confirm with --yes"):
        confirm(UI(err=Terminal()), WHAT, yes=False)
