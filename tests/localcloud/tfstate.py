"""Terraform state files (format version 4) written by hand, as ``terraform apply`` would leave them.

The tests deploy by writing ``<state>/terraform/local/<variant>/terraform.tfstate``: the gateway
reads exactly those files, so no Terraform run is needed. Attributes follow the AWS provider's
schema for the resource types the local cloud reads (and a few it ignores, for realism).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"


def lambda_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def invoke_arn(name: str) -> str:
    return f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{lambda_arn(name)}/invocations"


@dataclass
class StackState:
    """A builder: add resources, then ``write`` the state file."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    module: str | None = "module.api"

    def _add(self, kind: str, name: str, attributes: dict[str, Any], module: str | None = None) -> StackState:
        resource: dict[str, Any] = {
            "mode": "managed",
            "type": kind,
            "name": name,
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}],
        }
        if module or self.module:
            resource["module"] = module or self.module
        self.resources.append(resource)
        return self

    def http_api(self, api_id: str, name: str = "inference") -> StackState:
        return self._add(
            "aws_apigatewayv2_api",
            f"api_{api_id}",
            {
                "id": api_id,
                "name": name,
                "protocol_type": "HTTP",
                "api_endpoint": f"https://{api_id}.execute-api.{REGION}.amazonaws.com",
                "arn": f"arn:aws:apigateway:{REGION}::/apis/{api_id}",
                "execution_arn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}",
                "route_selection_expression": "$request.method $request.path",
                "cors_configuration": [],
                "tags": {},
            },
        )

    def stage(self, api_id: str, name: str) -> StackState:
        return self._add(
            "aws_apigatewayv2_stage",
            f"stage_{api_id}_{name.strip('$')}",
            {
                "id": name,
                "api_id": api_id,
                "name": name,
                "auto_deploy": True,
                "invoke_url": f"https://{api_id}.execute-api.{REGION}.amazonaws.com/"
                + ("" if name == "$default" else name),
            },
        )

    def integration(
        self,
        api_id: str,
        integration_id: str,
        function: str,
        timeout_ms: int = 30000,
        payload_format: str = "2.0",
        uri_style: str = "arn",
    ) -> StackState:
        uri = lambda_arn(function) if uri_style == "arn" else invoke_arn(function)
        return self._add(
            "aws_apigatewayv2_integration",
            f"integration_{integration_id}",
            {
                "id": integration_id,
                "api_id": api_id,
                "integration_type": "AWS_PROXY",
                "integration_method": "POST",
                "integration_uri": uri,
                "payload_format_version": payload_format,
                "timeout_milliseconds": timeout_ms,
            },
        )

    def route(
        self,
        api_id: str,
        route_key: str,
        integration_id: str | None,
        authorization: str = "NONE",
        authorizer_id: str | None = None,
    ) -> StackState:
        route_id = uuid.uuid4().hex[:7]
        return self._add(
            "aws_apigatewayv2_route",
            f"route_{route_id}",
            {
                "id": route_id,
                "api_id": api_id,
                "route_key": route_key,
                "target": f"integrations/{integration_id}" if integration_id else "",
                "authorization_type": authorization,
                "authorizer_id": authorizer_id,
                "authorization_scopes": [],
            },
        )

    def jwt_authorizer(
        self, api_id: str, authorizer_id: str, issuer: str, audiences: list[str]
    ) -> StackState:
        """What the module's aws_apigatewayv2_authorizer.jwt leaves in the state."""
        return self._add(
            "aws_apigatewayv2_authorizer",
            f"authorizer_{authorizer_id}",
            {
                "id": authorizer_id,
                "api_id": api_id,
                "name": f"{api_id}-jwt",
                "authorizer_type": "JWT",
                "identity_sources": ["$request.header.Authorization"],
                "jwt_configuration": [{"issuer": issuer, "audience": audiences}],
                "authorizer_uri": "",
                "authorizer_credentials_arn": "",
                "enable_simple_responses": False,
            },
        )

    def function(
        self,
        name: str,
        image_uri: str,
        *,
        memory: int = 256,
        timeout: int = 10,
        env: dict[str, str] | None = None,
        command: tuple[str, ...] = ("handler.handler",),
        ephemeral: int = 512,
        file_system: tuple[str, str] | None = None,
        reserved: int = -1,
    ) -> StackState:
        return self._add(
            "aws_lambda_function",
            f"function_{name}",
            {
                "id": name,
                "function_name": name,
                "arn": lambda_arn(name),
                "invoke_arn": invoke_arn(name),
                "qualified_arn": f"{lambda_arn(name)}:$LATEST",
                "package_type": "Image",
                "image_uri": image_uri,
                "image_config": [{"command": list(command), "entry_point": [], "working_directory": ""}],
                "environment": [{"variables": env or {}}] if env else [],
                "memory_size": memory,
                "timeout": timeout,
                "ephemeral_storage": [{"size": ephemeral}],
                "file_system_config": [{"arn": file_system[0], "local_mount_path": file_system[1]}]
                if file_system
                else [],
                "reserved_concurrent_executions": reserved,
                "role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
                "architectures": ["x86_64"],
                "version": "$LATEST",
            },
            module="module.function",
        )

    def file_system(self, fs_id: str) -> StackState:
        return self._add(
            "aws_efs_file_system",
            f"fs_{fs_id}",
            {
                "id": fs_id,
                "arn": f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{fs_id}",
                "performance_mode": "generalPurpose",
                "encrypted": True,
            },
            module="module.filesystem",
        )

    def access_point(
        self,
        ap_id: str,
        fs_id: str,
        path: str,
        owner: tuple[int, int, str] | None = (1000, 1000, "755"),
        posix: tuple[int, int] | None = (1000, 1000),
    ) -> StackState:
        root: dict[str, Any] = {"path": path, "creation_info": []}
        if owner:
            root["creation_info"] = [{"owner_uid": owner[0], "owner_gid": owner[1], "permissions": owner[2]}]
        return self._add(
            "aws_efs_access_point",
            f"ap_{ap_id}",
            {
                "id": ap_id,
                "arn": access_point_arn(ap_id),
                "file_system_id": fs_id,
                "file_system_arn": f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{fs_id}",
                "root_directory": [root],
                "posix_user": [{"uid": posix[0], "gid": posix[1], "secondary_gids": []}] if posix else [],
            },
            module="module.filesystem",
        )

    def document(self, serial: int) -> dict[str, Any]:
        return {
            "version": 4,
            "terraform_version": "1.9.8",
            "serial": serial,
            "lineage": "00000000-0000-0000-0000-000000000000",
            "outputs": {},
            "resources": self.resources,
            "check_results": None,
        }

    def write(self, path: Path, serial: int = 1) -> Path:
        """Write atomically (temp file + rename), as a reader must never see half a file here."""
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.write_text(json.dumps(self.document(serial), indent=2))
        partial.replace(path)
        return path


def access_point_arn(ap_id: str) -> str:
    return f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:access-point/{ap_id}"


def simple_api(
    stack: StackState,
    api_id: str,
    function: str,
    stage: str = "$default",
    routes: tuple[str, ...] = ("$default",),
    timeout_ms: int = 30000,
) -> StackState:
    """One API, one stage, every route to one function."""
    integration_id = f"i{api_id}"
    stack.http_api(api_id).stage(api_id, stage).integration(api_id, integration_id, function, timeout_ms)
    for key in routes:
        stack.route(api_id, key, integration_id)
    return stack
