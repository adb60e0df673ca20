from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from containai.host.gitconfig import FilterResult, filter_gitconfig, find_global_gitconfig
from tests.support.params import cases

SAFE = "/workspace"
BLOCK = "[safe]\n\tdirectory = /workspace\n"


def run(text: str, safe_directory: str = SAFE) -> FilterResult:
    return filter_gitconfig(text, safe_directory=safe_directory)


def with_block(body: str) -> str:
    # What the output should be when `body` is what survives filtering.
    return body + ("\n" if body and not body.endswith("\n\n") else "") + BLOCK


def assert_filtered(text: str, kept: str, dropped: tuple[str, ...]) -> None:
    """Filtering ``text`` keeps ``kept`` (before the safe block) and reports ``dropped``."""
    assert run(text) == FilterResult(with_block(kept), dropped)


# --- find_global_gitconfig ------------------------------------------------------------------


def make_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[core]\n")
    return path


def test_find_prefers_git_config_global(tmp_path: Path) -> None:
    explicit = make_file(tmp_path / "elsewhere" / "gitconfig")
    make_file(tmp_path / ".config" / "git" / "config")
    make_file(tmp_path / ".gitconfig")
    env = {"GIT_CONFIG_GLOBAL": str(explicit)}
    assert find_global_gitconfig(tmp_path, env) == explicit


