"""Which volume paths are secrets: manifest flags plus the configured secret patterns."""

from __future__ import annotations

from collections.abc import Iterable

from pathspec import GitIgnoreSpec

from containai.host.manifest import Entry
from containai.host.quick_match import QuickSpec
from containai.settings.layers import Settings


def secret_patterns(settings: Settings) -> GitIgnoreSpec:
    return GitIgnoreSpec.from_lines(settings.get_list("import.secret_patterns"))


class SecretPaths:
    """True for a path that is a secret file, lies in a secret directory, or matches
    ``[import] secret_patterns`` (e.g. an SSH key inside an opted-in ~/.ssh). Entries count by
    their volume target and by their home source alike."""

    def __init__(self, entries: Iterable[Entry], patterns: GitIgnoreSpec) -> None:
        secret = [e for e in entries if e.secret]
        self._files = frozenset(p for e in secret if not e.is_dir for p in (e.target, e.source))
        self._dirs = tuple(f"{p}/" for e in secret if e.is_dir for p in (e.target, e.source))
        self._patterns = QuickSpec(patterns)

    def __call__(self, path: str) -> bool:
        return (
            path in self._files
            or path.startswith(self._dirs)
            or bool(self._patterns.match_file(path))
        )
