"""A progress bar on stderr for large transfers, only when stderr is a terminal."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

from containai.ui import UI

# Below this, a transfer is over before a bar would help.
THRESHOLD = 16 * 1024 * 1024

Meter = Callable[[Iterable[bytes]], Iterator[bytes]]


def _unmetered(stream: Iterable[bytes]) -> Iterator[bytes]:
    yield from stream


@contextlib.contextmanager
def metered(ui: UI, total: int, label: str) -> Iterator[Meter]:
    """Yields a wrapper that counts the bytes of a stream into a bar (or does nothing)."""
    if total < THRESHOLD or ui.json_output or not ui.interactive:
        yield _unmetered
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(file=ui.err), transient=True) as progress:
        task = progress.add_task(label, total=total)

        def meter(stream: Iterable[bytes]) -> Iterator[bytes]:
            for chunk in stream:
                progress.advance(task, len(chunk))
                yield chunk

        yield meter
