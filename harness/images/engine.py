"""The Docker engine as the image code sees it: one client, one clear error when it is absent.

Builds stream for minutes and a single RUN step (installing torch) can be silent for a while, so
the client gets a long read timeout instead of docker-py's 60 s default.
"""

from __future__ import annotations

import docker
from docker.errors import DockerException

from harness.errors import HarnessError

BUILD_TIMEOUT_SECONDS = 1800


class DockerUnavailableError(HarnessError):
    """No Docker engine answers; ``make setup`` (scripts/setup.sh) installs and starts one."""


def docker_client(timeout: int = BUILD_TIMEOUT_SECONDS) -> docker.DockerClient:
    """A client for the local engine (``DOCKER_HOST`` or /var/run/docker.sock), checked with a ping."""
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
    except DockerException as exc:
        raise DockerUnavailableError(
            f"no Docker engine answers ({exc}); run scripts/setup.sh to install and start dockerd"
        ) from exc
    return client


def image_exists(client: docker.DockerClient, ref: str) -> bool:
    try:
        client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return False
    return True
