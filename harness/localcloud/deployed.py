"""What is deployed, read from the applied Terraform state: APIs, routes, functions, file systems.

The issue says ``terraform show -json``; this module reads the state files themselves
(``.state/terraform/local/*/terraform.tfstate``, format version 4), which hold the same attribute
values and need neither the Terraform binary nor the provider schemas in the gateway process. The
state, not moto, is the source of truth so that ``terraform apply`` by hand and ``make deploy`` give
the same local stack. The AWS provider stores what the API answered, and stock moto 5.2 forgets
``file_system_config`` and ignores some updates; the local cloud's moto is patched to keep them
(``moto_server``), so the state holds the real configuration.

Files are re-read when their mtime, size or inode changes. A file that is mid-write (empty or not
JSON) keeps its previous reading, so a half-written state never makes a function disappear.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_FUNCTION_IN_ARN = re.compile(r"(?:^|:)function:([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class Route:
    api_id: str
    route_key: str
    target: str
    authorization_type: str = "NONE"  # NONE | AWS_IAM | JWT (| CUSTOM, not run locally)
    authorizer_id: str = ""

    @property
    def integration_id(self) -> str | None:
        """``integrations/<id>`` -> ``<id>``; routes without a target answer 404 like AWS."""
        prefix = "integrations/"
        return self.target[len(prefix) :] if self.target.startswith(prefix) else None


@dataclass(frozen=True)
class Authorizer:
    """An HTTP API authorizer; for JWT ones the issuer and audiences (moto keeps them verbatim)."""

    id: str
    api_id: str
    authorizer_type: str
    identity_sources: tuple[str, ...] = ()
    jwt_issuer: str = ""
    jwt_audiences: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    api_id: str
    name: str
    access_log_destination: str = ""  # a log group's ARN (access_log_settings), or none
    access_log_format: str = ""


@dataclass(frozen=True)
class Integration:
    id: str
    api_id: str
    integration_uri: str
    payload_format_version: str
    timeout_milliseconds: int

    @property
    def function_name(self) -> str | None:
        return function_name_from_arn(self.integration_uri)


@dataclass(frozen=True)
class FileSystemConfig:
    arn: str
    local_mount_path: str


@dataclass(frozen=True)
class Function:
    name: str
    arn: str
    image_uri: str
    package_type: str = "Image"
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    working_directory: str = ""
    environment: Mapping[str, str] = field(default_factory=dict)
    memory_size: int = 128
    timeout: int = 3
    ephemeral_storage: int = 512
    file_system: FileSystemConfig | None = None
    reserved_concurrency: int | None = None
    role: str = ""  # the execution role's ARN (what it grants decides the EFS mount's mode)
    source: str = "terraform-state"


@dataclass(frozen=True)
class FileSystem:
    id: str
    arn: str


@dataclass(frozen=True)
class RootCreation:
    """An access point's ``creation_info``: the owner and mode EFS gives a root directory it creates."""

    owner_uid: int
    owner_gid: int
    permissions: str  # octal, as written ("750")

    @classmethod
    def of(cls, uid: int | None, gid: int | None, permissions: str | None) -> RootCreation | None:
        """The creation info, or None without all three (EFS then cannot create the directory)."""
        return None if uid is None or gid is None or not permissions else cls(uid, gid, permissions)


def uid_gid(uid: int | None, gid: int | None) -> tuple[int, int] | None:
    """An access point's ``posix_user`` as (uid, gid), or None without both."""
    return None if uid is None or gid is None else (uid, gid)


@dataclass(frozen=True)
class AccessPoint:
    """An EFS access point as the state (or moto) describes it, in the API's two optional parts."""

    id: str
    arn: str
    file_system_id: str
    root_path: str = "/"
    creation: RootCreation | None = None
    posix_user: tuple[int, int] | None = None  # (uid, gid) of every access through the point


