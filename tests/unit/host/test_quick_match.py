"""containai.host.quick_match: the pre-check never changes pathspec's answer."""

from __future__ import annotations

import itertools

from pathspec import GitIgnoreSpec

from containai.host.quick_match import QuickSpec

PATTERNS = [
    "node_modules/",
    "*.pem",
    "/.claude/projects/",
    "!keep.pem",
    ".config/gh/hosts.yml",
    "**/cache/**",
    "!**/cache/important",
    "id_*",
    "!id_*.pub",
]
PATHS = [
    "a/node_modules/x.js",
    "node_modules/",
    "x.pem",
    "deep/keep.pem",
    ".claude/projects/p/1.json",
    ".claude/settings.json",
    ".config/gh/hosts.yml",
    ".config/gh/config.yml",
    "a/cache/b",
    "a/cache/important",
    ".ssh/id_ed25519",
    ".ssh/id_ed25519.pub",
    "plain.txt",
    "",
]


def test_every_pattern_subset_gives_pathspecs_answer_for_every_path() -> None:
    for size in range(len(PATTERNS) + 1):
        for chosen in itertools.combinations(PATTERNS, size):
            spec = GitIgnoreSpec.from_lines(chosen)
            quick = QuickSpec(spec)
            for path in PATHS:
                assert quick.match_file(path) == bool(spec.match_file(path)), (chosen, path)


def test_only_negations_match_nothing() -> None:
    assert not QuickSpec(GitIgnoreSpec.from_lines(["!x"])).match_file("x")
