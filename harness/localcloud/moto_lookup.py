"""Functions that are in moto but not (yet) in a Terraform state file.

Terraform writes its state at the end of an apply, so an ``aws_lambda_invocation`` in the same
apply, or an ``aws lambda invoke`` on a function created by hand, would otherwise find nothing.
moto (patched by ``moto_server``) keeps the whole configuration, EFS included; access points the
state does not list yet are looked up in moto too.
"""

from __future__ import annotations

import logging
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from harness.local_settings import boto3_credentials
from harness.localcloud.deployed import AccessPoint, FileSystemConfig, Function, RootCreation, uid_gid

log = logging.getLogger(__name__)


def moto_client(service: str, moto_url: str) -> Any:
    """A boto3 client of moto itself (not through the gateway), with the local credentials."""
    return boto3.client(
        service,
        endpoint_url=moto_url,
        **boto3_credentials(),
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
    )


def function_from_moto(moto_url: str, name_or_arn: str) -> Function | None:
    """The function as moto describes it, or None if moto does not know it (or is down)."""
    client = moto_client("lambda", moto_url)
    try:
        found = client.get_function(FunctionName=name_or_arn)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            log.warning("moto: get_function(%s) failed: %s", name_or_arn, exc)
        return None
    except BotoCoreError as exc:
        log.warning("moto is not reachable at %s: %s", moto_url, exc)
        return None
    config = found["Configuration"]
    image_config = (config.get("ImageConfigResponse") or {}).get("ImageConfig") or {}
    fs_configs = config.get("FileSystemConfigs") or []
    try:
        reserved = client.get_function_concurrency(FunctionName=config["FunctionName"]).get(
            "ReservedConcurrentExecutions"
        )
    except (ClientError, BotoCoreError):
        reserved = None
    return Function(
        name=config["FunctionName"],
        arn=config["FunctionArn"],
        image_uri=(found.get("Code") or {}).get("ImageUri") or "",
        package_type=config.get("PackageType") or "Zip",
        command=tuple(image_config.get("Command") or ()),
        entry_point=tuple(image_config.get("EntryPoint") or ()),
        working_directory=image_config.get("WorkingDirectory") or "",
        environment=dict((config.get("Environment") or {}).get("Variables") or {}),
        memory_size=int(config.get("MemorySize") or 128),
        timeout=int(config.get("Timeout") or 3),
        ephemeral_storage=int((config.get("EphemeralStorage") or {}).get("Size") or 512),
        file_system=FileSystemConfig(fs_configs[0]["Arn"], fs_configs[0]["LocalMountPath"])
        if fs_configs
        else None,
        reserved_concurrency=reserved,
        role=config.get("Role") or "",
        source="moto",
    )


def access_point_from_moto(moto_url: str, arn: str) -> AccessPoint | None:
    """An EFS access point as moto describes it (for functions whose state is not written yet)."""
    try:
        found = moto_client("efs", moto_url).describe_access_points(AccessPointId=arn.rsplit("/", 1)[-1])
    except (ClientError, BotoCoreError) as exc:
        log.info("moto: no access point %s (%s)", arn, exc)
        return None
    points = found.get("AccessPoints") or []
    if not points:
        return None
    point = points[0]
    root = point.get("RootDirectory") or {}
    creation = root.get("CreationInfo") or {}
    posix = point.get("PosixUser") or {}
    return AccessPoint(
        id=point["AccessPointId"],
        arn=point.get("AccessPointArn") or arn,
        file_system_id=point["FileSystemId"],
        root_path=root.get("Path") or "/",
        creation=RootCreation.of(
            creation.get("OwnerUid"), creation.get("OwnerGid"), creation.get("Permissions")
        ),
        posix_user=uid_gid(posix.get("Uid"), posix.get("Gid")),
    )
