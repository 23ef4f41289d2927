"""Push a function image to its repository with docker-py: ECR on AWS, the local registry locally.

Tags are content hashes, so a tag the registry already holds is the same image: the push is
skipped. That also keeps a redeploy with nothing changed from moving a tag Lambda points at.

Locally the Terraform stacks still name ECR repositories (moto's), while the bytes live in the
local registry (docs/design.md): an ECR URI is pushed to ``127.0.0.1:<port>/<repo>`` and the ECR
form is returned, since that is what the function's ``image_uri`` holds.
"""

from __future__ import annotations

import base64
import time
from typing import Any

import docker

from harness.docker_engine import BUILD_TIMEOUT_SECONDS, engine_client
from harness.ecr import ECR_URI
from harness.errors import HarnessError
from harness.local_settings import registry_address
from harness.progress import Log, say


class ImagePushError(HarnessError):
    """The registry refused the push or could not be reached."""


def registry_repository(repository_uri: str, target: str = "local") -> str:
    """Where the bytes go: an ECR repository maps to the local registry for the local target."""
    match = ECR_URI.match(repository_uri)
    if target == "local" and match:
        return f"{registry_address()}/{match['repo']}"
    return repository_uri


def push_image(
    local_tag: str,
    repository_uri: str,
    target: str = "local",
    auth_config: dict[str, str] | None = None,
    log: Log = say,
) -> str:
    """Push ``local_tag`` to ``repository_uri`` under its own (content-hash) tag; return the image URI.

    ``repository_uri`` names a repository without a tag: an ECR repository URL (a Terraform
    output) or ``127.0.0.1:5055/<repo>``. For ``target="aws"`` the ECR login comes from boto3
    unless ``auth_config`` is given. The returned ``<repository_uri>:<tag>`` is what Lambda runs.
    """
    if ":" not in local_tag.rsplit("/", 1)[-1]:
        raise ValueError(f"{local_tag!r} has no tag; push content-hash tags only")
    tag = local_tag.rsplit(":", 1)[1]
    uri = f"{repository_uri}:{tag}"
    repository = registry_repository(repository_uri, target)
    if target != "local" and auth_config is None and ECR_URI.match(repository_uri):
        auth_config = ecr_auth_config(repository_uri)
    _push(local_tag, repository, tag, auth_config, log)
    return uri


def ecr_auth_config(repository_uri: str) -> dict[str, str]:
    """Docker credentials for an ECR registry, from the caller's AWS credentials."""
    import boto3

    match = ECR_URI.match(repository_uri)
    assert match, repository_uri
    ecr = boto3.client("ecr", region_name=match["region"])
    token = ecr.get_authorization_token(registryIds=[match["account"]])["authorizationData"][0]
    username, password = base64.b64decode(token["authorizationToken"]).decode().split(":", 1)
    return {"username": username, "password": password}


def _push(local_tag: str, repository: str, tag: str, auth_config: dict[str, str] | None, log: Log) -> None:
    remote = f"{repository}:{tag}"
    client = engine_client(BUILD_TIMEOUT_SECONDS)
    try:
        if registry_has(client, remote, auth_config):
            log(f"push: {remote} is already in the registry")
            return
        client.api.tag(local_tag, repository, tag)
        started = time.monotonic()
        log(f"push: {local_tag} -> {remote}")
        _stream(
            client.api.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config),
            remote,
            log,
        )
        log(f"push: {remote} done in {time.monotonic() - started:.0f} s")
    finally:
        client.close()


def registry_has(client: docker.DockerClient, image: str, auth_config: dict[str, str] | None = None) -> bool:
    """Whether the registry holds ``image`` (asked through the engine, which knows its auth)."""
    try:
        client.api.inspect_distribution(image, auth_config=auth_config)
    except docker.errors.APIError:
        return False
    return True


def _stream(chunks: Any, remote: str, log: Log) -> None:
    """Log each layer's status when it changes (not every byte of progress), and fail on errors."""
    last: dict[str, str] = {}
    for chunk in chunks:
        if "error" in chunk:
            raise ImagePushError(f"pushing {remote} failed: {chunk['error']}")
        layer, status = chunk.get("id", ""), chunk.get("status", "")
        if status and last.get(layer) != status:
            last[layer] = status
            log(f"push: {layer + ': ' if layer else ''}{status}")
