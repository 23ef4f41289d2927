"""Errors of the Docker layer; the runtime above turns them into Lambda's service errors."""

from __future__ import annotations

# The engine's absence is the one Docker error every package shares: the one client factory
# (harness/docker_engine.py) raises it, and the runtime turns it into a service error too.
from harness.docker_engine import EngineUnavailableError

__all__ = ["ContainerFailedError", "DockerLayerError", "EngineUnavailableError", "ImageMissingError"]


class DockerLayerError(Exception):
    """Base of everything the Docker layer raises."""


class ImageMissingError(DockerLayerError):
    """The image is neither in the registry nor in the engine."""


class ContainerFailedError(DockerLayerError):
    """The engine refused to create or start a container."""
