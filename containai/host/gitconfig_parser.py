"""A reader of git config text that mirrors git's own (config.c: get_next_char, get_base_var,
get_value, parse_value), keeping each key's offsets so a filter can cut lines out of the text
and leave the rest byte for byte."""

from __future__ import annotations

from dataclasses import dataclass, field

# git's isspace() is narrower than C's: no \v or \f.
SPACE = " \t\n\r"
_ESCAPES = {"t": "\t", "b": "\b", "n": "\n", "\\": "\\", '"': '"'}

# (section, subsection) with section lowercased; subsection None for a plain `[section]`.
# None as a whole marks a header git rejects: keys after it belong to no known section.
Ident = tuple[str, str | None] | None


@dataclass(frozen=True)
class Key:
    start: int
    name: str
    value: str | None
    # False when git would reject the line; such a line is still dropped if its name is.
    ok: bool


@dataclass
class Line:
    # One physical line, plus the lines a backslash continuation pulled into its value.
    start: int
    end: int = 0
    headers: list[tuple[int, Ident]] = field(default_factory=list)
    key: Key | None = None
    broken: bool = False


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.eof = False
        self.at_newline = False
        self.lines: list[Line] = []
        self.line = Line(0)

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

    def parse(self) -> list[Line]:
        comment = False
        while True:
            c = self._getc()
            if c == "\n":
                comment = False
            elif comment or c in SPACE:
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
        self.line = Line(self.pos)
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

    def _section_name(self) -> Ident:
        chars: list[str] = []
        while True:
            c = self._getc()
            if self.eof:
                return None
            if c == "]":
                return _split_dotted("".join(chars))
            if c in SPACE:
                return self._quoted_subsection("".join(chars), c)
            if not (_is_keychar(c) or c == "."):
                return None
            chars.append(c.lower())

    def _quoted_subsection(self, base: str, c: str) -> Ident:
        while c in SPACE:
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
        self.line.key = Key(start, "".join(chars), value, ok)

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
            if c in SPACE and not quote:
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


def _split_dotted(name: str) -> Ident:
    # git: `[]` is an error; `[gpg.ssh]` is the deprecated spelling of `[gpg "ssh"]`.
    if not name:
        return None
    section, dot, sub = name.partition(".")
    return section, sub if dot else None


def _is_alpha(c: str) -> bool:
    return c.isascii() and c.isalpha()


def _is_keychar(c: str) -> bool:
    return (c.isascii() and c.isalnum()) or c == "-"
