"""gitignore-style matching with a fast "no" (pathspec decides every "maybe").

pathspec tries a spec's patterns one by one in Python; a scan asks about every file of the
home, and almost all match nothing. One regular expression, the union of the spec's including
patterns, answers most questions in C: if none of them matches, no pattern can exclude the
path (a negation only re-includes). Otherwise pathspec decides, with gitignore's full rules.
"""

from __future__ import annotations

import re

from pathspec import GitIgnoreSpec

_NAMED_GROUP = re.compile(r"\(\?P<[^>]+>")


class QuickSpec:
    """A GitIgnoreSpec's ``match_file``, with a one-regex pre-check."""

    def __init__(self, spec: GitIgnoreSpec) -> None:
        self.spec = spec
        including = []
        for pattern in spec.patterns:
            regex = getattr(pattern, "regex", None)
            if pattern.include and regex is not None:
                # A group name may repeat across patterns: unnamed in the union.
                including.append(_NAMED_GROUP.sub("(?:", regex.pattern))
        self._any = re.compile("|".join(f"(?:{p})" for p in including)) if including else None

    def match_file(self, path: str) -> bool:
        if self._any is None or self._any.match(path) is None:
            return False
        return bool(self.spec.match_file(path))