def test_find_uses_xdg_config_home(tmp_path: Path) -> None:
    xdg = make_file(tmp_path / "xdg" / "git" / "config")
    make_file(tmp_path / ".config" / "git" / "config")
    env = {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    assert find_global_gitconfig(tmp_path, env) == xdg


def test_find_defaults_xdg_to_home_dot_config_before_home_gitconfig(tmp_path: Path) -> None:
    xdg = make_file(tmp_path / ".config" / "git" / "config")
    make_file(tmp_path / ".gitconfig")
    assert find_global_gitconfig(tmp_path, {}) == xdg


def test_find_falls_back_to_home_gitconfig(tmp_path: Path) -> None:
    home_config = make_file(tmp_path / ".gitconfig")
    assert find_global_gitconfig(tmp_path, {}) == home_config


def test_find_returns_none_when_nothing_exists(tmp_path: Path) -> None:
    assert find_global_gitconfig(tmp_path, {}) is None


def test_find_skips_missing_and_non_regular_candidates(tmp_path: Path) -> None:
    (tmp_path / ".config" / "git" / "config").mkdir(parents=True)
    home_config = make_file(tmp_path / ".gitconfig")
    env = {"GIT_CONFIG_GLOBAL": str(tmp_path / "missing")}
    assert find_global_gitconfig(tmp_path, env) == home_config


def test_find_treats_empty_variables_as_unset(tmp_path: Path) -> None:
    xdg = make_file(tmp_path / ".config" / "git" / "config")
    env = {"GIT_CONFIG_GLOBAL": "", "XDG_CONFIG_HOME": ""}
    assert find_global_gitconfig(tmp_path, env) == xdg


def test_find_follows_symlinked_dotfiles(tmp_path: Path) -> None:
    target = make_file(tmp_path / "dotfiles" / "gitconfig")
    link = tmp_path / ".gitconfig"
    link.symlink_to(target)
    assert find_global_gitconfig(tmp_path, {}) == link


# --- dropped keys ---------------------------------------------------------------------------

# (input holding only keys that must go, the names reported for them)
DROP_CASES = cases(
    {
        "credential.helper": ("[credential]\n\thelper = osxkeychain\n", ("credential.helper",)),
        "credential.helper-mixed-case": (
            "[Credential]\n\tHELPER = store\n",
            ("credential.helper",),
        ),
        "credential.helper-url-subsection": (
            '[credential "https://github.com"]\n\thelper = manager\n',
            ("credential.https://github.com.helper",),
        ),
        "user.signingkey": ("[user]\n\tsigningkey = 0xDEADBEEF\n", ("user.signingkey",)),
        "user.signingkey-mixed-case": (
            "[USER]\n\tSigningKey = ~/.ssh/id_ed25519.pub\n",
            ("user.signingkey",),
        ),
        "commit.gpgsign": ("[commit]\n\tgpgsign = true\n", ("commit.gpgsign",)),
        "commit.gpgsign-no-value": ("[commit]\n\tgpgSign\n", ("commit.gpgsign",)),
        "tag.gpgsign-inline-comment": ("[Tag]\n\tGpgSign = true ; always\n", ("tag.gpgsign",)),
        "tag.gpgsign-quoted-value": ('[tag]\n\tgpgsign = "true"\n', ("tag.gpgsign",)),
        "gpg-every-key": (
            "[gpg]\n\tprogram = gpg2\n\tformat = ssh\n",
            ("gpg.program", "gpg.format"),
        ),
        "gpg-quoted-subsection": (
            '[gpg "ssh"]\n\tprogram = /opt/1Password/op-ssh-sign\n'
            "\tallowedSignersFile = ~/.ssh/a\n",
            ("gpg.ssh.program", "gpg.ssh.allowedsignersfile"),
        ),
        "gpg-dotted": ("[gpg.ssh]\n\tprogram = op-ssh-sign\n", ("gpg.ssh.program",)),
        "gpg-dotted-mixed-case": ("[GPG.SSH]\n\tProgram = x\n", ("gpg.ssh.program",)),
        "gpg-x509-subsection": ('[gpg "x509"]\n\tprogram = smimesign\n', ("gpg.x509.program",)),
        "key-on-header-line": ("[commit] gpgsign = true\n", ("commit.gpgsign",)),
        "indented-trailing-space": ("\t[gpg]\n\t\tprogram = gpg2  \n", ("gpg.program",)),
    }
)

KEPT_BEFORE = "# my config\n[core]\n\teditor = vim\n"
KEPT_AFTER = (
    '[alias]\n\tst = status\n[include]\n\tpath = ~/.gitconfig.local\n[url "git@github.com:"]\n'
)


@pytest.mark.parametrize(("text", "dropped"), DROP_CASES)
def test_drops_sensitive_keys_and_their_emptied_section(
    text: str, dropped: tuple[str, ...]
) -> None:
    assert run(text) == FilterResult(BLOCK, dropped)


@pytest.mark.parametrize(("text", "dropped"), DROP_CASES)
def test_drops_sensitive_keys_between_kept_sections(text: str, dropped: tuple[str, ...]) -> None:
    result = run(KEPT_BEFORE + text + KEPT_AFTER)
    assert result == FilterResult(with_block(KEPT_BEFORE + KEPT_AFTER), dropped)


# (input, what is kept of it, the names dropped): a sensitive key among keys that stay
KEEPS_THE_OTHER_KEYS = cases(
    {
        "user-name-and-email-kept-signingkey-dropped": (
            "[user]\n\tname = Ada Lovelace\n\tsigningkey = ABCD1234\n\temail = ada@example.com\n",
            "[user]\n\tname = Ada Lovelace\n\temail = ada@example.com\n",
            ("user.signingkey",),
        ),
        "credential-subsection-keeps-its-other-keys": (
            '[credential "https://github.com"]\n\thelper =\n\thelper = manager\n\tusername = ada\n',
            '[credential "https://github.com"]\n\tusername = ada\n',
            ("credential.https://github.com.helper",),
        ),
    }
)


@pytest.mark.parametrize(("text", "kept", "dropped"), KEEPS_THE_OTHER_KEYS)
def test_a_sensitive_key_goes_and_the_other_keys_stay(
    text: str, kept: str, dropped: tuple[str, ...]
) -> None:
    assert_filtered(text, kept, dropped)


def test_key_on_header_line_is_cut_and_the_header_kept() -> None:
    result = run("[commit] gpgsign = true # sign it\n\tverbose = true\n")
    assert result.text == with_block("[commit]\n\tverbose = true\n")


def test_keys_that_only_resemble_sensitive_ones_are_kept() -> None:
    text = (
        '[user "work"]\n\tsigningkey = ABC\n'  # not a git variable: only user.signingkey is
        "[credential]\n\tusername = ada\n\tuseHttpPath = true\n"
        "[commit]\n\tverbose = true\n"
        "[alias]\n\tgpg = log --show-signature\n"
    )
    assert run(text) == FilterResult(with_block(text), ())


# --- credential subsections -----------------------------------------------------------------


def test_credential_helpers_in_several_subsections_are_all_dropped() -> None:
    text = (
        "[credential]\n\thelper = cache\n"
        '[credential "https://github.com"]\n\thelper = gh auth git-credential\n'
        '[credential "https://dev.azure.com"]\n\thelper = manager\n\tuseHttpPath = true\n'
    )
    assert_filtered(
        text,
        kept='[credential "https://dev.azure.com"]\n\tuseHttpPath = true\n',
        dropped=(
            "credential.helper",
            "credential.https://github.com.helper",
            "credential.https://dev.azure.com.helper",
        ),
    )


def test_report_keeps_subsection_case_but_not_url_userinfo() -> None:
    text = (
        '[credential "https://GitHub.com"]\n\thelper = a\n'
        '[credential "https://ada:ghp_SECRET@example.com/repo"]\n\thelper = b\n'
    )
    assert run(text).dropped == (
        "credential.https://GitHub.com.helper",
        "credential.https://example.com/repo.helper",
    )


# --- continuation lines ---------------------------------------------------------------------

CONTINUATION_CASES = cases(
    {
        "dropped-quoted-continuation": (
            '[credential]\n\thelper = "!f() { \\\n\t  echo password=$TOKEN; }; f"\n'
            "\tuseHttpPath = true\n",
            with_block("[credential]\n\tuseHttpPath = true\n"),
            ("credential.helper",),
        ),
        "dropped-unquoted-continuation": (
            "[gpg]\n\tprogram = a \\\n b \\\n c\n[core]\n\tbare = false\n",
            with_block("[core]\n\tbare = false\n"),
            ("gpg.program",),
        ),
        "kept-continuation-verbatim": (
            "[alias]\n\tlg = log \\\n\t  --oneline\n",
            with_block("[alias]\n\tlg = log \\\n\t  --oneline\n"),
            (),
        ),
        "continued-line-that-looks-like-a-key": (
            "[user]\n\tname = Ada \\\nsigningkey = part-of-the-name\n",
            with_block("[user]\n\tname = Ada \\\nsigningkey = part-of-the-name\n"),
            (),
        ),
        "backslash-in-comment-does-not-continue": (
            "[commit]\n\tgpgsign = true # sign \\\n\tverbose = true\n",
            with_block("[commit]\n\tverbose = true\n"),
            ("commit.gpgsign",),
        ),
        "crlf-continuation": (
            "[tag]\n\tgpgsign = tr\\\r\n ue\r\n[core]\r\n\tbare = false\r\n",
            "[core]\r\n\tbare = false\r\n\r\n[safe]\r\n\tdirectory = /workspace\r\n",
            ("tag.gpgsign",),
        ),
        "continuation-at-end-of-file": (
            "[core]\n\tbare = false\n[gpg]\n\tprogram = x \\",
            with_block("[core]\n\tbare = false\n"),
            ("gpg.program",),
        ),
    }
)


@pytest.mark.parametrize(("text", "expected", "dropped"), CONTINUATION_CASES)
def test_continued_values_go_with_their_key(
    text: str, expected: str, dropped: tuple[str, ...]
) -> None:
    assert run(text) == FilterResult(expected, dropped)


# --- section removal ------------------------------------------------------------------------

SECTION_CASES = cases(
    {
        "emptied-section-goes-with-its-comments": (
            "[gpg]\n\t# signing via 1Password\n\tprogram = op\n\n[core]\n\tbare = false\n",
            with_block("[core]\n\tbare = false\n"),
        ),
        "emptied-last-section": (
            "[core]\n\tbare = false\n\n[gpg]\n\tprogram = op\n; trailing\n",
            "[core]\n\tbare = false\n\n" + BLOCK,
        ),
        "already-empty-section-kept": (
            "[gpg]\n[core]\n\tbare = false\n",
            with_block("[gpg]\n[core]\n\tbare = false\n"),
        ),
        "already-empty-section-with-comment-kept": (
            "[credential]\n\t# nothing here yet\n",
            with_block("[credential]\n\t# nothing here yet\n"),
        ),
        "section-with-kept-keys-stays": (
            "[commit]\n\tgpgsign = true\n\tverbose = true\n",
            with_block("[commit]\n\tverbose = true\n"),
        ),
        "two-headers-on-one-line": (
            "[gpg] [core]\n\tbare = false\n",
            with_block("[gpg] [core]\n\tbare = false\n"),
        ),
        "emptied-second-header-on-a-line": (
            "[core] [gpg] program = x\n[alias]\n\tst = status\n",
            with_block("[core]\n[alias]\n\tst = status\n"),
        ),
    }
)


@pytest.mark.parametrize(("text", "expected"), SECTION_CASES)
def test_only_sections_we_emptied_are_removed(text: str, expected: str) -> None:
    assert run(text).text == expected


# --- verbatim -------------------------------------------------------------------------------

REALISTIC = """\
# ~/.gitconfig, managed by hand
[user]
\tname = Ada Lovelace
\temail = ada@example.com ; work address

[core]
    editor = "code --wait"
\texcludesFile = ~/.gitignore_global
\tautocrlf

[alias]
\tco = checkout
\thist = "log --graph --pretty=format:'%h %s' # not a comment"
\tsave = !git add -A && git commit -m \\"wip\\"

[include]
\tpath = ~/.gitconfig.local
[includeIf "gitdir:~/work/"]
\tpath = ~/.gitconfig.work
[url "git@github.com:"]
\tinsteadOf = https://github.com/
[Diff "Lockb"]
\ttextconv = bun
\tbinary = true
"""


def test_unrelated_content_is_kept_byte_for_byte() -> None:
    assert run(REALISTIC) == FilterResult(with_block(REALISTIC), ())


def test_realistic_config_loses_only_sensitive_lines() -> None:
    text = REALISTIC.replace(
        "\temail = ada@example.com ; work address\n",
        "\temail = ada@example.com ; work address\n\tsigningKey = ~/.ssh/id.pub\n",
    ).replace(
        "[include]\n",
        '[gpg]\n\tformat = ssh\n[gpg "ssh"]\n\tprogram = op-ssh-sign\n'
        "[commit]\n\tgpgsign = true\n[credential]\n\thelper = osxkeychain\n[include]\n",
    )
    result = run(text)
    assert result.text == with_block(REALISTIC)
    assert result.dropped == (
        "user.signingkey",
        "gpg.format",
        "gpg.ssh.program",
        "commit.gpgsign",
        "credential.helper",
    )


def test_input_without_final_newline_gets_one() -> None:
    assert run("[core]\n\tbare = false").text == with_block("[core]\n\tbare = false\n")


def test_leading_bom_stays_in_front() -> None:
    result = run("\ufeff[gpg]\n\tprogram = x\n[core]\n\tbare = false\n")
    assert result.text == "\ufeff" + with_block("[core]\n\tbare = false\n")


MALFORMED_CASES = [
    pytest.param("[core\n\tbare = false\n", id="unclosed-header"),
    pytest.param('[url "x]\n\tinsteadOf = y\n', id="unclosed-subsection"),
    pytest.param("[core]\n\t= orphan value\n", id="line-without-key"),
    pytest.param('[alias]\n\tx = "unterminated\n', id="unterminated-quote"),
    pytest.param("[alias]\n\tx = bad \\q escape\n", id="bad-escape"),
    pytest.param("name = before any section\n", id="key-before-any-section"),
]


@pytest.mark.parametrize("text", MALFORMED_CASES)
def test_lines_git_would_reject_are_kept_verbatim(text: str) -> None:
    assert run(text) == FilterResult(with_block(text), ())


def test_malformed_sensitive_keys_are_still_dropped() -> None:
    text = (
        '[credential]\n\thelper = "!echo password=SECRET\n\thelper: bad\n[gpg]\n\tprogram = \\x\n'
    )
    assert run(text) == FilterResult(BLOCK, ("credential.helper", "gpg.program"))


def test_section_with_a_line_git_rejects_is_not_removed() -> None:
    # We only remove sections we understood fully and emptied.
    assert run("[gpg]\n\tprogram = x\n\t!!!\n").text == with_block("[gpg]\n\t!!!\n")


# --- safe.directory -------------------------------------------------------------------------


def test_empty_input_is_just_the_safe_block() -> None:
    assert run("") == FilterResult(BLOCK, ())


def test_blank_input_is_kept_before_the_safe_block() -> None:
    assert run("\n").text == "\n" + BLOCK


def test_existing_other_safe_directory_is_kept_and_ours_appended_once() -> None:
    text = "[safe]\n\tdirectory = /other\n"
    result = run(text)
    assert result.text == with_block(text)
    assert run(result.text).text.count("directory = /workspace") == 1


SAFE_CASES = cases(
    {
        "ours-moves-to-the-end": (
            "[safe]\n\tdirectory = /workspace\n[core]\n\tbare = false\n",
            with_block("[core]\n\tbare = false\n"),
        ),
        "ours-removed-others-kept": (
            "[safe]\n\tdirectory = /other\n\tdirectory = /workspace\n",
            with_block("[safe]\n\tdirectory = /other\n"),
        ),
        "ours-recognised-by-value": ('[Safe]\n\tDirectory = "/workspace" # quoted\n', BLOCK),
        "similar-values-kept": (
            "[safe]\n\tdirectory = /workspace/sub\n\tdirectory = *\n",
            with_block("[safe]\n\tdirectory = /workspace/sub\n\tdirectory = *\n"),
        ),
        "already-empty-safe-kept": ("[safe]\n", with_block("[safe]\n")),
    }
)


@pytest.mark.parametrize(("text", "expected"), SAFE_CASES)
def test_our_safe_directory_appears_exactly_once_at_the_end(text: str, expected: str) -> None:
    result = run(text)
    assert result == FilterResult(expected, ())


@pytest.mark.parametrize(
    ("path", "written"),
    [
        pytest.param("/work space", "/work space", id="inner-space-plain"),
        pytest.param("/repo#1", '"/repo#1"', id="comment-char"),
        pytest.param("/a;b", '"/a;b"', id="semicolon"),
        pytest.param('/say "hi"\\', '"/say \\"hi\\"\\\\"', id="quote-and-backslash"),
        pytest.param(" /lead", '" /lead"', id="leading-space"),
    ],
)
def test_safe_directory_is_quoted_when_git_needs_it(path: str, written: str) -> None:
    result = run("", safe_directory=path)
    assert result.text == f"[safe]\n\tdirectory = {written}\n"
    assert run(result.text, safe_directory=path) == result


def test_empty_safe_directory_is_refused() -> None:
    # An empty safe.directory resets git's list instead of adding to it.
    with pytest.raises(ValueError, match="empty"):
        run("", safe_directory="")


# --- line endings ---------------------------------------------------------------------------

CRLF_CASES = cases(
    {
        "crlf": (
            "[user]\r\n\tname = Ada\r\n\tsigningkey = X\r\n[gpg]\r\n\tprogram = y\r\n",
            "[user]\r\n\tname = Ada\r\n\r\n[safe]\r\n\tdirectory = /workspace\r\n",
        ),
        "crlf-without-final-newline": (
            "[core]\r\n\tbare = false",
            "[core]\r\n\tbare = false\r\n\r\n[safe]\r\n\tdirectory = /workspace\r\n",
        ),
        "mixed-follows-first-kept-line": (
            "[gpg]\r\n\tprogram = y\r\n[core]\n\tbare = false\r\n",
            "[core]\n\tbare = false\r\n\n[safe]\n\tdirectory = /workspace\n",
        ),
        "crlf-cut-header-line": (
            "[commit] gpgsign\r\n\tverbose\r\n",
            "[commit]\r\n\tverbose\r\n\r\n[safe]\r\n\tdirectory = /workspace\r\n",
        ),
        "crlf-everything-dropped": (
            "[gpg]\r\n\tprogram = y\r\n",
            "[safe]\r\n\tdirectory = /workspace\r\n",
        ),
    }
)


@pytest.mark.parametrize(("text", "expected"), CRLF_CASES)
def test_line_endings_of_kept_lines_are_preserved(text: str, expected: str) -> None:
    assert run(text).text == expected


# --- properties over every input above ------------------------------------------------------

SECRET = "hunter2-SECRET"
SECRETS = (
    f"[credential]\n\thelper = !echo password={SECRET}\n"
    f'[credential "https://x:{SECRET}@host"]\n\thelper = store\n'
    f"[user]\n\tsigningkey = {SECRET}\n\tname = Ada\n"
    f'[gpg "ssh"]\n\tdefaultKeyCommand = echo {SECRET}\n'
)


def build_corpus() -> dict[str, str]:
    # Every input above, alone and followed by more config, keyed by a readable id.
    params = [
        *DROP_CASES,
        *CONTINUATION_CASES,
        *SECTION_CASES,
        *MALFORMED_CASES,
        *SAFE_CASES,
        *CRLF_CASES,
    ]
    alone = {str(param.id): str(param.values[0]) for param in params}
    more = {f"{name}+more": f"{text}\n{KEPT_AFTER}" for name, text in alone.items()}
    return {
        **alone,
        **more,
        "empty": "",
        "blank": "\n",
        "realistic": REALISTIC,
        "secrets": SECRETS,
        "nothing-sensitive": KEPT_BEFORE + KEPT_AFTER,
    }


CORPUS = build_corpus()
over_corpus = pytest.mark.parametrize("text", list(CORPUS.values()), ids=list(CORPUS))


@over_corpus
def test_filtering_is_idempotent_and_deterministic(text: str) -> None:
    once = run(text)
    assert run(text) == once
    assert run(once.text) == FilterResult(once.text, ())
    assert once.text.endswith("\n")
    assert not once.text.endswith("\n\n")
    assert once.text.rstrip("\r\n").endswith("directory = /workspace")


@over_corpus
def test_dropped_names_never_carry_values(text: str) -> None:
    result = run(text + "\n" + SECRETS)
    assert SECRET not in result.text
    assert not [name for name in result.dropped if SECRET in name]


def test_secrets_are_reported_by_name_only() -> None:
    result = run(SECRETS)
    assert SECRET not in result.text
    assert result.dropped == (
        "credential.helper",
        "credential.https://host.helper",
        "user.signingkey",
        "gpg.ssh.defaultkeycommand",
    )


# --- git itself agrees ----------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git_list(path: Path) -> list[tuple[str, str | None]]:
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(path.parent)}
    out = subprocess.run(
        ["git", "config", "--no-includes", "--file", str(path), "--list", "--null"],
        capture_output=True,
        check=True,
        env=env,
        text=True,
    ).stdout
    entries = [entry.partition("\n") for entry in out.split("\0")[:-1]]
    return [(name, value if sep else None) for name, sep, value in entries]


