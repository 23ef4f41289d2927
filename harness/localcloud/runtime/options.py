"""The knobs of the runtime, passed in by the gateway (the runtime reads no environment itself)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from harness.local_settings import REGION
from harness.localcloud.telemetry import NoTelemetry, Telemetry


@dataclass(frozen=True)
class RuntimeOptions:
    network: str
    gateway_ip: str | None
    gateway_port: int
    logs_dir: Path
    instance: str
    labels: Mapping[str, str] = field(default_factory=dict)
    region: str = REGION
    credentials: Mapping[str, str] = field(default_factory=dict)
    max_concurrency: int = 10
    idle_seconds: float = 600.0
    start_timeout: float = 30.0
    log_max_bytes: int | None = None  # rotate an environment's log file at this size (envlog.py)
    telemetry: Telemetry = field(default_factory=NoTelemetry)  # where logs and metrics go

    @property
    def endpoint_url(self) -> str | None:
        """The AWS endpoint as seen from a container: the gateway on the network's gateway address."""
        return f"http://{self.gateway_ip}:{self.gateway_port}" if self.gateway_ip else None
