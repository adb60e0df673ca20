"""Tab completion: the candidates ``cai --complete -- WORDS`` prints for the shell scripts of
``cai --print-completion-script bash|zsh|fish`` (invoke's scripts, which pass the words typed
so far and let the shell filter the candidates by the word being typed).

After a command, its flags are due, never another command (cai runs one per call). After a
flag that takes a value, nothing is printed, so that the shell completes file names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from invoke.parser.context import ParserContext

SHELLS = ("bash", "fish", "zsh")  # invoke's completion scripts


def candidates(
    words: list[str],
    *,
    commands: Mapping[str, ParserContext],
    core: ParserContext,
    core_flags: Iterable[str],
    program_names: Iterable[str],
) -> list[str]:
    """What may come next after ``words`` (the command line typed so far, program first)."""
    if words and _is_program(words[0], program_names):
        words = words[1:]
    command, before, after = _split(words, commands, core)
    if command is None:
        last = before[-1] if before else ""
        if last == "--print-completion-script":
            return list(SHELLS)
        if _takes_value(core, last):
            return []
        if last.startswith("-") and last not in core.flags:
            return sorted(core_flags)
        return sorted(commands)  # also after `--help`, whose value is a command
    context = commands[command]
    if after and _takes_value(context, after[-1]):
        return []  # its value: the shell completes file names
    if len(after) >= 2 and _takes_value(context, after[-2]) and not after[-1].startswith("-"):
        return []  # a value being typed
    # A flag given already is not offered again, but the last word is: the shell cannot tell
    # "--dry-run<TAB>" (to be completed with a space) from "--dry-run <TAB>".
    given = {word.split("=", 1)[0] for word in after[:-1]}
    flags = [flag for flag in context.flag_names() if flag not in given]
    if after and after[-1].startswith("-") and not after[-1].startswith("--"):
        return sorted(flags, key=_long_first)  # "-": short flags too
    return sorted(flag for flag in flags if flag.startswith("--"))


def _split(
    words: list[str], commands: Mapping[str, ParserContext], core: ParserContext
) -> tuple[str | None, list[str], list[str]]:
    """The command, the words before it and the words after it (core flag values skipped)."""
    for index, word in enumerate(words):
        if word in commands and not (index and _takes_value(core, words[index - 1])):
            return word, words[:index], words[index + 1 :]
    return None, words, []


def _long_first(flag: str) -> tuple[bool, str]:
    return (not flag.startswith("--"), flag)


def _takes_value(context: ParserContext, word: str) -> bool:
    """A flag that needs a value next (``--help [COMMAND]`` only may have one)."""
    if word not in context.flags:  # a Lexicon: `in` and [] know the short aliases, get() not
        return False
    argument = context.flags[word]
    return bool(argument.takes_value and not argument.optional)


def _is_program(word: str, names: Iterable[str]) -> bool:
    return word.rsplit("/", 1)[-1] in set(names)
