"""One docker-py client per process, built with a pool large enough for many log streams."""

from __future__ import annotations

import docker
from docker.errors import DockerException

from harness.localcloud.docker.exceptions import EngineUnavailableError

# Each running environment keeps one streaming connection open for its logs.
_POOL_SIZE = 64


def engine_client(timeout: int = 120) -> docker.DockerClient:
    """A client for the local engine, pinged once so a missing engine fails here, clearly."""
    try:
        client = docker.from_env(timeout=timeout, max_pool_size=_POOL_SIZE)
        client.ping()
    except DockerException as exc:
        raise EngineUnavailableError(f"no Docker engine answers ({exc}); `make local-up` starts one") from exc
    return client


def engine_answers() -> bool:
    """Whether the engine answers on its socket right now."""
    try:
        engine_client(timeout=5).close()
    except EngineUnavailableError:
        return False
    return True
