"""One escaping function for everything containai prints that others wrote.

File names, volume and container names, archive members and output relayed from a container
are written by the agent, a repository or an archive's author. Printed raw, a newline could
forge a line and an escape sequence could drive the terminal (OSC 52 writes the clipboard).
"""

from __future__ import annotations


def printable(text: str, *, limit: int | None = None) -> str:
    """``text`` with control characters (C0, C1, ESC, DEL) and undecodable bytes (surrogate
    escapes) shown as Python escapes, optionally cut to about ``limit`` characters."""
    if text.isprintable():
        shown = text
    else:
        shown = "".join(
            ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in text
        )
    if limit is None or len(shown) <= limit:
        return shown
    size = len(text.encode("utf-8", "surrogatepass"))
    return f"{shown[: max(limit - 40, 1)]}...({size} bytes)"
