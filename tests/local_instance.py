"""The environment of a test session that starts its own local cloud: a second, isolated
instance (its own state folder, free ports and network).

Settings are read from the environment by every process of the local cloud (the gateway a test
starts included), so the session sets the variables for as long as its cloud runs and gives the
caller's values back afterwards, whatever happens: ``pytest.MonkeyPatch.context()``, the form that
works in session and package scope.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest

from harness.localcloud.config import Settings
from tests.servers import free_port


@contextmanager
def own_instance_env(state: Path, extra: Mapping[str, str] | None = None) -> Iterator[Settings]:
    """Point ``LAMBDA_INFERENCE_STATE`` and the ``LOCALCLOUD_*`` ports at a fresh instance.

    ``LOCALCLOUD_NETWORK`` is unset, so the network is named after the state folder rather than
    the caller's. Yields the instance's ``Settings``; the environment is restored on exit.
    """
    with pytest.MonkeyPatch.context() as env:
        for name, value in {
            **(extra or {}),
            "LAMBDA_INFERENCE_STATE": str(state),
            "LOCALCLOUD_PORT": str(free_port()),
            "LOCALCLOUD_MOTO_PORT": str(free_port()),
            "LOCALCLOUD_REGISTRY_PORT": str(free_port()),
        }.items():
            env.setenv(name, value)
        env.delenv("LOCALCLOUD_NETWORK", raising=False)
        yield Settings.from_env()
