"""From a deployed function to the runtime's ``FunctionSpec``: image reference, mounts, user.

This is where the three worlds meet (Terraform state, local EFS, local registry), so that the
runtime below stays ignorant of all three.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from harness.local_settings import ACCOUNT_ID, REGION
from harness.localcloud.config import Settings
from harness.localcloud.deployed import AccessPoint, Deployment, Function, StateReader
from harness.localcloud.docker.images import registry_reference
from harness.localcloud.efs import EfsStore
from harness.localcloud.errors import (
    EfsMountError,
    LambdaServiceError,
    ResourceNotFoundError,
    UnsupportedFunctionError,
)
from harness.localcloud.iam_grants import EFS_WRITE_ACTION, role_allows
from harness.localcloud.moto_lookup import access_point_from_moto, function_from_moto
from harness.localcloud.runtime.spec import FunctionSpec, MountSpec

log = logging.getLogger(__name__)

# Lambda's sandbox user (sbx_user1051) when no EFS access point imposes another one.
LAMBDA_USER = "993:990"


# (role ARN, file system ARN) -> may the role write to it (elasticfilesystem:ClientWrite)?
EfsWriteCheck = Callable[[str, str], bool]


def function_spec(
    function: Function,
    deployment: Deployment,
    efs: EfsStore,
    registry_address: str,
    find_access_point: Callable[[str], AccessPoint | None] | None = None,
    may_write_efs: EfsWriteCheck | None = None,
) -> FunctionSpec:
    """Build the runtime's view of ``function``; EFS access point roots are created on the way.

    ``find_access_point`` is asked for access points the state does not list (yet);
    ``may_write_efs`` decides whether the mount is read-write (without it, every mount is read-only,
    as for a role that only has ClientMount).
    """
    if function.package_type != "Image" or not function.image_uri:
        raise UnsupportedFunctionError(
            f"function {function.name} is a {function.package_type} function; "
            "only container images run locally"
        )
    mounts: tuple[MountSpec, ...] = ()
    user = LAMBDA_USER
    if function.file_system is not None:
        access_point = deployment.access_point_by_arn(function.file_system.arn)
        if access_point is None and find_access_point is not None:
            access_point = find_access_point(function.file_system.arn)
        if access_point is None:
            raise EfsMountError(
                f"function {function.name}: access point {function.file_system.arn} "
                "is neither in a Terraform state nor in moto"
            )
        host_dir = efs.access_point_dir(access_point)
        file_system_arn = file_system_arn_of(access_point, deployment)
        writable = may_write_efs is not None and may_write_efs(function.role, file_system_arn)
        log.info(
            "function %s mounts %s %s (role %s)",
            function.name,
            access_point.id,
            "read-write" if writable else "read-only",
            function.role or "unknown",
        )
        mounts = (MountSpec(str(host_dir), function.file_system.local_mount_path, read_only=not writable),)
        if access_point.posix_user is not None:
            user = "{}:{}".format(*access_point.posix_user)
    return FunctionSpec(
        name=function.name,
        arn=function.arn,
        image=registry_reference(function.image_uri, registry_address),
        command=function.command,
        entry_point=function.entry_point,
        working_directory=function.working_directory,
        environment=tuple(sorted(function.environment.items())),
        memory_mb=function.memory_size,
        timeout_s=function.timeout,
        ephemeral_mb=function.ephemeral_storage,
        user=user,
        mounts=mounts,
        reserved_concurrency=function.reserved_concurrency,
        source=function.source,
    )


def file_system_arn_of(access_point: AccessPoint, deployment: Deployment) -> str:
    """The ARN IAM policies name for the access point's file system (from the state, else its ARN)."""
    known = deployment.file_systems.get(access_point.file_system_id)
    if known is not None and known.arn:
        return known.arn
    prefix = access_point.arn.split(":access-point/", 1)[0] if access_point.arn else ""
    return f"{prefix}:file-system/{access_point.file_system_id}" if prefix else ""


class FunctionResolver:
    """Name or ARN -> ``FunctionSpec``, from the Terraform state first and moto second."""

    def __init__(self, settings: Settings, reader: StateReader, efs: EfsStore) -> None:
        self._settings = settings
        self._reader = reader
        self._efs = efs
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[int, FunctionSpec]] = {}

    def spec(self, name_or_arn: str) -> FunctionSpec:
        deployment = self._reader.current()
        generation = self._reader.generation
        function = deployment.function(name_or_arn)
        if function is None:
            function = function_from_moto(self._settings.moto_url, name_or_arn)
            if function is None:
                raise ResourceNotFoundError(f"Function not found: {self._arn(name_or_arn)}")
            return self._build(function, deployment)
        with self._lock:
            cached = self._cache.get(function.name)
            if cached and cached[0] == generation:
                return cached[1]
        spec = self._build(function, deployment)
        with self._lock:
            self._cache[function.name] = (generation, spec)
        return spec

    def deployed_hashes(self, deployment: Deployment) -> dict[str, str]:
        """Config hash of every function in the state (those that cannot be built are skipped)."""
        hashes = {}
        for function in deployment.functions.values():
            try:
                hashes[function.name] = self._build(function, deployment).config_hash
            except LambdaServiceError as exc:
                log.warning("function %s cannot run locally: %s", function.name, exc)
        return hashes

    def _build(self, function: Function, deployment: Deployment) -> FunctionSpec:
        return function_spec(
            function,
            deployment,
            self._efs,
            self._settings.registry_address,
            self._moto_access_point,
            self._may_write_efs,
        )

    def _may_write_efs(self, role_arn: str, file_system_arn: str) -> bool:
        return role_allows(self._settings.moto_url, role_arn, EFS_WRITE_ACTION, file_system_arn)

    def _moto_access_point(self, arn: str) -> AccessPoint | None:
        return access_point_from_moto(self._settings.moto_url, arn)

    def _arn(self, name_or_arn: str) -> str:
        if name_or_arn.startswith("arn:"):
            return name_or_arn
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{name_or_arn.split(':')[-1]}"
