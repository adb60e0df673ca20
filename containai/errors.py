"""The exceptions containai raises, and the one place that turns any exception into an exit code.

Exit codes: 0 ok, 1 the operation failed, 2 usage or configuration error, 3 an unexpected error
(a bug: ``--debug`` shows the traceback), 130 interrupted (SIGINT), 143 terminated (SIGTERM).
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Iterator

from containai.printable import printable

INTERNAL_ERROR = 3
INTERRUPTED = 130
TERMINATED = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that the same clean-up runs."""


class ContainAIError(Exception):
    """Something went wrong that the user can act on; the message is one line."""

    exit_code = 1


class UsageError(ContainAIError):
    """The command line, a settings file, a manifest or a workflow is wrong."""

    exit_code = 2


class ConfigError(UsageError):
    """A settings file, manifest or workflow file is invalid."""


class EngineError(ContainAIError):
    """The Docker engine could not be reached or refused a request."""


class NotFoundError(ContainAIError):
    """A volume, container or source named by the user does not exist."""


class ArchiveError(ContainAIError):
    """An archive is unreadable, corrupt, or unsafe to restore."""


class LockError(ContainAIError):
    """Another containai command holds the volume."""


@contextlib.contextmanager
def exit_codes(*, debug: bool = False) -> Iterator[None]:
    """Map whatever escapes the block to invoke's ``Exit``: one line on stderr, the exit code.

    Every task body runs inside this (so ``cai`` and a checkout's ``invoke`` behave alike), and
    so does ``cai`` as a whole, for what happens outside a task (help written to a closed pipe).
    """
    from invoke.exceptions import Exit  # invoke is loaded by then; the core never needs it

    try:
        yield
    except Exit:
        raise
    except ContainAIError as error:
        if debug:
            traceback.print_exc()
        raise Exit(f"cai: {printable(str(error))}", code=error.exit_code) from None
    except Terminated:
        raise Exit("cai: terminated", code=TERMINATED) from None
    except KeyboardInterrupt:
        raise Exit("cai: interrupted", code=INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`cai ... | head`): nothing left to say, and saying it would
        # fail again when Python flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise Exit(code=1) from None
    except Exception as error:
        if isinstance(error, RuntimeError) and str(error).startswith("Could not determine home"):
            # pathlib's expanduser() for a "~name/..." path whose user does not exist, wherever
            # a path was given (workspace, --from, -o, --config): bad input, not a bug.
            raise Exit(
                "cai: a path starting with '~name' names a user this machine does not have",
                code=UsageError.exit_code,
            ) from None
        if debug:
            raise
        raise Exit(
            f"cai: internal error: {type(error).__name__}: {printable(str(error))} "
            "(a bug; run 'cai --debug ...' for the traceback)",
            code=INTERNAL_ERROR,
        ) from None
