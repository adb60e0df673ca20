"""The labels containai puts on the engine's objects: how it finds what it manages."""

MANAGED = "containai.managed"  # "true" on every volume and container containai made
WORKSPACE = "containai.workspace"  # the host workspace a volume or container belongs to
VOLUME = "containai.data-volume"  # a container's data volume
ROLE = "containai.role"  # "helper" on the never-started helper containers
HELPER = "helper"
LOCK = "lock"  # the role of a volume's lock container
LOCK_HOLDER = "containai.lock.holder"  # who holds the lock (JSON: host, user, pid, ...)
RUN = "containai.run"  # the command that made a helper or lock: what a signal cleans up
SPEC = "containai.spec"  # what an agent container was made from (image, command, mounts, ...)
