"""Model stores behind one interface (``ModelStore``), chosen by MODEL_STORE.

Each implementation is imported only when chosen, so the EFS and image variants never import
botocore.
"""

from __future__ import annotations

from inference.config import Settings
from inference.stores.base import ManifestUnavailableError, ModelStore


def open_store(settings: Settings) -> ModelStore:
    """The store the settings name (MODEL_STORE), ready to read its manifest."""
    if settings.store == "s3":
        from inference.stores.s3 import S3Store

        return S3Store(
            bucket=settings.bucket,
            prefix=settings.prefix,
            cache_dir=settings.cache_dir,
            ephemeral_storage_mb=settings.ephemeral_storage_mb,
        )
    from inference.stores.local import efs_store, image_store

    if settings.model_root is None:  # pragma: no cover - Settings gives a default per store
        raise ValueError("MODEL_ROOT is required for the efs and image stores")
    return efs_store(settings.model_root) if settings.store == "efs" else image_store(settings.model_root)


__all__ = ["ManifestUnavailableError", "ModelStore", "open_store"]
