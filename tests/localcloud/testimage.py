"""The tests' own tiny function image, built FROM the project's base image without any network.

Wheels (awslambdaric and pip itself: Debian's python3 has no pip) are downloaded on the host with
``pip download``; the build runs pip from its wheel with ``--no-index --find-links`` and
``network_mode="none"``. The tag is a hash of everything that goes in, so a second run reuses the
image. The RIE comes from ``harness.images.rie.ensure_rie()``.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker
from docker.errors import ImageNotFound

from harness.images.base import BASE_IMAGE
from harness.images.rie import ensure_rie

AWSLAMBDARIC = "awslambdaric==4.2.2"
LOCAL_REPOSITORY = "lambda-inference-test/localcloud-function"
REGISTRY_REPOSITORY = "localcloud-test/function"
IMAGE_DIR = Path(__file__).parent / "image"

DOCKERFILE = f"""\
FROM {BASE_IMAGE}
COPY wheels/ /tmp/wheels/
RUN set -eu; set -- /tmp/wheels/pip-*.whl; \\
    python3 "$1/pip" install --no-index --find-links /tmp/wheels --no-cache-dir \\
        --disable-pip-version-check --break-system-packages {AWSLAMBDARIC}; \\
    rm -rf /tmp/wheels
COPY aws-lambda-rie /usr/local/bin/aws-lambda-rie
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
COPY handler.py /var/task/handler.py
WORKDIR /var/task
ENV LAMBDA_TASK_ROOT=/var/task PYTHONPATH=/var/task PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
USER 993
ENTRYPOINT ["/lambda-entrypoint.sh"]
CMD ["handler.handler"]
"""


def _content_hash(client: docker.DockerClient, rie: Path) -> str:
    digest = hashlib.sha256()
    digest.update(DOCKERFILE.encode())
    try:
        digest.update(client.images.get(BASE_IMAGE).id.encode())
    except ImageNotFound:
        raise RuntimeError(f"the base image {BASE_IMAGE} is missing; `make setup` builds it") from None
    for path in (IMAGE_DIR / "handler.py", IMAGE_DIR / "lambda-entrypoint.sh", rie):
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:12]


def build_test_image(client: docker.DockerClient) -> str:
    """Build (or reuse) the image; return its local tag."""
    rie = ensure_rie()
    tag = f"{LOCAL_REPOSITORY}:{_content_hash(client, rie)}"
    for image in client.images.list(LOCAL_REPOSITORY):  # earlier versions of the test image
        for old in image.tags:
            if old != tag:
                untag_pushed(client, old, prune=True)
    try:
        client.images.get(tag)
        return tag
    except ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="localcloud-image-") as tmp:
        context = Path(tmp)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                "-d",
                str(context / "wheels"),
                AWSLAMBDARIC,
                "pip",
            ],
            check=True,
        )
        shutil.copy2(rie, context / "aws-lambda-rie")
        (context / "aws-lambda-rie").chmod(0o755)
        for name in ("handler.py", "lambda-entrypoint.sh"):
            shutil.copy2(IMAGE_DIR / name, context / name)
        (context / "lambda-entrypoint.sh").chmod(0o755)
        (context / "Dockerfile").write_text(DOCKERFILE)
        client.images.build(path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True)
    return tag


def push_test_image(client: docker.DockerClient, local_tag: str, registry_address: str) -> str:
    """Push to the local registry; return ``<registry>/<repo>:<tag>``."""
    tag = local_tag.rsplit(":", 1)[1]
    repository = f"{registry_address}/{REGISTRY_REPOSITORY}"
    client.api.tag(local_tag, repository, tag)
    for chunk in client.api.push(repository, tag=tag, stream=True, decode=True):
        if "error" in chunk:
            raise RuntimeError(f"pushing {repository}:{tag} failed: {chunk['error']}")
    return f"{repository}:{tag}"


def untag_pushed(client: docker.DockerClient, reference: str, prune: bool = False) -> None:
    """Drop one tag from the engine (the image itself goes only with its last tag)."""
    with contextlib.suppress(docker.errors.APIError):
        client.images.remove(reference, noprune=not prune)