@dataclass
class Deployment:
    """Everything the state files describe, merged; lookups the data plane needs."""

    apis: set[str] = field(default_factory=set)  # the HTTP APIs' ids (all the data plane asks of them)
    routes: list[Route] = field(default_factory=list)
    stages: list[Stage] = field(default_factory=list)
    integrations: dict[str, Integration] = field(default_factory=dict)
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    file_systems: dict[str, FileSystem] = field(default_factory=dict)
    access_points: dict[str, AccessPoint] = field(default_factory=dict)

    def merge(self, other: Deployment) -> None:
        self.apis.update(other.apis)
        self.routes.extend(other.routes)
        self.stages.extend(other.stages)
        self.integrations.update(other.integrations)
        self.authorizers.update(other.authorizers)
        for name, function in other.functions.items():
            if name in self.functions:
                log.warning("function %s appears in more than one state file; using the last", name)
            self.functions[name] = function
        self.file_systems.update(other.file_systems)
        self.access_points.update(other.access_points)

    def routes_of(self, api_id: str) -> list[Route]:
        return [route for route in self.routes if route.api_id == api_id]

    def stages_of(self, api_id: str) -> list[str]:
        return [stage.name for stage in self.stages if stage.api_id == api_id]

    def stage(self, api_id: str, name: str) -> Stage | None:
        return next((s for s in self.stages if s.api_id == api_id and s.name == name), None)

    def function(self, name_or_arn: str) -> Function | None:
        """Look a function up by name, full ARN, or partial ARN (``123456789012:function:name``)."""
        name = function_name_from_arn(name_or_arn) or name_or_arn
        return self.functions.get(name)

    def access_point_by_arn(self, arn: str) -> AccessPoint | None:
        for access_point in self.access_points.values():
            if access_point.arn == arn or arn.endswith(f"/{access_point.id}"):
                return access_point
        return None


def function_name_from_arn(text: str) -> str | None:
    """The function name inside a Lambda ARN or an API Gateway invoke ARN, else None."""
    match = _FUNCTION_IN_ARN.search(text)
    return match.group(1) if match else None


def _first(block: Any) -> dict[str, Any]:
    """Terraform nests single blocks as one-element lists; an absent block is [] or None."""
    if isinstance(block, list) and block and isinstance(block[0], dict):
        return block[0]
    return {}


def _opt_int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in value or ())


def _function(attrs: dict[str, Any]) -> Function:
    image_config = _first(attrs.get("image_config"))
    fs_config = _first(attrs.get("file_system_config"))
    reserved = attrs.get("reserved_concurrent_executions")
    reserved = None if reserved in (None, -1) else int(reserved)
    return Function(
        name=attrs["function_name"],
        arn=attrs.get("arn") or "",
        image_uri=attrs.get("image_uri") or "",
        package_type=attrs.get("package_type") or "Image",
        command=_strings(image_config.get("command")),
        entry_point=_strings(image_config.get("entry_point")),
        working_directory=image_config.get("working_directory") or "",
        environment={
            str(k): str(v) for k, v in (_first(attrs.get("environment")).get("variables") or {}).items()
        },
        memory_size=int(attrs.get("memory_size") or 128),
        timeout=int(attrs.get("timeout") or 3),
        ephemeral_storage=int(_first(attrs.get("ephemeral_storage")).get("size") or 512),
        file_system=FileSystemConfig(fs_config["arn"], fs_config["local_mount_path"]) if fs_config else None,
        reserved_concurrency=reserved,
        role=attrs.get("role") or "",
    )


def _access_point(attrs: dict[str, Any]) -> AccessPoint:
    root = _first(attrs.get("root_directory"))
    creation = _first(root.get("creation_info"))
    posix = _first(attrs.get("posix_user"))
    return AccessPoint(
        id=attrs["id"],
        arn=attrs.get("arn") or "",
        file_system_id=attrs["file_system_id"],
        root_path=root.get("path") or "/",
        creation=RootCreation.of(
            _opt_int(creation.get("owner_uid")),
            _opt_int(creation.get("owner_gid")),
            creation.get("permissions") or None,
        ),
        posix_user=uid_gid(_opt_int(posix.get("uid")), _opt_int(posix.get("gid"))),
    )