def is_sensitive(name: str) -> bool:
    section, _, rest = name.partition(".")
    key = rest.rpartition(".")[2]
    subsection = "." in rest
    return (
        section == "gpg"
        or (section == "credential" and key == "helper")
        or (
            not subsection
            and (section, key)
            in {("user", "signingkey"), ("commit", "gpgsign"), ("tag", "gpgsign")}
        )
    )


# git refuses these outright, so there is nothing to compare.
GIT_REJECTS = tuple(str(param.values[0]) for param in MALFORMED_CASES)
GIT_PARSABLE = {
    name: text for name, text in CORPUS.items() if not any(bad in text for bad in GIT_REJECTS)
}


@needs_git
@pytest.mark.parametrize("text", list(GIT_PARSABLE.values()), ids=list(GIT_PARSABLE))
def test_git_reads_the_same_config_minus_dropped_keys(tmp_path: Path, text: str) -> None:
    source = tmp_path / "in.gitconfig"
    source.write_text(text, encoding="utf-8", newline="")
    filtered = tmp_path / "out.gitconfig"
    filtered.write_text(run(text).text, encoding="utf-8", newline="")
    expected = [
        (name, value)
        for name, value in git_list(source)
        if not is_sensitive(name) and (name, value) != ("safe.directory", SAFE)
    ]
    assert git_list(filtered) == [*expected, ("safe.directory", SAFE)]


