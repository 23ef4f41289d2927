"""Lambda's image size limit, checked before an oci image bakes a catalog.

Lambda refuses a container image over 10 GB (uncompressed, all layers: "Container image code
package size", Lambda quotas page). Building and pushing a 12 GB image to learn that takes many
minutes, so the oci build estimates its size first: the catalog's model files (the manifest knows
every size) plus the function image without models, measured for each runtime set on this
project's Debian base (README, "Engines": function-torch 922 MB, function-onnxruntime 318 MB).
"""

from __future__ import annotations

from collections.abc import Iterable

from inference.contract import Manifest

from harness.errors import HarnessError

LAMBDA_IMAGE_LIMIT_BYTES = 10 * 1000**3
MB = 1000**2
# The function image without models, per runtime it installs (measured, docker image ls).
RUNTIME_IMAGE_BYTES = {"torch": 922 * MB, "onnxruntime": 318 * MB}


class ImageTooLargeError(HarnessError):
    """The baked image would pass Lambda's limit; the message names the size and the way out."""


def check_oci_image_size(manifest: Manifest, runtimes: Iterable[str]) -> int:
    """The estimated size of the image baking ``manifest``; ImageTooLargeError past the limit."""
    sizes = [model.size for model in manifest.models.values()]
    return check_baked_size(manifest.catalog, sizes, runtimes)


def check_baked_size(catalog: str, model_sizes: list[int], runtimes: Iterable[str]) -> int:
    """The function image's size with these runtimes plus these models' files; raises
    ImageTooLargeError, naming the size and the way out, when it passes Lambda's limit."""
    base = sum(RUNTIME_IMAGE_BYTES.get(runtime, RUNTIME_IMAGE_BYTES["torch"]) for runtime in runtimes)
    models = sum(model_sizes)
    size = base + models
    if size > LAMBDA_IMAGE_LIMIT_BYTES:
        raise ImageTooLargeError(
            f"catalog {catalog!r} would bake an image of about {size / 1000**3:.1f} GB "
            f"({len(model_sizes)} models, {models / 1000**3:.1f} GB of model files), over Lambda's "
            f"{LAMBDA_IMAGE_LIMIT_BYTES / 1000**3:.0f} GB image limit. Way out: deploy it with "
            "VARIANT=s3 or VARIANT=efs (models outside the image), or bake fewer models "
            "(e.g. a smaller FLEET_SIZE)"
        )
    return size
