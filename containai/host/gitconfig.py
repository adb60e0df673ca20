"""Sanitise a developer's global git config before it is copied into an agent container.

The container must not inherit credential helpers or commit signing (the keys and agents
they point at do not exist there, and helpers can leak secrets), nor any token: an
`http.extraHeader`, a key named like a token, password, oauth or secret, a URL with userinfo
(`[url "https://x-access-token:TOKEN@github.com/"]`, `[credential "https://bob:TOKEN@host"]`)
or a value holding one. It must trust the mounted workspace through `safe.directory`.
Everything else is carried over byte for byte.

The parser (gitconfig_parser) mirrors git's own, so that whatever git would read as a dropped
key, we drop too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from containai.host.gitconfig_parser import SPACE, Ident, Key, Line, Parser

__all__ = ["FilterResult", "filter_gitconfig", "find_global_gitconfig"]

_BOM = "\ufeff"
# Keys dropped outside any subsection; the whole gpg section and every credential helper
# (including URL-scoped ones) are handled in `_sensitive_name`.
_PLAIN_SENSITIVE = frozenset({("user", "signingkey"), ("commit", "gpgsign"), ("tag", "gpgsign")})
# userinfo in a `[credential "https://user:token@host"]` subsection must not reach a report.
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@")
# A URL anywhere in a value that carries a password (`https://user:token@host`).
_URL_PASSWORD = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/@\s]*:[^/@\s]*@")
_TOKEN_KEYS = re.compile(r"^(.*token.*|.*passw(or)?d.*|smtppass|oauth.*|.*secret.*)$")


@dataclass(frozen=True)
class FilterResult:
    text: str
    dropped: tuple[str, ...]
    reopen: bool = False  # (an included file) its section goes on after it


def find_global_gitconfig(home: Path, env: Mapping[str, str]) -> Path | None:
    for candidate in _global_candidates(home, env):
        if candidate.is_file():
            return candidate
    return None


def _global_candidates(home: Path, env: Mapping[str, str]) -> list[Path]:
    candidates = []
    # An empty variable means unset, for both (git and the XDG spec agree).
    if explicit := env.get("GIT_CONFIG_GLOBAL"):
        candidates.append(Path(explicit))
    xdg_home = env.get("XDG_CONFIG_HOME") or str(home / ".config")
    candidates.append(Path(xdg_home) / "git" / "config")
    candidates.append(home / ".gitconfig")
    return candidates


# An `[include] path = X`: the filtered text of X (with its own includes inlined), or None when
# it is not to be had (missing, outside the home): then the include is dropped.
Include = Callable[[str], "FilterResult | None"]


def filter_gitconfig(
    text: str, *, safe_directory: str, include: Include | None = None
) -> FilterResult:
    """The filtered file, ``safe.directory`` added. With ``include``, every `[include] path`
    is replaced by the (filtered) file it names, so that the container sees the identity the
    host has; `[includeIf]` sections (conditions on host paths) are dropped and reported."""
    _check_safe_directory(safe_directory)
    filtered = filter_body(text, safe_directory=safe_directory, include=include)
    eol = _first_eol(filtered.text) or _first_eol(text) or "\n"
    return FilterResult(_append_safe(filtered.text, safe_directory, eol), filtered.dropped)


def filter_body(text: str, *, safe_directory: str, include: Include | None = None) -> FilterResult:
    """The filtered file without the safe.directory block (what an include contributes)."""
    # git skips a leading BOM; we keep it in front of the output rather than parse it.
    bom = _BOM if text.startswith(_BOM) else ""
    text = text.removeprefix(bom)
    lines = Parser(text).parse()
    cuts, dropped, inlined = _classify(lines, safe_directory, include)
    eol = _first_eol(text) or "\n"
    parts = []
    for index, (line, cut) in enumerate(zip(lines, cuts, strict=True)):
        parts.append(_render(text, line, cut))
        if index in inlined:
            parts.append(_inline(inlined[index], eol, parts))
            dropped += inlined[index].dropped
    return FilterResult(bom + "".join(parts), tuple(dict.fromkeys(dropped)))


def _check_safe_directory(path: str) -> None:
    # An empty safe.directory clears git's list rather than adding to it.
    if not path:
        raise ValueError("safe_directory must not be empty")
    if "\0" in path:
        raise ValueError("safe_directory must not contain NUL")


# --- deciding what goes ---------------------------------------------------------------------


@dataclass
class _Section:
    ident: Ident
    keys: int = 0
    dropped: int = 0
    broken: bool = False

    @property
    def removed(self) -> bool:
        # Only a section we emptied goes; one that was empty in the input stays.
        return self.keys > 0 and self.dropped == self.keys and not self.broken


def _classify(
    lines: list[Line], safe_directory: str, include: Include | None
) -> tuple[list[int | None], tuple[str, ...], dict[int, FilterResult]]:
    current = _Section(None)  # keys before any header belong to no section git knows
    opened: list[list[tuple[int, _Section]]] = []
    owners: list[_Section] = []
    dropped: set[int] = set()
    reported: list[str] = []
    inlined: dict[int, FilterResult] = {}
    for index, line in enumerate(lines):
        opened.append([(start, _Section(ident)) for start, ident in line.headers])
        current = opened[-1][-1][1] if opened[-1] else current
        owners.append(current)
        current.broken |= line.broken
        if line.key is None:
            continue
        current.keys += 1
        name = _sensitive_name(current.ident, line.key)
        if include is not None and current.ident == ("include", None) and line.key.name == "path":
            found = include(line.key.value or "")
            if found is not None:
                inlined[index] = found
            else:
                reported.append("include.path")
        elif include is not None and current.ident and current.ident[0] == "includeif":
            reported.append(f"includeIf.{current.ident[1]}.{line.key.name}")
        elif name is not None:
            reported.append(name)
        elif not _is_our_safe_directory(current.ident, line.key, safe_directory):
            current.broken |= not line.key.ok
            continue
        current.dropped += 1
        dropped.add(index)
    # Sections are only known to be emptied once all their lines are seen, hence two passes.
    cuts = [_cut(line, opened[i], owners[i], i in dropped) for i, line in enumerate(lines)]
    for index in list(inlined):  # `[include]` again only if a kept key of it follows
        later = [j for j in range(index + 1, len(lines)) if owners[j] is owners[index]]
        reopen = any(lines[j].key is not None and j not in dropped for j in later)
        inlined[index] = replace(inlined[index], reopen=reopen)
    return cuts, tuple(dict.fromkeys(reported)), inlined


def _cut(
    line: Line, opened: list[tuple[int, _Section]], owner: _Section, dropped: bool
) -> int | None:
    # The offset from which this line's content goes, or None to keep it whole. Whatever
    # precedes a cut is whitespace or headers of sections that stay.
    for start, section in opened:
        if section.removed:
            return start
    if not opened and owner.removed:
        return line.start
    if dropped:
        assert line.key is not None
        return line.key.start
    return None


def _sensitive_name(ident: Ident, key: Key) -> str | None:
    """The name to report when this key must go (never its value), else None."""
    if ident is None:
        return None
    section, sub = ident
    userinfo = sub is not None and section in ("url", "credential", "http")
    sensitive = (
        section == "gpg"
        or (section == "credential" and key.name == "helper")
        or (sub is None and (section, key.name) in _PLAIN_SENSITIVE)
        or (section == "http" and key.name == "extraheader")
        or bool(_TOKEN_KEYS.match(key.name))
        or bool(userinfo and _URL_USERINFO.match(sub or ""))
        or bool(key.value and _URL_PASSWORD.search(key.value))
        or (section == "url" and bool(key.value and _URL_USERINFO.match(key.value)))
    )
    if not sensitive:
        return None
    if sub is None:
        return f"{section}.{key.name}"
    return f"{section}.{_URL_USERINFO.sub(_keep_scheme, sub)}.{key.name}"


def _keep_scheme(match: re.Match[str]) -> str:
    return match.group(1)


def _is_our_safe_directory(ident: Ident, key: Key, safe_directory: str) -> bool:
    return ident == ("safe", None) and key.name == "directory" and key.value == safe_directory


# --- output ---------------------------------------------------------------------------------


def _inline(found: FilterResult, eol: str, before: list[str]) -> str:
    """An included file's text where its include was, then `[include]` again: keys after the
    include in the same section still belong to it."""
    if not found.text.strip(SPACE):
        return ""
    so_far = "".join(before)
    lead = eol if so_far and not so_far.endswith("\n") else ""
    body = found.text if found.text.endswith("\n") else found.text + eol
    return f"{lead}{body}[include]{eol}" if found.reopen else f"{lead}{body}"


def _render(text: str, line: Line, cut: int | None) -> str:
    if cut is None:
        return text[line.start : line.end]
    kept = text[line.start : cut].rstrip(SPACE)
    if not kept:
        return ""
    return kept + (_first_eol(text[line.start : line.end]) or "")


def _first_eol(text: str) -> str | None:
    newline = text.find("\n")
    if newline < 0:
        return None
    return "\r\n" if text[newline - 1 : newline] == "\r" else "\n"


def _append_safe(body: str, safe_directory: str, eol: str) -> str:
    if body and not body.endswith("\n"):
        body += eol
    if body and _last_line(body).strip(SPACE):
        body += eol
    return f"{body}[safe]{eol}\tdirectory = {_format_value(safe_directory)}{eol}"


def _last_line(body: str) -> str:
    return body[: body.rindex("\n")].rpartition("\n")[2]


def _format_value(value: str) -> str:
    # Quote only when git would otherwise strip, truncate at a comment, or unescape.
    plain = value.strip(" \t\r") == value and not any(c in value for c in '"\\#;\n\r\t\b')
    if plain:
        return value
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\t", "\\t"), ("\b", "\\b")):
        value = value.replace(raw, escaped)
    return f'"{value}"'
