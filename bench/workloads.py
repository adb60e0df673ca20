"""Deterministic workloads: a fake $HOME whose files all sit under the default manifest's paths.

Every file a workload writes is one that ``cai import`` copies (nothing excluded, nothing outside
a manifest entry), so the baselines can stream the whole tree and still move the same files.
Content comes from a seeded ``random.Random``: text files are slices of a pseudo-English pool
(compressible like real config), binaries are random bytes (fonts, native modules). Every mtime
is fixed, so two generations with one seed are byte-for-byte and stat-for-stat identical.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MTIME = 1_700_000_000
KIB = 1024
MIB = 1024 * 1024

_WORD_LIST = """
    agent config settings model prompt tool skill server extension workspace token theme
    font editor terminal shell alias export path branch commit remote origin user email
    format lint test build run debug launch task keybinding snippet language python
    typescript rust go json yaml toml markdown cache index vector embed context window retry
    timeout limit enable disable default value option flag mode level verbose quiet color
    dark light
"""
_WORDS = tuple(_WORD_LIST.split())


@dataclass
class Workload:
    name: str
    home: Path
    description: str
    files: int = 0
    bytes: int = 0
    dirs: set[str] = field(default_factory=set)
    sample: str = ""  # the file "touch 1 file" modifies (relative to home)

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "files": self.files,
            "bytes": self.bytes,
            "dirs": len(self.dirs),
            "touched": self.sample,
        }

    @contextlib.contextmanager
    def touched(self) -> Iterator[str]:
        """``sample`` with new content (one line more) and a new mtime; put back afterwards, so
        the next run sees the generated tree again. Yields the path, relative to home."""
        path = self.home / self.sample
        original = path.read_bytes()
        path.write_bytes(original + b"# touched by the benchmark\n")
        os.utime(path, (MTIME + 60, MTIME + 60))
        try:
            yield self.sample
        finally:
            path.write_bytes(original)
            os.utime(path, (MTIME, MTIME))


class _Writer:
    """Writes files under ``home`` with fixed mtimes and counts what it wrote."""

    def __init__(self, workload: Workload, rng: random.Random) -> None:
        self.workload = workload
        self.rng = rng
        # 1 MiB of pseudo-text; text files are slices of it plus a unique first line.
        words = [rng.choice(_WORDS) for _ in range(200_000)]
        pool = " ".join(words).encode()
        while len(pool) < 2 * MIB:
            pool += pool
        self.pool = pool[: 2 * MIB]

    def text(self, size: int) -> bytes:
        start = self.rng.randrange(0, len(self.pool) - size - 1) if size < len(self.pool) else 0
        head = f"# {self.rng.getrandbits(64):016x}\n".encode()
        body = self.pool[start : start + max(0, size - len(head))]
        return (head + body)[:size]

    def binary(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    def write(self, relative: str, data: bytes, mode: int = 0o644) -> None:
        path = self.workload.home / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "wb") as handle:
            handle.write(data)
        os.chmod(path, mode)
        os.utime(path, (MTIME, MTIME))
        self.workload.files += 1
        self.workload.bytes += len(data)
        parent = Path(relative).parent
        while parent.as_posix() != ".":
            self.workload.dirs.add(parent.as_posix())
            parent = parent.parent

    def finish(self) -> None:
        # Directory mtimes too, deepest first, so a regenerated tree is stat-identical.
        for relative in sorted(self.workload.dirs, key=lambda d: -d.count("/")):
            os.utime(self.workload.home / relative, (MTIME, MTIME))


def _json(rng: random.Random, keys: int) -> bytes:
    data = {
        f"{rng.choice(_WORDS)}.{rng.choice(_WORDS)}{i}": rng.choice(
            [True, False, rng.randrange(1000), rng.choice(_WORDS), [rng.choice(_WORDS)] * 3]
        )
        for i in range(keys)
    }
    return (json.dumps(data, indent=2, sort_keys=True) + "\n").encode()


def realistic_home(home: Path, *, seed: int, scale: float = 1.0) -> Workload:
    """W1: ~2,000 files / ~20 MB of what a developer's config really looks like (scale=1)."""
    workload = Workload("W1", home, "realistic home: settings, skills, extensions, fonts, rc files")
    w = _Writer(workload, random.Random(seed))
    rng = w.rng

    def count(n: int) -> int:
        return max(1, round(n * scale))

    # git, gh, shell, prompt, editors, tmux
    w.write(
        ".gitconfig",
        b"[user]\n\tname = Bench User\n\temail = bench@example.invalid\n"
        b"[credential]\n\thelper = store\n[core]\n\teditor = vim\n[alias]\n\tst = status\n",
    )
    w.write(".gitignore_global", b"*.swp\n.DS_Store\n.idea/\n")
    w.write(
        ".config/gh/config.yml", b"git_protocol: ssh\neditor: vim\naliases:\n  co: pr checkout\n"
    )
    w.write(".config/gh/hosts.yml", b"github.com:\n  user: bench\n  oauth_token: gho_x\n", 0o600)
    for name in (".bash_aliases", ".zshrc", ".zprofile", ".zshenv", ".inputrc", ".vimrc"):
        w.write(name, w.text(rng.randrange(300, 4000)))
    for i in range(count(12)):
        w.write(f".bashrc.d/{i:02d}-{rng.choice(_WORDS)}.sh", w.text(rng.randrange(200, 3000)))
    w.write(".tmux.conf", w.text(1500))
    w.write(".config/starship.toml", w.text(2500))
    for i in range(count(30)):
        w.write(
            f".config/nvim/lua/plugins/{rng.choice(_WORDS)}{i}.lua",
            w.text(rng.randrange(500, 6000)),
        )
    for i in range(count(20)):
        w.write(f".vim/autoload/{rng.choice(_WORDS)}{i}.vim", w.text(rng.randrange(500, 8000)))
    for i in range(count(10)):
        w.write(f".oh-my-zsh/custom/plugins/p{i}/p{i}.plugin.zsh", w.text(rng.randrange(300, 3000)))

    # agents: settings JSON, skills, commands, agents, hooks
    w.write(".claude.json", _json(rng, 60), 0o600)
    w.write(".claude/settings.json", _json(rng, 30))
    workload.sample = ".claude/settings.json"
    w.write(".claude/settings.local.json", _json(rng, 10))
    w.write(".claude/CLAUDE.md", w.text(6000))
    for s in range(count(25)):
        skill = f".claude/skills/{rng.choice(_WORDS)}-{s:02d}"
        w.write(f"{skill}/SKILL.md", w.text(rng.randrange(1000, 8000)))
        for f in range(rng.randrange(2, 7)):
            w.write(f"{skill}/scripts/{rng.choice(_WORDS)}{f}.py", w.text(rng.randrange(500, 9000)))
        for f in range(rng.randrange(0, 4)):
            w.write(
                f"{skill}/reference/{rng.choice(_WORDS)}{f}.md", w.text(rng.randrange(2000, 20000))
            )
    for i in range(count(25)):
        w.write(f".claude/commands/{rng.choice(_WORDS)}-{i}.md", w.text(rng.randrange(300, 3000)))
    for i in range(count(10)):
        w.write(f".claude/agents/{rng.choice(_WORDS)}-{i}.md", w.text(rng.randrange(500, 4000)))
    for i in range(count(5)):
        w.write(f".claude/hooks/hook{i}.sh", w.text(rng.randrange(200, 1500)), 0o755)
    w.write(".codex/config.toml", w.text(1200))
    w.write(".codex/AGENTS.md", w.text(4000))
    for s in range(count(10)):
        w.write(
            f".codex/skills/{rng.choice(_WORDS)}-{s}/SKILL.md", w.text(rng.randrange(1000, 6000))
        )
    w.write(".gemini/settings.json", _json(rng, 15))
    w.write(".gemini/GEMINI.md", w.text(3000))
    w.write(".config/opencode/opencode.json", _json(rng, 20), 0o600)
    for i in range(count(8)):
        w.write(f".config/opencode/agents/a{i}.md", w.text(rng.randrange(500, 3000)))
    w.write(".copilot/config.json", _json(rng, 10))
    w.write(".cursor/mcp.json", _json(rng, 8), 0o600)
    for i in range(count(6)):
        w.write(
            f".vscode-server/data/User/prompts/p{i}.prompt.md", w.text(rng.randrange(500, 3000))
        )
    w.write(".vscode-server/data/Machine/settings.json", _json(rng, 40))

    # fonts: a few hundred KB of binary each
    for i in range(count(8)):
        w.write(
            f".local/share/fonts/{rng.choice(_WORDS).title()}Mono-{i}.ttf",
            w.binary(rng.randrange(150, 500) * KIB),
        )

    # vscode-server extensions: the bulk of the files (~1,600) and bytes
    for e in range(count(28)):
        name = f"publisher{e % 7}.{rng.choice(_WORDS)}-{e}"
        ext = f".vscode-server/extensions/{name}.1.{rng.randrange(99)}.0"
        w.write(f"{ext}/package.json", _json(rng, rng.randrange(40, 200)))
        w.write(f"{ext}/README.md", w.text(rng.randrange(2000, 20000)))
        w.write(f"{ext}/CHANGELOG.md", w.text(rng.randrange(2000, 30000)))
        w.write(f"{ext}/LICENSE.txt", w.text(1100))
        for f in range(rng.randrange(30, 80)):
            sub = rng.choice(("", "lib/", "util/", "views/"))
            w.write(f"{ext}/out/{sub}{rng.choice(_WORDS)}{f}.js", w.text(rng.randrange(500, 12000)))
        for f in range(rng.randrange(2, 8)):
            w.write(f"{ext}/media/icon{f}.png", w.binary(rng.randrange(1, 40) * KIB))
        if e % 6 == 0:
            w.write(f"{ext}/dist/native.node", w.binary(rng.randrange(300, 900) * KIB), 0o755)
    w.finish()
    return workload


