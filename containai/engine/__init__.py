"""The only package that talks to the Docker engine (through the Docker SDK)."""

from containai.engine.client import ContainerInfo, Engine, Helper, HelperSpec, VolumeInfo

__all__ = ["ContainerInfo", "Engine", "Helper", "HelperSpec", "VolumeInfo"]
