"""Build the function image with docker-py, named by the content hash of its inputs.

``build_function_image("s3" | "efs" | "oci", runtimes, bundle, base)`` is the one entry point. An
image installs the engine runtimes its catalog uses and no others (``torch``, ``onnxruntime``):
S3 and EFS share one image without weights per set of runtimes
(``lambda-inference/function-<runtimes>:<hash>``, e.g. ``function-onnxruntime``, the lean image);
OCI bakes a model bundle in (``lambda-inference/function-oci-<catalog>:<hash>``). Unchanged inputs
give the same tag, and a tag that exists locally is never built again, so a redeploy with nothing
changed costs one hash.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import docker
from inference.contract import MANIFEST_NAME, Manifest

from harness.errors import HarnessError
from harness.images.base import BASE_IMAGE, ensure_base_image
from harness.images.compat import check_base_image
from harness.images.context import BuildContext, add_function_sources, add_model_bundle, add_wheelhouse
from harness.images.engine import docker_client, image_exists
from harness.images.limits import check_oci_image_size
from harness.images.rie import ensure_rie
from harness.images.wheelhouse import PYTHON_VERSION, ensure_wheelhouse, runtimes_name
from harness.paths import FUNCTION_DIR, VARIANTS, cache_dir
from harness.progress import Log, say

FUNCTION_REPOSITORY_PREFIX = "lambda-inference/function-"
OCI_REPOSITORY_PREFIX = "lambda-inference/function-oci-"
TAG_LENGTH = 16
LABEL_PREFIX = "io.github.lambda-inference"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # the classic builder colours a step's stderr


class ImageBuildError(HarnessError):
    """``docker build`` failed; the message carries the last lines of its output."""


@dataclass(frozen=True)
class BuiltImage:
    """A function image present in the local engine."""

    tag: str
    content_hash: str
    size_bytes: int
    built: bool = True  # False when the tag already existed and nothing was built
    runtimes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ImagePlan:
    """What would be built: the tag and the context that produces it."""

    tag: str
    content_hash: str
    target: str
    base_image: str
    context: BuildContext
    runtimes: frozenset[str]


def plan_function_image(
    variant: str,
    runtimes: Iterable[str],
    model_bundle: Path | None = None,
    base_image: str | None = None,
    log: Log = say,
) -> ImagePlan:
    """Gather the inputs (base image, wheelhouse, RIE, sources, bundle) and hash them; builds nothing.

    ``runtimes`` are the engine runtimes the image installs (``Catalog.runtimes``); a baked
    bundle whose models need another is refused here, before anything is built.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {', '.join(VARIANTS)}")
    if (variant == "oci") != (model_bundle is not None):
        raise ValueError("the oci variant needs a model bundle, and only the oci variant takes one")
    runtimes = frozenset(runtimes)
    if not runtimes:
        raise ValueError("an image needs at least one engine runtime")
    base = base_image or ensure_base_image(BASE_IMAGE, log)
    base_id = _base_image_id(base, log)
    wheelhouse = ensure_wheelhouse(runtimes, log)
    if base != BASE_IMAGE:  # ours is built for the wheelhouse; another base is asked first
        runtime = check_base_image(base, PYTHON_VERSION, wheelhouse.wheels)
        log(f"image: base image {base} has CPython {runtime.python} and glibc {runtime.glibc_text}")
    context = BuildContext()
    context.add_file("Dockerfile", FUNCTION_DIR / "Dockerfile")
    context.add_file("lambda-entrypoint.sh", FUNCTION_DIR / "lambda-entrypoint.sh")
    context.add_file("requirements.txt", wheelhouse.requirements_file)
    context.add_file("precompile.py", Path(__file__).with_name("precompile.py"))
    context.add_file("aws-lambda-rie", ensure_rie())
    add_function_sources(context, FUNCTION_DIR)
    add_wheelhouse(context, wheelhouse)
    context.note(f"base-image {base_id}")
    context.note(f"runtimes {runtimes_name(runtimes)}")
    if model_bundle is None:
        target, repository = "function", FUNCTION_REPOSITORY_PREFIX + runtimes_name(runtimes)
    else:
        manifest = add_model_bundle(context, Path(model_bundle))
        missing = sorted({m.runtime or m.engine for m in manifest.models.values()} - runtimes)
        if missing:
            raise ValueError(
                f"the bundle's models need {', '.join(missing)}, which the image would not install"
            )
        estimate = check_oci_image_size(manifest, runtimes)
        log(f"image: {len(manifest.models)} models baked in, about {estimate / 1000**3:.2f} GB in all")
        target = "function-oci"
        repository = OCI_REPOSITORY_PREFIX + _catalog_name(manifest, Path(model_bundle))
    context.note(f"target {target}")
    content_hash = context.content_hash()
    tag = f"{repository}:{content_hash[:TAG_LENGTH]}"
    return ImagePlan(tag, content_hash, target, base, context, runtimes)


