"""Faults the integration tests inject into a deployed stack, and the client that rides them out.

Shared by ``test_fleet`` (a corrupted fleet model) and ``test_faults`` (every fault of #12 item 6):
one definition of where a model's bytes are corrupted in each store and of which answers a test
retries, so the two modules cannot drift apart.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import boto3
import requests
from inference.contract import MANIFEST_NAME, Manifest, object_key

from harness import deploy, localcloud
from harness.deploy import MODEL_PREFIX
from harness.localcloud.config import Settings
from harness.models import default_bundle_dir
from harness.models.fleet import WEIGHTS_FILE

# Retry a request the gateway cut short (504) or refused while the function's one environment was
# busy (429): on the shared 2-core machine a cold start and a load can outlast API Gateway's 30 s.
RETRY_STATUSES = {429, 504}
RETRY_SECONDS = 600.0


def flip_a_byte(data: bytes) -> bytes:
    """The same bytes with the middle one inverted: same size, another sha256."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1 :]


def published_manifest(catalog_name: str) -> Manifest:
    """The manifest of the catalog's bundle, as the last publish uploaded it."""
    return Manifest.from_json((default_bundle_dir(catalog_name) / MANIFEST_NAME).read_text())


def efs_copy(relative: str) -> Path:
    """The one copy of a store-relative file on the local cloud's file systems (efs variant)."""
    copies = list(Settings.from_env().efs_dir.glob(f"**/{relative}"))
    assert len(copies) == 1, copies
    return copies[0]


def corrupt_model_file(
    deployment: deploy.Deployment, catalog_name: str, model_type: str, file_name: str = WEIGHTS_FILE
) -> None:
    """Flip one byte of the model's file where the deployed function reads it (the bucket for s3,
    the file system for efs); the size stays, the sha256 does not."""
    relative = f"{published_manifest(catalog_name).models[model_type].folder}/{file_name}"
    if deployment.variant == "s3":
        s3 = boto3.client("s3", **localcloud.boto3_kwargs())
        bucket, key = deployment.outputs["model_bucket"], object_key(MODEL_PREFIX, relative)
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        s3.put_object(Bucket=bucket, Key=key, Body=flip_a_byte(data))
        return
    path = efs_copy(relative)
    path.write_bytes(flip_a_byte(path.read_bytes()))


def send(
    method: str, url: str, sent: Counter[str] | None = None, model_type: str = "", **kwargs: object
) -> requests.Response:
    """The function's answer, retried while the gateway says 429 (the environment was busy: the
    function never ran) or 504 (the gateway gave up at 30 s; the function ran on, so the retry
    finds the model loaded). ``sent`` counts the requests that reached the function."""
    deadline = time.monotonic() + RETRY_SECONDS
    while True:
        response = requests.request(method, url, timeout=300, **kwargs)
        if sent is not None and response.status_code != 429:
            sent[model_type] += 1
        if response.status_code not in RETRY_STATUSES or time.monotonic() > deadline:
            return response
        time.sleep(2.0)
