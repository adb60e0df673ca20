"""containai.command_line: the words of a command line before invoke parses them (one command
per call, the optional positional) and what a usage error says."""

from __future__ import annotations

from pathlib import Path

import pytest

from containai.command_line import arrange, did_you_mean
from containai.errors import UsageError
from containai.tasks import ns

TASKS = {name: ns[name] for name in ns.task_names}


def arranged(line: str, *, dashed_words: bool = False) -> str:
    return " ".join(arrange(line.split(), TASKS, dashed_words=dashed_words))


# The command line as given and as rewritten for invoke, its words split on spaces.
REWRITTEN = {
    "bare": ("import ws", "import --workspace=ws"),
    "after-a-flag-value": ("import --data-volume v ws", "import --data-volume v --workspace=ws"),
    "after-an-inline-flag-value": (
        "import --data-volume=v ws",
        "import --data-volume=v --workspace=ws",
    ),
    "after-a-boolean-flag": ("import --dry-run ws", "import --dry-run --workspace=ws"),
    "after-a-short-boolean": ("import -v ws", "import -v --workspace=ws"),
    "after-from": ("import --from dir ws", "import --from dir --workspace=ws"),
    "a-flag-value-named-like-a-command": ("import --from export", "import --from export"),
    "after-a-core-flag": ("--debug import ws", "--debug import --workspace=ws"),
    "config-too": ("config ws", "config --workspace=ws"),
    "rm-too": ("rm ws --volume v", "rm --workspace=ws --volume v"),
    "after-bundled-booleans": ("import -qv ws", "import -qv --workspace=ws"),
    "after-an-attached-value": ("import -vxname ws", "import -vxname --workspace=ws"),
}
LEFT_ALONE = {
    "explicit-short-flag": "import -w x",
    "explicit-long-flag": "import --workspace x",
    "no-workspace": "import",
    "core-flag-values-before-the-command": "--print-completion-script bash",
    "help-for-a-command": "--help import",
}


@pytest.mark.parametrize(("given", "rewritten"), list(REWRITTEN.values()), ids=list(REWRITTEN))
def test_the_optional_positional_becomes_its_flag(given: str, rewritten: str) -> None:
    assert arranged(given) == rewritten


@pytest.mark.parametrize("given", list(LEFT_ALONE.values()), ids=list(LEFT_ALONE))
def test_a_command_line_without_a_positional_is_left_as_it_is(given: str) -> None:
    assert arranged(given) == given


def test_the_input_list_is_left_alone() -> None:
    args = ["import", "ws"]
    arrange(args, TASKS, dashed_words=False)
    assert args == ["import", "ws"]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        pytest.param("import ws export", "unexpected 'export' after 'import'", id="second-command"),
        pytest.param("import --dry-run export", "'export' is not a directory", id="as-positional"),
        pytest.param("stop run", "'run' is not a directory", id="stop-run"),
        pytest.param("import ws other", "import takes one WORKSPACE: unexpected 'other'", id="two"),
        pytest.param("export ws", "export takes no arguments: unexpected 'ws'", id="none-taken"),
        pytest.param("ls x", "ls takes no arguments: unexpected 'x'", id="ls"),
        # A short flag with its value in the same word is one word, as invoke reads it.
        pytest.param("config -wdir rm", "unexpected 'rm' after 'config'", id="attached-value"),
        pytest.param("import -qvwdir ls", "unexpected 'ls' after 'import'", id="bundled"),
        pytest.param("config --bogus rm", "'rm' is not a directory", id="after-unknown-flag"),
        pytest.param("export --bogus rm", "unexpected 'rm' after 'export'", id="never-a-command"),
    ],
)
def test_a_word_that_is_not_an_argument_is_a_usage_error(given: str, said: str) -> None:
    with pytest.raises(UsageError, match=said):
        arranged(given)


def test_a_directory_named_like_a_command_is_the_workspace(work: Path) -> None:
    (work / "export").mkdir()
    assert arranged("import --dry-run export") == "import --dry-run --workspace=export"


def test_after_an_unknown_flag_a_word_is_left_to_invoke() -> None:
    # The misspelled flag is the error worth saying (invoke does, with a suggestion from cai).
    assert arranged("export --outptu x") == "export --outptu x"


@pytest.mark.parametrize("command", ["shell", "diff"])
def test_words_after_dashes_go_to_the_commands_that_take_them(command: str) -> None:
    assert arranged(command, dashed_words=True) == command


@pytest.mark.parametrize("command", ["import", "export", "run", "ls"])
def test_words_after_dashes_are_refused_by_other_commands(command: str) -> None:
    with pytest.raises(UsageError, match=f"{command} takes no words after '--'"):
        arranged(command, dashed_words=True)


@pytest.mark.parametrize(
    ("word", "choices", "said"),
    [
        ("--dryrun", ["--dry-run", "--data-volume"], " (did you mean '--dry-run'?)"),
        ("imprt", ["import", "export"], " (did you mean 'import'?)"),
        ("zzz", ["import", "export"], ""),
    ],
)
def test_did_you_mean_names_the_nearest_spelling_or_nothing(
    word: str, choices: list[str], said: str
) -> None:
    assert did_you_mean(word, choices) == said
