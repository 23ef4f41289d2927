"""The Docker engine as every harness package sees it: one client factory, one clear error.

The image builds and the local cloud both talk to the same engine (``DOCKER_HOST`` or
/var/run/docker.sock), so both take their client from here. The pool is large because each
running Lambda environment keeps one streaming connection open for its logs; builds pass a long
read timeout, since a single RUN step (installing torch) can be silent for minutes.
"""

from __future__ import annotations

import docker
from docker.errors import DockerException

from harness.errors import HarnessError

#: Read timeout of a client that streams a build or a push (docker-py's default is 60 s).
BUILD_TIMEOUT_SECONDS = 1800
# Each running environment keeps one streaming connection open for its logs.
_POOL_SIZE = 64


class EngineUnavailableError(HarnessError):
    """No Docker engine answers on the socket."""


def engine_client(timeout: int = 120) -> docker.DockerClient:
    """A client for the local engine, pinged once so a missing engine fails here, clearly."""
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=_POOL_SIZE)
        client.ping()
    except DockerException as exc:
        raise EngineUnavailableError(
            f"no Docker engine answers ({exc}); scripts/setup.sh installs and starts dockerd, "
            "`make local-up` starts it"
        ) from exc
    return client


def engine_answers() -> bool:
    """Whether the engine answers on its socket right now."""
    try:
        engine_client(timeout=5).close()
    except EngineUnavailableError:
        return False
    return True


def image_exists(client: docker.DockerClient, ref: str) -> bool:
    """Whether the engine holds the image ``ref``."""
    try:
        client.api.inspect_image(ref)
    except docker.errors.ImageNotFound:
        return False
    return True
