"""The local cloud: AWS offline for this project (see README.md beside this file).

Public entry points (what the Makefile and ``harness.deploy`` call):
- ``up()``, ``down()``, ``status()``: the services (dockerd, registry, moto, gateway) and the
  Docker network; each returns a JSON-able summary.
- ``logs(function_name)``: every execution environment's output, like CloudWatch log streams.
- ``aws_endpoint_url()``: the one endpoint for boto3 / AWS CLI / Terraform (``http://127.0.0.1:4566``).
- ``boto3_kwargs()``: that endpoint with the local region and credentials, for ``boto3.client(...)``.
- ``api_url(api_id, stage)``: where a deployed HTTP API answers.
- ``reset_environments(function_name)``: retire a function's environments (next request is cold).
The gateway process itself is ``python -m harness.localcloud.gateway``.
"""

from __future__ import annotations

from harness.local_settings import boto3_credentials
from harness.localcloud.config import Settings
from harness.localcloud.logstreams import logs
from harness.localcloud.services import aws_endpoint_url, down, status, up


def boto3_kwargs() -> dict[str, str]:
    """``boto3.client(service, **boto3_kwargs())`` reaches the local cloud (moto's test account)."""
    return {"endpoint_url": aws_endpoint_url(), **boto3_credentials()}


def api_url(api_id: str, stage: str = "$default") -> str:
    """``http://127.0.0.1:4566/_aws/execute-api/<api-id>[/<stage>]`` (no stage segment for $default)."""
    base = Settings.from_env().api_base_url(api_id)
    return base if stage == "$default" else f"{base}/{stage}"


def reset_environments(function_name: str) -> int:
    """Retire every execution environment of a function; returns how many there were."""
    import json
    import urllib.request

    url = f"{Settings.from_env().endpoint_url}/_localcloud/functions/{function_name}/environments"
    with urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=30) as response:
        return int(json.loads(response.read())["retired"])


__all__ = [
    "api_url",
    "aws_endpoint_url",
    "boto3_kwargs",
    "down",
    "logs",
    "reset_environments",
    "status",
    "up",
]
