"""The words of a cai command line, before invoke parses them, and what a usage error says.

invoke runs several tasks from one command line (``invoke clean build``) and has no optional
positional arguments. cai runs exactly one command per call: after the command, a bare word is
the value of the flag before it, or the command's optional positional argument (``cai import
DIR``), or an error; never a second command (``cai import --dry-run export`` must not export).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from containai.errors import UsageError

if TYPE_CHECKING:
    from invoke.exceptions import ParseError
    from invoke.parser.argument import Argument
    from invoke.parser.context import ParserContext

    from containai.tasks import CaiTask


def arrange(args: list[str], tasks: Mapping[str, CaiTask], *, dashed_words: bool) -> list[str]:
    """``args`` for invoke: the optional positional rewritten as its flag (``import
    --workspace=DIR``), checked to name one command. ``dashed_words``: words followed ``--``.

    Words before the command are invoke's core flags (and their values), left to invoke.
    """
    result: list[str] = []
    name: str | None = None
    filled = expects_value = False
    unknown_flag = False  # invoke then says so, which matters more than a word after it
    for arg in args:
        if name is None:
            result.append(arg)
            name = arg if arg in tasks else None
            continue
        current = tasks[name]
        if expects_value:
            result.append(arg)
            expects_value = False
        elif arg.startswith("-") and arg != "-":
            result.append(arg)
            named, expects_value = _flag(current, arg)
            unknown_flag = unknown_flag or named is None
            filled = filled or current.optional_positional in (named or ())
        elif current.optional_positional and not filled:
            if arg in tasks and not Path(arg).is_dir():
                raise UsageError(
                    f"'{arg}' is not a directory, and cai runs one command per call (run "
                    f"'cai {arg}' on its own; a workspace named so: ./{arg})"
                )
            result.append(f"--{current.optional_positional.replace('_', '-')}={arg}")
            filled = True
        elif unknown_flag and arg not in tasks:  # maybe that flag's value; never a command
            result.append(arg)
        else:
            raise UsageError(_extra_word(name, current, arg, tasks))
    if dashed_words and name is not None and not tasks[name].after_dashes:
        raise UsageError(f"{name} takes no words after '--'")
    return result


def _extra_word(name: str, task: CaiTask, arg: str, tasks: Mapping[str, CaiTask]) -> str:
    if arg in tasks:
        return f"unexpected '{arg}' after '{name}': cai runs one command per call"
    if task.optional_positional:
        return f"{name} takes one {task.optional_positional.upper()}: unexpected '{arg}'"
    hint = f" (did you mean '-- {arg}'?)" if task.after_dashes else ""
    return f"{name} takes no arguments: unexpected '{arg}'{hint}"


def _flag(task: CaiTask, word: str) -> tuple[list[str] | None, bool]:
    """The arguments of ``task`` that ``word`` names (None: not only its flags), and whether
    the next word is a value.

    As invoke reads them: ``--name``, ``--name=value``, ``-n``, ``-nVALUE`` (a short flag that
    takes a value takes the rest of the word) and ``-abc`` (short flags together).
    """
    if word.startswith("--") or len(word) == 2:
        argument = _argument(task, word)
        if argument is None:
            return None, False
        return [str(argument.name)], bool(argument.takes_value and "=" not in word)
    named: list[str] = []
    for at, letter in enumerate(word[1:], start=2):
        argument = _argument(task, f"-{letter}")
        if argument is None:
            return None, False
        named.append(str(argument.name))
        if argument.takes_value:  # its value is the rest of the word, else the next word
            return named, at == len(word)
    return named, False


def _argument(task: CaiTask, flag: str) -> Argument | None:
    """The task's argument that ``flag`` (``--name``, ``-n`` or ``--name=value``) names."""
    spelled = flag.split("=", 1)[0]
    arguments: list[Argument] = task.get_arguments()
    for argument in arguments:
        if spelled in (f"--{n}" if len(n) > 1 else f"-{n}" for n in argument.names):
            return argument
    return None


# -- what a usage error says -----------------------------------------------------------------

_UNKNOWN = re.compile(r"No idea what '(?P<word>.*)' is!")
_NO_VALUE = re.compile(r"Flag <\w+: (?P<name>[^>]+)> needed value and was not given one!")


def usage_message(error: ParseError, *, core_flags: Iterable[str], commands: Iterable[str]) -> str:
    """invoke's parse error, said for cai: which word, for which command, and the nearest
    correct spelling (``--dryrun`` -> ``--dry-run``)."""
    text = str(error)
    context: ParserContext | None = error.context
    unknown = _UNKNOWN.fullmatch(text)
    if unknown:
        word = unknown.group("word")
        if not word.startswith("-"):
            return f"unknown command '{word}'{did_you_mean(word, commands)}"
        if context is not None and context.name:
            choices: Iterable[str] = context.flags
            where = f" for {context.name}"
        else:
            choices, where = core_flags, ""
        spelled = word.split("=", 1)[0]
        return f"unknown option '{word}'{where}{did_you_mean(spelled, choices)}"
    needs = _NO_VALUE.fullmatch(text)
    if needs:
        flag = needs.group("name").split(",")[0].strip().rstrip("_").replace("_", "-")
        return f"--{flag} needs a value"
    return text


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
