"""The local cloud's addresses and credentials: the one definition every harness package imports.

The gateway (the one AWS endpoint for boto3, the AWS CLI and Terraform), moto behind it and the
OCI registry that stands in for ECR all listen on 127.0.0.1, on ports a test or a second instance
moves with ``LOCALCLOUD_*`` variables. moto accepts any credentials and serves one account in one
region. ``localcloud/config.py`` builds an instance's ``Settings`` from these, ``terraform/``
writes them into the provider override and the run's environment, ``images/push.py`` pushes to the
registry, ``bench/`` reads S3 with them. Standard library only, at the bottom of the import graph,
so that no package has to import a sibling to learn where the local cloud is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TypeVar

Number = TypeVar("Number", int, float)

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "test"
SECRET_ACCESS_KEY = "test"

GATEWAY_PORT = 4566
MOTO_PORT = 4567
REGISTRY_PORT = 5055

#: The fake credentials as environment variables (a function's container, a Terraform run).
CREDENTIALS_ENV: dict[str, str] = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
}
#: The credentials and the region: what a process on the host needs to talk to the local cloud.
AWS_ENV: dict[str, str] = {**CREDENTIALS_ENV, "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}


def _env_number(
    name: str, default: Number, kind: type[Number], what: str, env: Mapping[str, str] | None
) -> Number:
    raw = (os.environ if env is None else env).get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name}={raw[:40]!r} is not {what}") from None


def env_int(name: str, default: int, env: Mapping[str, str] | None = None) -> int:
    """An integer setting from the environment (``env``, else the process's); a value that is not
    one fails with its name."""
    return _env_number(name, default, int, "an integer", env)


def env_float(name: str, default: float, env: Mapping[str, str] | None = None) -> float:
    """A number setting from the environment (``env``, else the process's); a value that is not
    one fails with its name."""
    return _env_number(name, default, float, "a number", env)


def gateway_port() -> int:
    """``LOCALCLOUD_PORT``: where the gateway (the AWS endpoint) listens."""
    return env_int("LOCALCLOUD_PORT", GATEWAY_PORT)


def moto_port() -> int:
    """``LOCALCLOUD_MOTO_PORT``: where moto listens, behind the gateway."""
    return env_int("LOCALCLOUD_MOTO_PORT", MOTO_PORT)


def registry_port() -> int:
    """``LOCALCLOUD_REGISTRY_PORT``: where the OCI registry (the local ECR's bytes) listens."""
    return env_int("LOCALCLOUD_REGISTRY_PORT", REGISTRY_PORT)


def http_url(port: int) -> str:
    """``http://127.0.0.1:<port>``."""
    return f"http://{HOST}:{port}"


def endpoint_url() -> str:
    """The AWS endpoint on the host: ``http://127.0.0.1:$LOCALCLOUD_PORT`` (4566 unless moved)."""
    return http_url(gateway_port())


def registry_address() -> str:
    """``127.0.0.1:$LOCALCLOUD_REGISTRY_PORT``: the registry as image references name it."""
    return f"{HOST}:{registry_port()}"


def boto3_credentials() -> dict[str, str]:
    """The region and credentials as ``boto3.client(...)`` keyword arguments (no endpoint)."""
    return {
        "region_name": REGION,
        "aws_access_key_id": ACCESS_KEY_ID,
        "aws_secret_access_key": SECRET_ACCESS_KEY,
    }
