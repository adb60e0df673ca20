"""containai.ui and containai.progress: how loud a command is (--verbose, default, --quiet),
versioned JSON, and a progress bar that fits the terminal."""

from __future__ import annotations

import io
import json
import re

import pytest

from containai import progress
from containai.ui import UI, quiet_command


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def said(ui: UI) -> None:
    ui.info("detail")
    ui.note("note")
    ui.warn("careful")
    ui.error("broken")
    ui.line("result")


@pytest.mark.parametrize(
    ("options", "out", "err"),
    [
        pytest.param({}, "result\n", ["note", "warning: careful", "error: broken"], id="default"),
        pytest.param(
            {"verbose": True},
            "result\n",
            ["detail", "note", "warning: careful", "error: broken"],
            id="verbose",
        ),
        pytest.param({"quiet": True}, "", ["warning: careful", "error: broken"], id="quiet"),
    ],
)
def test_each_volume_says_what_it_should(
    options: dict[str, bool], out: str, err: list[str]
) -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    said(UI(out=stdout, err=stderr, **options))
    assert stdout.getvalue() == out
    assert [line.removeprefix("cai: ") for line in stderr.getvalue().splitlines()] == err


def test_a_quiet_command_makes_every_ui_in_it_quiet() -> None:
    with quiet_command(True):
        inside = UI()
    assert inside.quiet
    assert not UI().quiet


def test_quiet_wins_over_verbose() -> None:
    assert not UI(verbose=True, quiet=True).verbose


def test_every_json_document_carries_its_version() -> None:
    out = io.StringIO()
    UI(json_output=True, out=out).emit_json({"command": "x"})
    assert list(json.loads(out.getvalue()).items()) == [("version", 1), ("command", "x")]


def test_json_is_printed_under_quiet_too() -> None:
    out = io.StringIO()
    UI(json_output=True, quiet=True, out=out).emit_json({"command": "x"})
    assert json.loads(out.getvalue())["command"] == "x"


# -- the progress bar ----------------------------------------------------------------------


def fed(ui: UI, total: int | None, size: int) -> str:
    with progress.metered(ui, total, "import a-volume-with-a-long-name-0123456789") as meter:
        for _chunk in meter(b"x" * (1 << 20) for _ in range(size >> 20)):
            pass
    assert isinstance(ui.err, io.StringIO)
    return ui.err.getvalue()


def visible_lines(text: str) -> list[str]:
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    return [part for part in re.split(r"[\r\n]", plain) if part.strip()]


@pytest.mark.parametrize("columns", [40, 80, 120])
def test_the_bar_fits_the_terminal(monkeypatch: pytest.MonkeyPatch, columns: int) -> None:
    monkeypatch.setenv("COLUMNS", str(columns))
    lines = visible_lines(fed(UI(err=Terminal()), 40 << 20, 40 << 20))
    assert lines, "no bar was drawn"
    assert max(len(line) for line in lines) <= columns
    # One line per refresh: a row too wide for the terminal continues on a line of its own.
    assert all(line.startswith("import") for line in lines), lines


def test_a_transfer_of_unknown_size_gets_a_bar_only_once_it_is_large(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert fed(UI(err=Terminal()), None, progress.THRESHOLD - (1 << 20)) == ""
    assert visible_lines(fed(UI(err=Terminal()), None, progress.THRESHOLD + (4 << 20)))


@pytest.mark.parametrize(
    "ui",
    [
        pytest.param(UI(err=io.StringIO()), id="not-a-terminal"),
        pytest.param(UI(err=Terminal(), quiet=True), id="quiet"),
        pytest.param(UI(err=Terminal(), json_output=True), id="json"),
    ],
)
def test_no_bar_where_it_does_not_belong(ui: UI) -> None:
    assert fed(ui, 40 << 20, 40 << 20) == ""


def test_a_small_transfer_gets_no_bar() -> None:
    assert fed(UI(err=Terminal()), 2 << 20, 2 << 20) == ""
