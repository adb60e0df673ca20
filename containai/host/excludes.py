"""One exclude language for import and export: gitignore patterns against volume paths."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pathspec import GitIgnoreSpec

from containai.host.quick_match import QuickSpec
from containai.settings import Settings


@dataclass(frozen=True)
class Rule:
    """A named group of patterns, so a skipped path can be explained ("default_excludes")."""

    name: str
    patterns: tuple[str, ...]


class Excludes:
    """Decides whether a path inside the volume is left out, and says which rule did it."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._rules = [(rule, QuickSpec(GitIgnoreSpec.from_lines(rule.patterns))) for rule in rules]

    def match(self, path: str, *, is_dir: bool = False) -> str | None:
        """The name of the rule that excludes ``path`` (relative POSIX), or None."""
        candidate = f"{path}/" if is_dir else path
        for rule, spec in self._rules:
            if spec.match_file(candidate):
                return rule.name
        return None

    def __bool__(self) -> bool:
        return any(rule.patterns for rule, _ in self._rules)


def under(prefix: str, patterns: Iterable[str]) -> tuple[str, ...]:
    """Anchor entry-relative patterns below ``prefix`` (a volume path)."""
    anchored = []
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        body = body.lstrip("/") if "/" in body.rstrip("/") else f"**/{body}"
        anchored.append(f"{'!' if negated else ''}/{prefix}/{body}")
    return tuple(anchored)


def configured_excludes(settings: Settings, enabled: bool, *, import_defaults: bool) -> Excludes:
    """``excludes`` from the settings (plus ``import.default_excludes`` for an import); none
    under ``--no-excludes``."""
    if not enabled:
        return Excludes([])
    rules = [Rule("excludes", tuple(settings.get_list("excludes")))]
    if import_defaults:
        defaults = tuple(settings.get_list("import.default_excludes"))
        rules.append(Rule("import.default_excludes", defaults))
    return Excludes(rules)
