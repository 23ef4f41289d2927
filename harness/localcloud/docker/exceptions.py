"""Errors of the Docker layer; the runtime above turns them into Lambda's service errors."""

from __future__ import annotations


class DockerLayerError(Exception):
    """Base of everything the Docker layer raises."""


class EngineUnavailableError(DockerLayerError):
    """No Docker engine answers on the socket."""


class ImageMissingError(DockerLayerError):
    """The image is neither in the registry nor in the engine."""


class ContainerFailedError(DockerLayerError):
    """The engine refused to create or start a container."""
