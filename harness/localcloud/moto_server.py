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

moto answers a ranged GET by reading the whole object and slicing it, so each 8 MiB part of a
58 MB model file cost a full read (~57 ms for a 1 KB range here): the S3 store's concurrent
ranged download, which S3 serves part by part, looked several times slower than one plain GET.
``patch_ranged_reads`` makes a single-range GET read only its bytes.
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
    return (
        statement.get("Effect") == "Deny"
        and list(condition) == ["Bool"]
        and flags == {"aws:securetransport": "false"}
    )


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


class KeyBytes:
    """A moto key's content that reads from the key's buffer only the slice asked for."""

    def __init__(self, key: Any) -> None:
        self.key = key

    def __len__(self) -> int:
        return int(self.key.size)

    def __getitem__(self, span: slice) -> bytes:
        start, stop, _ = span.indices(len(self))
        with self.key.lock:
            self.key._value_buffer.seek(start)
            return bytes(self.key._value_buffer.read(max(stop - start, 0)))


class _KeyWithLazyValue:
    """A moto key whose ``value`` is a ``KeyBytes``; every other attribute is the key's."""

    def __init__(self, key: Any) -> None:
        self._key = key

    @property
    def value(self) -> KeyBytes:
        return KeyBytes(self._key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._key, name)


def patch_ranged_reads() -> None:
    """Idempotently make moto read only the requested bytes of a single-range GET (see above).

    ``get_object`` gets the key wrapped so its content is a ``KeyBytes``; moto's own range handling
    then takes ``len`` and one slice of it, as it would of the bytes. Whatever path does not slice
    (no range, several ranges, a range moto treats as none) gets the whole content as bytes.
    """
    from moto.s3.responses import S3Response

    if getattr(S3Response, "_localcloud_ranged", False):
        return
    original_get_object = S3Response.get_object
    original_handle_range = S3Response._handle_range_header

    def get_object(self: Any) -> Any:
        if not self.headers.get("range") or self._get_int_param("partNumber"):
            return original_get_object(self)
        real_get_key = self._get_key

        def get_key(*args: Any, **kwargs: Any) -> Any:
            key, not_modified = real_get_key(*args, **kwargs)
            return _KeyWithLazyValue(key), not_modified

        self._get_key = get_key
        try:
            return original_get_object(self)
        finally:
            del self._get_key

    def handle_range_header(self: Any, request: Any, headers: Any, content: Any) -> Any:
        status, headers, body = original_handle_range(self, request, headers, content)
        return status, headers, body[:] if isinstance(body, KeyBytes) else body

    S3Response.get_object = get_object
    S3Response._handle_range_header = handle_range_header
    S3Response._localcloud_ranged = True


def main(argv: list[str] | None = None) -> None:
    from harness.localcloud import logcap
    from harness.localcloud.config import Settings

    # werkzeug logs every request (each PutLogEvents of the CloudWatch shipper): capped, as the
    # gateway's own log (logcap.py)
    logcap.configure("INFO", Settings.from_env().log_max_bytes, loggers=("werkzeug",))
    patch_moto()
    patch_bucket_policies()
    patch_ranged_reads()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
