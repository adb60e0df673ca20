"""Sanitise a developer's global git config before it is copied into an agent container.

The container must not inherit credential helpers or commit signing (the keys and agents
they point at do not exist there, and helpers can leak secrets), and it must trust the
mounted workspace through `safe.directory`. Everything else is carried over byte for byte.

The parser below mirrors git's own (config.c: get_next_char, get_base_var, get_value,
parse_value) so that whatever git would read as a dropped key, we drop too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FilterResult", "filter_gitconfig", "find_global_gitconfig"]

# git's isspace() is narrower than C's: no \v or \f.
_SPACE = " \t\n\r"
_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "\\": "\\", '"': '"'}
_BOM = "\ufeff"
# Keys dropped outside any subsection; the whole gpg section and every credential helper
# (including URL-scoped ones) are handled in `_sensitive_name`.
_PLAIN_SENSITIVE = frozenset({("user", "signingkey"), ("commit", "gpgsign"), ("tag", "gpgsign")})
# userinfo in a `[credential "https://user:token@host"]` subsection must not reach a report.
_URL_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/]*@")


@dataclass(frozen=True)
class FilterResult:
    text: str
    dropped: tuple[str, ...]


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


def filter_gitconfig(text: str, *, safe_directory: str) -> FilterResult:
    _check_safe_directory(safe_directory)
    # git skips a leading BOM; we keep it in front of the output rather than parse it.
    bom = _BOM if text.startswith(_BOM) else ""
    text = text.removeprefix(bom)
    lines = _Parser(text).parse()
    cuts, dropped = _classify(lines, safe_directory)
    body = "".join(_render(text, line, cut) for line, cut in zip(lines, cuts, strict=True))
    eol = _first_eol(body) or _first_eol(text) or "\n"
    return FilterResult(bom + _append_safe(body, safe_directory, eol), dropped)


def _check_safe_directory(path: str) -> None:
    # An empty safe.directory clears git's list rather than adding to it.
    if not path:
        raise ValueError("safe_directory must not be empty")
    if "\0" in path:
        raise ValueError("safe_directory must not contain NUL")


# --- parsing --------------------------------------------------------------------------------

# (section, subsection) with section lowercased; subsection None for a plain `[section]`.
# None as a whole marks a header git rejects: keys after it belong to no known section.
_Ident = tuple[str, str | None] | None


@dataclass(frozen=True)
class _Key:
    start: int
    name: str
    value: str | None
    # False when git would reject the line; such a line is still dropped if its name is.
    ok: bool


@dataclass
class _Line:
    # One physical line, plus the lines a backslash continuation pulled into its value.
    start: int
    end: int = 0
    headers: list[tuple[int, _Ident]] = field(default_factory=list)
    key: _Key | None = None
    broken: bool = False


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.eof = False
        self.at_newline = False
        self.lines: list[_Line] = []
        self.line = _Line(0)

    def _getc(self) -> str:
        # Like git: CRLF reads as LF, and end of input reads as LF forever.
        if self.pos >= len(self.text):
            self.eof = self.at_newline = True
            return "\n"
        c = self.text[self.pos]
        self.pos += 1
        if c == "\r" and self.text.startswith("\n", self.pos):
            self.pos += 1
            c = "\n"
        self.at_newline = c == "\n"
        return c

    def parse(self) -> list[_Line]:
        comment = False
        while True:
            c = self._getc()
            if c == "\n":
                comment = False
            elif comment or c in _SPACE:
                continue
            elif c in "#;":
                comment = True
                continue
            elif c == "[":
                self._header(self.pos - 1)
                if not self.at_newline:
                    continue
            elif _is_alpha(c):
                self._key(self.pos - 1, c)
            else:
                self._fail()
            if self._end_line():
                return [line for line in self.lines if line.end > line.start]

    def _end_line(self) -> bool:
        if not self.at_newline:
            self._skip_rest()
        self.line.end = self.pos
        self.lines.append(self.line)
        self.line = _Line(self.pos)
        return self.eof

    def _skip_rest(self) -> None:
        while not self.at_newline:
            self._getc()

    def _fail(self) -> None:
        self.line.broken = True
        self._skip_rest()

    def _header(self, start: int) -> None:
        ident = self._section_name()
        self.line.headers.append((start, ident))
        if ident is None:
            self._fail()

    def _section_name(self) -> _Ident:
        chars: list[str] = []
        while True:
            c = self._getc()
            if self.eof:
                return None
            if c == "]":
                return _split_dotted("".join(chars))
            if c in _SPACE:
                return self._quoted_subsection("".join(chars), c)
            if not (_is_keychar(c) or c == "."):
                return None
            chars.append(c.lower())

    def _quoted_subsection(self, base: str, c: str) -> _Ident:
        while c in _SPACE:
            if c == "\n":
                return None
            c = self._getc()
        if c != '"':
            return None
        chars: list[str] = []
        while (c := self._getc()) != '"':
            if c == "\\":
                c = self._getc()
            if c == "\n":
                return None
            chars.append(c)
        if self._getc() != "]":
            return None
        # `[gpg.x "ssh"]` is the variable prefix gpg.x.ssh: section gpg, subsection x.ssh.
        section, _, rest = base.partition(".")
        return section, f"{rest}.{''.join(chars)}" if rest else "".join(chars)

    def _key(self, start: int, first: str) -> None:
        chars = [first.lower()]
        while _is_keychar(c := self._getc()):
            chars.append(c.lower())
        while c in " \t":
            c = self._getc()
        value = None
        if c != "\n":
            value = self._value() if c == "=" else None
        ok = c == "\n" or value is not None
        self.line.key = _Key(start, "".join(chars), value, ok)

    def _value(self) -> str | None:
        quote = comment = False
        chars: list[str] = []
        trim = 0
        while True:
            c = self._getc()
            if c == "\n":
                if quote:
                    return None
                return "".join(chars[:trim] if trim else chars)
            if comment:
                continue
            if c in _SPACE and not quote:
                # Inner whitespace is kept, trailing whitespace trimmed, leading skipped.
                trim = trim or len(chars)
                if chars:
                    chars.append(c)
                continue
            if c in "#;" and not quote:
                comment = True
                continue
            trim = 0
            if c == "\\":
                c = self._getc()
                if c == "\n":
                    continue
                if c not in _ESCAPES:
                    return None
                chars.append(_ESCAPES[c])
            elif c == '"':
                quote = not quote
            else:
                chars.append(c)


def _split_dotted(name: str) -> _Ident:
    # git: `[]` is an error; `[gpg.ssh]` is the deprecated spelling of `[gpg "ssh"]`.
    if not name:
        return None
    section, dot, sub = name.partition(".")
    return section, sub if dot else None


def _is_alpha(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_keychar(c: str) -> bool:
    return (c.isascii() and c.isalnum()) or c == "-"


# --- deciding what goes ---------------------------------------------------------------------


@dataclass
class _Section:
    ident: _Ident
    keys: int = 0
    dropped: int = 0
    broken: bool = False

    @property
    def removed(self) -> bool:
        # Only a section we emptied goes; one that was empty in the input stays.
        return self.keys > 0 and self.dropped == self.keys and not self.broken


def _classify(lines: list[_Line], safe_directory: str) -> tuple[list[int | None], tuple[str, ...]]:
    current = _Section(None)  # keys before any header belong to no section git knows
    opened: list[list[tuple[int, _Section]]] = []
    owners: list[_Section] = []
    dropped: set[int] = set()
    reported: list[str] = []
    for index, line in enumerate(lines):
        opened.append([(start, _Section(ident)) for start, ident in line.headers])
        current = opened[-1][-1][1] if opened[-1] else current
        owners.append(current)
        current.broken |= line.broken
        if line.key is None:
            continue
        current.keys += 1
        name = _sensitive_name(current.ident, line.key.name)
        if name is not None:
            reported.append(name)
        elif not _is_our_safe_directory(current.ident, line.key, safe_directory):
            current.broken |= not line.key.ok
            continue
        current.dropped += 1
        dropped.add(index)
    # Sections are only known to be emptied once all their lines are seen, hence two passes.
    cuts = [_cut(line, opened[i], owners[i], i in dropped) for i, line in enumerate(lines)]
    return cuts, tuple(dict.fromkeys(reported))


def _cut(
    line: _Line, opened: list[tuple[int, _Section]], owner: _Section, dropped: bool
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


def _sensitive_name(ident: _Ident, key: str) -> str | None:
    if ident is None:
        return None
    section, sub = ident
    sensitive = (
        section == "gpg"
        or (section == "credential" and key == "helper")
        or (sub is None and (section, key) in _PLAIN_SENSITIVE)
    )
    if not sensitive:
        return None
    if sub is None:
        return f"{section}.{key}"
    return f"{section}.{_URL_USERINFO.sub(_keep_scheme, sub)}.{key}"


def _keep_scheme(match: re.Match[str]) -> str:
    return match.group(1)


def _is_our_safe_directory(ident: _Ident, key: _Key, safe_directory: str) -> bool:
    return ident == ("safe", None) and key.name == "directory" and key.value == safe_directory


# --- output ---------------------------------------------------------------------------------


def _render(text: str, line: _Line, cut: int | None) -> str:
    if cut is None:
        return text[line.start : line.end]
    kept = text[line.start : cut].rstrip(_SPACE)
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
    if body and _last_line(body).strip(_SPACE):
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
