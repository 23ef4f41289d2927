"""The moto server, with the Lambda configuration fields that moto 5.2 drops kept.

Terraform's AWS provider stores in its state what the API answers after create/update, not what
was configured. moto 5.2 forgets ``FileSystemConfigs`` entirely and ignores ``ImageConfig`` and
``EphemeralStorage`` in UpdateFunctionConfiguration, so the state (which the data plane reads)
would lose the EFS mount and keep stale commands. ``patch_moto`` makes moto keep and return
them; ``python -m harness.localcloud.moto_server <moto.server args>`` runs the patched server.

moto also evaluates bucket policies without their Conditions, which turns the standard TLS-only
statement (Deny when ``aws:SecureTransport`` is false) into a deny-all. The local endpoint is
plain HTTP on loopback, which we treat as the secure transport it stands in for: the patch
evaluates bucket policies without the statements that only deny insecure transport.
"""

from __future__ import annotations

import sys
from typing import Any


def patch_moto() -> None:
    """Idempotently teach ``moto.awslambda.models.LambdaFunction`` the three fields."""
    from moto.awslambda import models

    function_class: Any = models.LambdaFunction
    if getattr(function_class, "_localcloud_patched", False):
        return
    original_init = function_class.__init__
    original_get = function_class.get_configuration
    original_update = function_class.update_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:  # noqa: N807
        original_init(self, account_id, spec, region, version)
        self.file_system_configs = list(spec.get("FileSystemConfigs") or [])

    def get_configuration(self: Any, on_create: bool = False) -> dict[str, Any]:
        config = original_get(self, on_create)
        if getattr(self, "file_system_configs", None):
            config["FileSystemConfigs"] = self.file_system_configs
        return config

    def update_configuration(self: Any, updates: dict[str, Any]) -> dict[str, Any]:
        if "FileSystemConfigs" in updates:
            self.file_system_configs = list(updates["FileSystemConfigs"] or [])
        if "ImageConfig" in updates:
            self.image_config = models.ImageConfig(updates["ImageConfig"] or {})
        if updates.get("EphemeralStorage"):
            self.ephemeral_storage = updates["EphemeralStorage"]["Size"]
        return original_update(self, updates)

    function_class.__init__ = __init__
    function_class.get_configuration = get_configuration
    function_class.update_configuration = update_configuration
    function_class._localcloud_patched = True


def _denies_only_insecure_transport(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    flags = {key.lower(): str(value).lower() for key, value in (condition.get("Bool") or {}).items()}
    return statement.get("Effect") == "Deny" and list(condition) == ["Bool"] and flags == {
        "aws:securetransport": "false"
    }


def patch_bucket_policies() -> None:
    """Idempotently make moto's bucket-policy check skip TLS-only Deny statements (see above)."""
    import json

    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3 import models

    bucket_class: Any = models.FakeBucket
    if getattr(bucket_class, "_localcloud_patched", False):
        return

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy)
        statements = document.get("Statement") or []
        statements = [statements] if isinstance(statements, dict) else statements
        kept = [s for s in statements if not _denies_only_insecure_transport(s)]
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**document, "Statement": kept})).is_action_permitted(action, resource)

    bucket_class.get_permission = get_permission
    bucket_class._localcloud_patched = True


def main(argv: list[str] | None = None) -> None:
    patch_moto()
    patch_bucket_policies()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
