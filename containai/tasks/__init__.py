"""The command-line surface: one thin invoke task per command; parameters are the flags.

A task checks the command-line rules, turns its flags into the options of its workflow and runs
it. Heavy modules are imported inside the task bodies so that ``cai --help`` and ``cai
--version`` start fast. A flag means the same in every command: its help text is written once.
"""

from invoke.collection import Collection

from containai.tasks.base import WORKFLOW_OPTIONS, CaiTask
from containai.tasks.containers import run, shell, stop
from containai.tasks.inspect import config, diff, status, trust
from containai.tasks.managed import ls, rm
from containai.tasks.transfer import export, import_, sync

ns = Collection(import_, export, sync, status, diff, config, run, stop, shell, trust, ls, rm)

__all__ = ["WORKFLOW_OPTIONS", "CaiTask", "ns"]