def many_small(home: Path, *, seed: int, scale: float = 1.0) -> Workload:
    """W2: 10,000 files x 1 KiB plus 20 files x 2.5 MB, under skills and extension folders."""
    workload = Workload("W2", home, "many small: 10,000 x 1 KiB + 20 x 2.5 MB")
    w = _Writer(workload, random.Random(seed))
    small = max(1, round(10_000 * scale))
    big = max(1, round(20 * scale))
    for i in range(small):
        if i % 2 == 0:
            relative = f".claude/skills/skill-{i // 100:03d}/ref/f{i % 100:03d}.md"
        else:
            relative = f".vscode-server/extensions/pub.ext-{i // 200:03d}/out/f{i % 200:03d}.js"
        w.write(relative, w.text(KIB))
        workload.sample = workload.sample or relative
    for i in range(big):
        w.write(
            f".vscode-server/extensions/pub.big-{i:02d}/bin/lib{i:02d}.node", w.binary(2_500_000)
        )
    w.finish()
    return workload


def large(home: Path, *, seed: int, scale: float = 1.0) -> Workload:
    """W3: ~1 GB across ~50,000 files (full run only)."""
    workload = Workload("W3", home, "large: ~1 GB across ~50,000 files")
    w = _Writer(workload, random.Random(seed))
    small = max(1, round(49_800 * scale))
    big = max(1, round(200 * scale))
    for i in range(small):
        size = w.rng.randrange(1, 16) * KIB  # mean 8 KiB: ~400 MB
        if i % 3 == 0:
            relative = f".claude/skills/s{i // 300:03d}/docs/f{i % 300:03d}.md"
            data = w.text(size)
        elif i % 3 == 1:
            relative = f".vscode-server/extensions/pub.e{i // 500:03d}/out/m{i % 500:03d}.js"
            data = w.text(size)
        else:
            relative = f".vscode-server/extensions/pub.e{i // 500:03d}/media/a{i % 500:03d}.bin"
            data = w.binary(size)
        w.write(relative, data)
        if not workload.sample and relative.endswith(".md"):
            workload.sample = relative
    for i in range(big):  # 200 x 3 MB = 600 MB of binaries
        w.write(f".local/share/fonts/big/Font{i:03d}.ttf", w.binary(3_000_000))
    w.finish()
    return workload


GENERATORS: dict[str, Callable[..., Workload]] = {
    "W1": realistic_home,
    "W2": many_small,
    "W3": large,
}
