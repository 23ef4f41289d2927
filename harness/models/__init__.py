"""Models: catalog -> resolve -> bundle (files + sha256 manifest) -> publish.

* ``resolve``: a catalog name or path to local files per model (HuggingFace cache or a local
  directory), failing early with the way out when a source is not available.
* ``bundle``: the store layout ``models/<source>/<revision>/<file>`` + ``manifest.json`` under
  ``.state/models/<catalog>/``; the OCI image bakes it, S3 publishing uploads it.
* ``publish_s3``: the bundle to ``s3://<bucket>/<prefix>/``, manifest last.

Publishing a new model revision (no redeploy)
---------------------------------------------
1. Edit the catalog: change a model's ``revision`` (a commit, tag or branch of its hub repo), or
   point a ``path`` source at a directory with new files (its revision is a digest of their
   contents, so new bytes mean a new revision).
2. ``make publish VARIANT=s3`` (or ``efs``). The new revision gets a new folder
   ``models/<source>/<new revision>/`` beside the old one, then a new ``manifest.json`` is
   written last. For EFS the seeding function then copies the new folder from the bucket to the
   file system, manifest last as well.
3. Warm functions re-read the manifest every ``MANIFEST_TTL_SECONDS`` (30 s by default) and load
   the new revision on the next request for that model; cold starts see it at once. The image
   variant (``oci``) bakes its models, so there a new revision means ``make deploy VARIANT=oci``.

Re-publishing an unchanged catalog changes nothing: the same manifest bytes, no upload.
"""

from harness.models.bundle import build_bundle, default_bundle_dir, manifest_sha256
from harness.models.publish_s3 import PublishError, PublishResult, object_key, publish_to_s3
from harness.models.resolve import (
    CatalogError,
    ModelSourceError,
    ResolvedModel,
    available_catalogs,
    load_catalog,
    resolve_catalog,
    resolve_model,
)

__all__ = [
    "CatalogError",
    "ModelSourceError",
    "PublishError",
    "PublishResult",
    "ResolvedModel",
    "available_catalogs",
    "build_bundle",
    "default_bundle_dir",
    "load_catalog",
    "manifest_sha256",
    "object_key",
    "publish_to_s3",
    "resolve_catalog",
    "resolve_model",
]