# --- tokens never reach the container ---------------------------------------------------------

TOKEN = "ghp_0123456789abcdefSECRET"


@pytest.mark.parametrize(
    ("text", "dropped"),
    cases(
        {
            "extra-header": (
                f"[http]\n\textraHeader = AUTHORIZATION: bearer {TOKEN}\n",
                "http.extraheader",
            ),
            "url-extra-header": (
                f'[http "https://github.com/"]\n\textraheader = Authorization: basic {TOKEN}\n',
                "http.https://github.com/.extraheader",
            ),
            "url-userinfo": (
                f'[url "https://x-access-token:{TOKEN}@github.com/"]\n'
                "\tinsteadOf = https://github.com/\n",
                "url.https://github.com/.insteadof",
            ),
            "value-userinfo": (
                f'[url "https://github.com/"]\n\tpushInsteadOf = https://{TOKEN}@github.com/\n',
                "url.https://github.com/.pushinsteadof",
            ),
            "credential-userinfo": (
                f'[credential "https://bob:{TOKEN}@host"]\n\tusername = bob\n',
                "credential.https://host.username",
            ),
            "token": (f"[github]\n\ttoken = {TOKEN}\n", "github.token"),
            "smtp": (f"[sendemail]\n\tsmtpPass = {TOKEN}\n", "sendemail.smtppass"),
            "no-token-name": (f"[core]\n\teditor = vim {TOKEN}\n", None),
            "oauth": (f"[hub]\n\toauthtoken = {TOKEN}\n", "hub.oauthtoken"),
            "secret": (f"[ci]\n\tclientSecret = {TOKEN}\n", "ci.clientsecret"),
            "password": (f"[x]\n\tpassword = {TOKEN}\n", "x.password"),
            "proxy-password": (f"[http]\n\tproxy = http://me:{TOKEN}@proxy:3128\n", "http.proxy"),
        }
    ),
)
def test_no_token_survives_the_filter(text: str, dropped: str | None) -> None:
    result = run("[user]\n\tname = Dev\n" + text)
    if dropped is None:  # the rule is on names and URLs: other values are the user's
        assert TOKEN in result.text
        return
    assert TOKEN not in result.text
    assert "name = Dev" in result.text
    assert dropped in result.dropped
    assert not any(TOKEN in name for name in result.dropped)


def test_a_url_rewrite_without_userinfo_is_kept() -> None:
    text = '[url "git@github.com:"]\n\tinsteadOf = https://github.com/\n'
    assert run(text).text == with_block(text)