def parse_state(state: Mapping[str, Any]) -> Deployment:
    """Turn one Terraform state (v4 JSON) into a ``Deployment``; unknown resources are ignored."""
    deployment = Deployment()
    for resource in state.get("resources") or ():
        if resource.get("mode", "managed") != "managed":
            continue
        kind = resource.get("type")
        for instance in resource.get("instances") or ():
            attrs = instance.get("attributes") or {}
            if kind == "aws_apigatewayv2_api":
                deployment.apis.add(attrs["id"])
            elif kind == "aws_apigatewayv2_route":
                deployment.routes.append(
                    Route(
                        attrs["api_id"],
                        attrs["route_key"],
                        attrs.get("target") or "",
                        authorization_type=attrs.get("authorization_type") or "NONE",
                        authorizer_id=attrs.get("authorizer_id") or "",
                    )
                )
            elif kind == "aws_apigatewayv2_authorizer":
                jwt_config = _first(attrs.get("jwt_configuration"))
                deployment.authorizers[attrs["id"]] = Authorizer(
                    id=attrs["id"],
                    api_id=attrs["api_id"],
                    authorizer_type=attrs.get("authorizer_type") or "",
                    identity_sources=_strings(attrs.get("identity_sources")),
                    jwt_issuer=jwt_config.get("issuer") or "",
                    jwt_audiences=_strings(jwt_config.get("audience")),
                )
            elif kind == "aws_apigatewayv2_stage":
                access_log = _first(attrs.get("access_log_settings"))
                deployment.stages.append(
                    Stage(
                        attrs["api_id"],
                        attrs["name"],
                        access_log.get("destination_arn") or "",
                        access_log.get("format") or "",
                    )
                )
            elif kind == "aws_apigatewayv2_integration":
                deployment.integrations[attrs["id"]] = Integration(
                    id=attrs["id"],
                    api_id=attrs["api_id"],
                    integration_uri=attrs.get("integration_uri") or "",
                    payload_format_version=attrs.get("payload_format_version") or "1.0",
                    timeout_milliseconds=int(attrs.get("timeout_milliseconds") or 30000),
                )
            elif kind == "aws_lambda_function":
                function = _function(attrs)
                deployment.functions[function.name] = function
            elif kind == "aws_efs_file_system":
                deployment.file_systems[attrs["id"]] = FileSystem(attrs["id"], attrs.get("arn") or "")
            elif kind == "aws_efs_access_point":
                access_point = _access_point(attrs)
                deployment.access_points[access_point.id] = access_point
    return deployment


class StateReader:
    """The union of every ``<dir>/*/terraform.tfstate``, re-read only when a file changes."""

    def __init__(self, terraform_local_dir: Path) -> None:
        self._dir = terraform_local_dir
        self._lock = threading.Lock()
        self._files: dict[Path, tuple[tuple[int, int, int], Deployment]] = {}
        self._merged = Deployment()
        self._generation = 0
        self._unreadable: set[tuple[int, int, int]] = set()

    @property
    def generation(self) -> int:
        """Bumped on every change: callers compare it to react to redeploys (drain, EFS cleanup)."""
        return self._generation

    def paths(self) -> list[Path]:
        return sorted(self._dir.glob("*/terraform.tfstate"))

    def current(self) -> Deployment:
        """The merged deployment as of now (cheap when nothing changed: one stat per file)."""
        with self._lock:
            changed = self._refresh(self.paths())
            if changed:
                merged = Deployment()
                for _key, deployment in (self._files[p] for p in sorted(self._files)):
                    merged.merge(deployment)
                self._merged = merged
                self._generation += 1
            return self._merged

    def _refresh(self, paths: Iterable[Path]) -> bool:
        seen: set[Path] = set()
        changed = False
        for path in paths:
            seen.add(path)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            key = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            previous = self._files.get(path)
            if (previous and previous[0] == key) or stat.st_size == 0 or key in self._unreadable:
                continue  # unchanged, or still empty / unreadable (Terraform holds it during an apply)
            try:
                deployment = parse_state(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                # Mid-write or broken: keep the previous reading (if any) until the file changes again.
                log.warning("cannot read %s yet (%s); keeping its previous reading", path, exc)
                self._unreadable.add(key)
                continue
            self._files[path] = (key, deployment)
            changed = True
            log.info(
                "read %s: %d function(s), %d API(s)", path, len(deployment.functions), len(deployment.apis)
            )
        for gone in set(self._files) - seen:
            del self._files[gone]
            changed = True
            log.info("%s is gone; its resources are no longer deployed", gone)
        if self._generation == 0 and not changed:
            changed = True  # the first call always publishes a (possibly empty) deployment
        return changed
