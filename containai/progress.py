"""A progress bar on stderr for large transfers, only when stderr is a terminal.

The bar fits the terminal: the label is shortened and the speed and time columns are dropped on
narrow terminals (a bar wider than the terminal wraps and scrolls a new line per refresh). It
appears only once a transfer passed ``THRESHOLD`` bytes, so that a transfer whose size is not
known in advance (an export) shows one only when it is large.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from containai.printable import printable
from containai.ui import UI

# Below this, a transfer is over before a bar would help.
THRESHOLD = 16 * 1024 * 1024
# Narrower than these, the speed (and then the time left) are left out.
_SPEED_FROM = 60
_TIME_FROM = 76

Meter = Callable[[Iterable[bytes]], Iterator[bytes]]
Advance = Callable[[int], None]


@contextlib.contextmanager
def metered(ui: UI, total: int | None, label: str) -> Iterator[Meter]:
    """Yields a wrapper that counts the bytes of a stream into a bar (or does nothing).

    ``total`` None: the size is not known; the bar appears after ``THRESHOLD`` bytes.
    """
    with counting(ui, total, label) as advance:

        def meter(stream: Iterable[bytes]) -> Iterator[bytes]:
            for chunk in stream:
                advance(len(chunk))
                yield chunk

        yield meter


@contextlib.contextmanager
def counting(ui: UI, total: int | None, label: str) -> Iterator[Advance]:
    """Yields a function that adds a number of bytes done to a bar (for readers that report
    how far they are rather than hand over a stream)."""
    if (total is not None and total < THRESHOLD) or not shows_bars(ui):
        yield lambda _done: None
        return
    bar = _LazyBar(ui, total, label)
    try:
        yield bar.advance
    finally:
        bar.close()


def shows_bars(ui: UI) -> bool:
    return ui.interactive and not ui.json_output and not ui.quiet


class _LazyBar:
    """A rich progress bar, started at once for a known (large) total, else only once
    THRESHOLD bytes are done."""

    def __init__(self, ui: UI, total: int | None, label: str) -> None:
        self.ui = ui
        self.total = total
        self.label = label
        self.done = 0
        self.start_after = 1 if total is not None else THRESHOLD
        self.progress: Any = None
        self.task: Any = None

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress.update(self.task, completed=self.done)
        elif self.done >= self.start_after:
            self.progress = _progress(self.ui, self.label)
            self.task = self.progress.add_task(
                _shortened(self.label, self.progress.console.width), total=self.total
            )
            self.progress.update(self.task, completed=self.done)
            self.progress.start()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _progress(ui: UI, label: str) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        ProgressColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    console = Console(file=ui.err)
    width = console.width
    # The label is ours but holds a volume name: no rich markup in it is ever interpreted.
    columns: list[ProgressColumn] = [
        TextColumn("{task.description}", markup=False),
        BarColumn(bar_width=None),  # takes what the other columns leave
        DownloadColumn(),
    ]
    if width >= _SPEED_FROM:
        columns.append(TransferSpeedColumn())
    if width >= _TIME_FROM:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=True, expand=True)


def _shortened(label: str, width: int) -> str:
    """At most a quarter of the terminal, so the bar and the numbers always fit beside it."""
    most = max(width // 4, 8)
    shown = printable(label)
    return shown if len(shown) <= most else f"{shown[: most - 1]}…"
