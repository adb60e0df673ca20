"""The archive's naming rules, shared by the member checks and the manifest schema."""

from __future__ import annotations

from typing import Final

from containai.printable import printable

# Linux limits (PATH_MAX, NAME_MAX); a name beyond them could never be restored anyway.
MAX_NAME_BYTES: Final = 4096
MAX_COMPONENT_BYTES: Final = 255
# Names shown in messages are shortened past this many characters.
_SHOW_MAX: Final = 160


def show(text: str) -> str:
    """``text`` made safe for a one-line message.

    Member names are attacker-chosen: a newline, terminal escape or undecodable byte must not
    split or forge the message, and a 5000-byte name must not drown it.
    """
    return printable(text, limit=_SHOW_MAX)


def oneline(exc: BaseException) -> str:
    return show(str(exc) or type(exc).__name__)


def normalise(name: str) -> str:
    """Strip the leading "./" that `tar -C dir .` puts on every name (once: "././x" keeps a
    "." component and is refused, like any other non-canonical name)."""
    return name.removeprefix("./")


def name_problem(name: str) -> str | None:
    """Why a normalised name is unsafe, or None. Also applied to manifest keys."""
    if not name:
        return "empty name"
    if "\0" in name:
        return "name contains a NUL byte"
    if name.startswith("/"):
        return "absolute name"
    parts = name.split("/")
    if ".." in parts:
        return "name has a '..' component"
    # "a//b" and "a/./b" are harmless on disk but would let one path hide under two names,
    # defeating the duplicate and through-a-symlink checks.
    if "" in parts or "." in parts:
        return "name has an empty or '.' component"
    if byte_len(name) > MAX_NAME_BYTES:
        return f"name is longer than {MAX_NAME_BYTES} bytes"
    if any(byte_len(part) > MAX_COMPONENT_BYTES for part in parts):
        return f"a name component is longer than {MAX_COMPONENT_BYTES} bytes"
    return None


def byte_len(text: str) -> int:
    # tarfile decodes undecodable bytes as lone surrogates; count them as the bytes they were.
    try:
        return len(text.encode("utf-8", "surrogateescape"))
    except UnicodeEncodeError:
        return len(text.encode("utf-8", "surrogatepass"))
