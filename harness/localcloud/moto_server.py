"""The moto server, with the Lambda configuration fields that moto 5.2 drops kept.

Terraform's AWS provider stores in its state what the API answers after create/update, not what
was configured. moto 5.2 forgets ``FileSystemConfigs`` entirely and ignores ``ImageConfig`` and
``EphemeralStorage`` in UpdateFunctionConfiguration, so the state (which the data plane reads)
would lose the EFS mount and keep stale commands. ``patch_moto`` makes moto keep and return
them; ``python -m harness.localcloud.moto_server <moto.server args>`` runs the patched server.
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


def main(argv: list[str] | None = None) -> None:
    patch_moto()
    from moto.server import main as moto_main

    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