def build_function_image(
    variant: str,
    runtimes: Iterable[str],
    model_bundle: Path | None = None,
    base_image: str | None = None,
    log: Log = say,
) -> BuiltImage:
    """Build (or find) the function image for ``variant`` with these engine runtimes;
    ``model_bundle`` only for ``oci``.

    ``base_image`` defaults to the project's Debian base, built on first use.
    """
    plan = plan_function_image(variant, runtimes, model_bundle, base_image, log)
    client = docker_client()
    try:
        if image_exists(client, plan.tag):
            log(f"image: {plan.tag} is up to date (inputs unchanged)")
            return BuiltImage(plan.tag, plan.content_hash, _size(client, plan.tag), False, plan.runtimes)
        _build(client, plan, log)
        return BuiltImage(plan.tag, plan.content_hash, _size(client, plan.tag), True, plan.runtimes)
    finally:
        client.close()


def _build(client: docker.DockerClient, plan: ImagePlan, log: Log) -> None:
    # A name of its own: two builds of the same tag at once must not write one file.
    archive = cache_dir() / "build" / f"context-{plan.content_hash[:TAG_LENGTH]}-{os.getpid()}.tar"
    started = time.monotonic()
    log(f"image: building {plan.tag} (target {plan.target}, base {plan.base_image})")
    plan.context.write_tar(archive)
    tail: list[str] = []
    try:
        with open(archive, "rb") as stream:
            chunks = client.api.build(
                fileobj=stream,
                custom_context=True,
                tag=plan.tag,
                target=plan.target,
                buildargs={"BASE_IMAGE": plan.base_image, "RUNTIMES": " ".join(sorted(plan.runtimes))},
                network_mode="none",
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                labels={
                    f"{LABEL_PREFIX}.content-hash": plan.content_hash,
                    f"{LABEL_PREFIX}.target": plan.target,
                    f"{LABEL_PREFIX}.runtimes": runtimes_name(plan.runtimes),
                },
            )
            for chunk in chunks:
                if "error" in chunk:
                    detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                    raise ImageBuildError(f"building {plan.tag} failed: {detail}\n" + "\n".join(tail))
                for line in _ANSI.sub("", str(chunk.get("stream", ""))).splitlines():
                    if line.strip():
                        tail = [*tail[-40:], line]
                        log(f"build: {line}")
    finally:
        archive.unlink(missing_ok=True)
    log(f"image: built {plan.tag} in {time.monotonic() - started:.0f} s")


def _base_image_id(base: str, log: Log) -> str:
    client = docker_client()
    try:
        if not image_exists(client, base):
            log(f"image: pulling base image {base}")
            for chunk in client.api.pull(base, stream=True, decode=True):
                if "error" in chunk:
                    raise ImageBuildError(f"cannot pull base image {base}: {chunk['error']}")
        return str(client.api.inspect_image(base)["Id"])
    finally:
        client.close()


def _size(client: docker.DockerClient, tag: str) -> int:
    return int(client.api.inspect_image(tag)["Size"])


def _catalog_name(manifest: Manifest, bundle: Path) -> str:
    name = manifest.catalog or bundle.name
    safe = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-._")
    if not safe:
        raise ValueError(f"cannot name an image after catalog {name!r} (bundle {bundle}/{MANIFEST_NAME})")
    return safe
