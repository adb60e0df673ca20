"""The labels containai puts on the engine's objects: how it finds what it manages."""

MANAGED = "containai.managed"  # "true" on every volume and container containai made
WORKSPACE = "containai.workspace"  # the host workspace a volume or container belongs to
VOLUME = "containai.data-volume"  # a container's data volume
ROLE = "containai.role"  # "helper" on the never-started helper containers
HELPER = "helper"
