"""The exceptions containai raises, each carrying the exit code the CLI maps it to.

Exit codes (one place, `cli.Cai.execute`, turns these into a process exit):
0 ok, 1 the operation failed, 2 usage or configuration error, 130 interrupted.
"""

from __future__ import annotations


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
