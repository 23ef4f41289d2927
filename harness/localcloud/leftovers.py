"""What an instance of the local cloud still holds: AWS resources in moto, Docker objects by label.

The checks the test sessions end with (and anyone can run after a ``terraform destroy``): every
stack destroyed means no function, API, bucket, file system or repository in moto and no function
container of this instance; ``down`` means nothing in Docker carries this instance's label. The
label is the one every container, network and volume of the instance really carries
(``config.LABEL_INSTANCE``, set by ``Settings.labels``), the same filter ``down`` removes by.
"""

from __future__ import annotations

from typing import Any

import boto3

from harness.docker_engine import engine_answers, engine_client
from harness.local_settings import boto3_credentials
from harness.localcloud.config import LABEL_INSTANCE, Settings


def _client(settings: Settings, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=settings.endpoint_url,
        **boto3_credentials(),
    )


def aws_resources(settings: Settings) -> list[str]:
    """``kind:name`` of every function, HTTP API, bucket, file system and repository in moto."""
    found = [f"lambda:{f['FunctionName']}" for f in _client(settings, "lambda").list_functions()["Functions"]]
    found += [f"apigatewayv2:{a['Name']}" for a in _client(settings, "apigatewayv2").get_apis()["Items"]]
    found += [f"s3:{b['Name']}" for b in _client(settings, "s3").list_buckets()["Buckets"]]
    found += [
        f"efs:{f['FileSystemId']}" for f in _client(settings, "efs").describe_file_systems()["FileSystems"]
    ]
    found += [
        f"ecr:{r['repositoryName']}" for r in _client(settings, "ecr").describe_repositories()["repositories"]
    ]
    return found


def docker_objects(settings: Settings) -> dict[str, list[str]]:
    """Names of the containers (running or not), networks and volumes with this instance's label."""
    found: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    if not engine_answers():
        return found
    label = {"label": f"{LABEL_INSTANCE}={settings.instance}"}
    client = engine_client()
    try:
        found["containers"] = sorted(
            c.name for c in client.containers.list(all=True, filters=label, ignore_removed=True)
        )
        found["networks"] = sorted(n.name for n in client.networks.list(filters=label))
        found["volumes"] = sorted(v.name for v in client.volumes.list(filters=label))
    finally:
        client.close()
    return found
