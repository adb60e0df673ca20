"""Which volume paths are secrets: manifest flags plus the configured secret patterns."""

from __future__ import annotations

from collections.abc import Iterable

from pathspec import GitIgnoreSpec

from containai.manifest import Entry


class SecretPaths:
    def __init__(self, entries: Iterable[Entry], patterns: Iterable[str]) -> None:
        self._files = {e.target for e in entries if e.secret and not e.is_dir}
        self._dirs = tuple(f"{e.target}/" for e in entries if e.secret and e.is_dir)
        self._patterns = GitIgnoreSpec.from_lines(list(patterns))

    def __call__(self, path: str) -> bool:
        return (
            path in self._files
            or path.startswith(self._dirs)
            or bool(self._patterns.match_file(path))
        )
