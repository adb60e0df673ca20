"""The only package that talks to the Docker engine (through the Docker SDK)."""

from containai.engine.client import Engine
from containai.engine.containers import ContainerInfo
from containai.engine.helpers import Helper, HelperSpec
from containai.engine.volumes import VolumeInfo

__all__ = ["ContainerInfo", "Engine", "Helper", "HelperSpec", "VolumeInfo"]
