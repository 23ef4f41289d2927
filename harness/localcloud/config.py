"""Settings of one local cloud instance, read from the environment in one place.

Every process of the local cloud (the CLI that runs ``up``, the gateway it starts) builds the same
``Settings`` from the same variables, so a test that moves the state folder and the ports gets a
second, fully isolated instance: other containers, another network, other pid files.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from harness import local_settings
from harness.local_settings import env_float, env_int
from harness.paths import REPO_ROOT, state_dir

DEFAULT_NETWORK = "lambda-inference-local"
LABEL_INSTANCE = "lambda-inference.instance"
LABEL_ROLE = "lambda-inference.role"
# Every log file the local cloud writes is capped at this size with one backup (an environment's
# stream: runtime/envlog.py; the gateway's and moto's own: logcap.py), so 8 warm environments
# keep at most 256 MiB of logs on disk however long they live. 16 MiB is ~11,000 requests of one
# environment's lines (~1.5 KB each): more than a benchmark phase reads back from one stream (the
# fleet's 2,000 requests per phase, each phase in new environments), so a reader that follows a
# stream across one rotation never misses a line. The whole of every stream is in the local
# CloudWatch Logs.
LOG_MAX_BYTES = 16 * 2**20


@dataclass(frozen=True)
class Settings:
    """Ports, limits and names of one instance (see ``from_env`` for the variables)."""

    state_dir: Path
    port: int = local_settings.GATEWAY_PORT
    moto_port: int = local_settings.MOTO_PORT
    registry_port: int = local_settings.REGISTRY_PORT
    max_concurrency: int = 10
    idle_seconds: float = 600.0
    start_timeout: float = 30.0
    network_name: str = DEFAULT_NETWORK
    log_max_bytes: int = LOG_MAX_BYTES

    @classmethod
    def from_env(cls) -> Settings:
        """Read ``LAMBDA_INFERENCE_STATE`` and the ``LOCALCLOUD_*`` variables.

        The network is ``lambda-inference-local`` for the repository's own state folder and gets
        the instance id appended for any other one, so a test instance never touches the network
        of a developer's running stack. ``LOCALCLOUD_NETWORK`` overrides both.
        """
        folder = state_dir().resolve()
        default_network = DEFAULT_NETWORK
        if folder != (REPO_ROOT / ".state").resolve():
            default_network = f"{DEFAULT_NETWORK}-{instance_id(folder)}"
        return cls(
            state_dir=folder,
            port=local_settings.gateway_port(),
            moto_port=local_settings.moto_port(),
            registry_port=local_settings.registry_port(),
            max_concurrency=env_int("LOCALCLOUD_MAX_CONCURRENCY", 10),
            idle_seconds=env_float("LOCALCLOUD_IDLE_SECONDS", 600.0),
            start_timeout=env_float("LOCALCLOUD_START_TIMEOUT", 30.0),
            network_name=os.environ.get("LOCALCLOUD_NETWORK", "").strip() or default_network,
            log_max_bytes=env_int("LOCALCLOUD_LOG_MAX_BYTES", LOG_MAX_BYTES),
        )

    @property
    def instance(self) -> str:
        """A short, stable id of this instance: labels on everything it creates in Docker."""
        return instance_id(self.state_dir)

    @property
    def labels(self) -> dict[str, str]:
        return {LABEL_INSTANCE: self.instance}

    @property
    def services_dir(self) -> Path:
        return self.state_dir / "services"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def efs_dir(self) -> Path:
        return self.state_dir / "efs"

    @property
    def terraform_local_dir(self) -> Path:
        return self.state_dir / "terraform" / "local"

    @property
    def registry_address(self) -> str:
        return f"{local_settings.HOST}:{self.registry_port}"

    @property
    def endpoint_url(self) -> str:
        """The AWS endpoint for the host: the gateway on 127.0.0.1."""
        return local_settings.http_url(self.port)

    @property
    def moto_url(self) -> str:
        return local_settings.http_url(self.moto_port)

    def api_base_url(self, api_id: str) -> str:
        """Where a deployed HTTP API answers (append ``/<stage>/<path>``, or just the path for $default)."""
        return f"{self.endpoint_url}/_aws/execute-api/{api_id}"

    def child_env(self) -> dict[str, str]:
        """The environment for the processes ``up`` starts: these settings spelled out explicitly."""
        env = dict(os.environ)
        env.update(
            LAMBDA_INFERENCE_STATE=str(self.state_dir),
            LOCALCLOUD_PORT=str(self.port),
            LOCALCLOUD_MOTO_PORT=str(self.moto_port),
            LOCALCLOUD_REGISTRY_PORT=str(self.registry_port),
            LOCALCLOUD_MAX_CONCURRENCY=str(self.max_concurrency),
            LOCALCLOUD_IDLE_SECONDS=str(self.idle_seconds),
            LOCALCLOUD_START_TIMEOUT=str(self.start_timeout),
            LOCALCLOUD_NETWORK=self.network_name,
            LOCALCLOUD_LOG_MAX_BYTES=str(self.log_max_bytes),
            PYTHONUNBUFFERED="1",
        )
        return env


def instance_id(folder: Path) -> str:
    """First 10 hex digits of the sha256 of the state folder's absolute path."""
    return hashlib.sha256(str(folder.resolve()).encode()).hexdigest()[:10]
