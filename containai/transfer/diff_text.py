"""The text `cai diff` shows for one path: a unified diff of what an import would write (``a/``)
against what the volume holds (``b/``), or one line saying why the content is not shown."""

from __future__ import annotations

import difflib

from containai.transfer.status import HOST_DELETED, PathStatus

# Larger files are said to differ, not shown (a diff of them is unreadable anyway).
MOST_SHOWN = 1024 * 1024


def header(status: PathStatus) -> list[str]:
    return [f"diff --cai a/{status.path} b/{status.path}", f"state: {status.state}"]


def body(status: PathStatus, host: bytes | None, volume: bytes | None) -> list[str]:
    """``host``/``volume``: the file's bytes on each side (None: absent, or not a file)."""
    path = status.path
    if status.private:
        if status.state == HOST_DELETED:
            return ["deleted on the host; the volume keeps it (contents not shown)"]
        return ["secret: contents differ"]
    candidate, current = status.candidate, status.current
    if status.kind == "dir" or (current is not None and current.kind == "dir"):
        before = f"{candidate.mode:04o}" if candidate is not None else "none"
        after = f"{current.kind} {current.mode:04o}" if current is not None else "none"
        return [f"directory: host dir {before}, volume {after}"]
    if status.kind == "symlink" or (current is not None and current.kind == "symlink"):
        before = candidate.linkname if candidate is not None and candidate.linkname else "-"
        after = current.linkname if current is not None and current.linkname else "-"
        return [f"symlink: host -> {before}, volume -> {after}"]
    if _too_large(host) or _too_large(volume):
        return [f"files a/{path} and b/{path} differ (larger than {MOST_SHOWN} bytes, not shown)"]
    before_text, after_text = _text(host), _text(volume)
    if before_text is None or after_text is None:
        return [f"Binary files a/{path} and b/{path} differ"]
    lines = []
    for line in difflib.unified_diff(
        before_text,
        after_text,
        fromfile=f"a/{path}" if host is not None else "/dev/null",
        tofile=f"b/{path}" if volume is not None else "/dev/null",
    ):
        if line.endswith("\n"):
            lines.append(line[:-1])
        else:  # the last line of a file without a final newline, as git shows it
            lines += [line, "\\ No newline at end of file"]
    if not lines and candidate is not None and current is not None:
        return [f"mode: host {candidate.mode:04o}, volume {current.mode:04o}"]
    return lines


def _too_large(data: bytes | None) -> bool:
    return data is not None and len(data) > MOST_SHOWN


def _text(data: bytes | None) -> list[str] | None:
    """The lines of ``data``, ends kept (none when absent), or None when it is not text."""
    if data is None:
        return []
    if b"\0" in data[:8192]:
        return None
    try:
        return data.decode("utf-8").splitlines(keepends=True)
    except UnicodeDecodeError:
        return None
