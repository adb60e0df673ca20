"""`invoke import`, `invoke export`, `invoke --list` in a checkout: the same tasks as `cai`."""

from containai.tasks import ns

__all__ = ["ns"]
