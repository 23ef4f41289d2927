"""Images: map ECR URIs to the local registry, and make sure an image is in the engine.

ECR's data plane is the local registry: ``<acct>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`` is
pulled as ``127.0.0.1:<port>/<repo>:<tag>``. Tags are content hashes in this project, so an image
is pulled once per reference and process; a reference that changes is a new image.
"""

from __future__ import annotations

import logging
import threading

import docker
from docker.errors import APIError, ImageNotFound

from harness.ecr import ECR_URI
from harness.localcloud.docker.exceptions import ImageMissingError

log = logging.getLogger(__name__)


def registry_reference(image_uri: str, registry_address: str) -> str:
    """The reference to pull for a function's ``image_uri`` (ECR URIs point at the local registry)."""
    match = ECR_URI.match(image_uri)
    if match:
        return f"{registry_address}/{match.group('repo')}"
    return image_uri


def _split(reference: str) -> tuple[str, str | None]:
    """``repo:tag`` or ``repo@digest`` -> (repo, tag-or-digest) as docker-py's pull wants them."""
    if "@" in reference:
        repo, digest = reference.split("@", 1)
        return repo, digest
    last = reference.rsplit("/", 1)[-1]
    if ":" in last:
        repo, tag = reference.rsplit(":", 1)
        return repo, tag
    return reference, "latest"


class ImagePuller:
    """Pulls each reference at most once per process (concurrent cold starts share one pull)."""

    def __init__(self, client: docker.DockerClient) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._done: set[str] = set()

    def ensure(self, reference: str) -> None:
        """Pull ``reference`` from its registry; fall back to a copy the engine already has."""
        with self._lock:
            if reference in self._done:
                return
            ref_lock = self._locks.setdefault(reference, threading.Lock())
        with ref_lock:
            if reference in self._done:
                return
            repo, tag = _split(reference)
            try:
                self._client.api.pull(repo, tag=tag)
                log.info("pulled %s", reference)
            except (APIError, ImageNotFound) as exc:
                if not self._local(reference):
                    raise ImageMissingError(
                        f"image {reference} is not in the registry nor in the engine ({_reason(exc)}); "
                        "push it first (make deploy does)"
                    ) from exc
                log.warning("cannot pull %s (%s); using the engine's copy", reference, _reason(exc))
            with self._lock:
                self._done.add(reference)

    def forget(self, reference: str) -> None:
        """Pull again next time (after a start failed because the image vanished)."""
        with self._lock:
            self._done.discard(reference)

    def _local(self, reference: str) -> bool:
        try:
            self._client.api.inspect_image(reference)
        except (ImageNotFound, APIError):
            return False
        return True


def _reason(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc).strip()
