"""The EFS seeding entry point ``inference.seed.handler``: S3 store -> MODEL_ROOT (the mount).

For every model of the bucket's manifest: a revision folder whose marker vouches for it (it
records exactly the manifest's digests, and every file's stamp is still the one it had when it
verified: ``files.verified_unchanged``) is skipped; otherwise its files go through the S3 store's
own ``download_model``, which hashes the files already there, keeps those that match, and
downloads the others (temporary names in the target folder, sha256 verified, atomic rename,
nothing partial left behind), then stamps the marker again. So a run repairs a file written over
on the mount, and stamps the folders an earlier version marked with digests only.
``manifest.json`` is written last, atomically, so an API function reading the mount never sees
a manifest naming files that are not all there yet. Revision folders are immutable, so a
function still serving the previous manifest keeps reading its folder undisturbed.

Seeders take turns: each holds an exclusive lock on ``SEED_LOCK_NAME`` at the root for its whole
run (``flock``; on EFS the NFS client turns it into an NFSv4 lock, released by the server when a
killed seeder's lease ends). Without it two runs at once (an apply and a hand-run invoke, two
publishes in a row) interleaved: one's sweep deleted the other's partial files mid-download, both
downloaded the same folder, and the one that had read the older manifest, finishing last, wrote
it over the newer one. The manifest is read from the bucket only once the lock is held, so runs
write manifests in the order they read them and the last writer has read the newest.

Event (all optional): ``{"bucket": ..., "prefix": ...}``, defaulting to MODEL_BUCKET and
MODEL_PREFIX; MODEL_ROOT (default ``/mnt/models``) is the target.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from inference.contract import MANIFEST_NAME, Manifest
from inference.observability import logger
from inference.stores.files import atomic_write_text, safe_join, stamps_of, sweep_partials, verified_unchanged
from inference.stores.s3 import TransferSettings, download_model, object_key, s3_client

SEED_LOCK_NAME = ".seed.lock"
WAITING_MESSAGE = "another seeder is running on this file system; waiting for its end"


@contextmanager
def seeding_turn(root: Path) -> Iterator[float]:
    """Hold the file system's seeding lock (waiting for another seeder's run to end); yields the
    seconds waited. Closing the descriptor releases the lock, and so does the process ending."""
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root / SEED_LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        started = time.perf_counter()
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info(WAITING_MESSAGE)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield time.perf_counter() - started
    finally:
        os.close(fd)


def seed(bucket: str, prefix: str, root: Path, client: Any = None) -> dict[str, Any]:
    """Copy the manifest's models into ``root`` in this seeder's turn; returns what was copied
    and skipped, and how long the turn took to come."""
    started = time.perf_counter()
    client = client if client is not None else s3_client()
    with seeding_turn(root) as waited:
        summary = _seed_in_turn(bucket, prefix, root, client)
    summary.update(lock_wait_seconds=round(waited, 3), seconds=round(time.perf_counter() - started, 3))
    logger.info("seeding done", extra=summary)
    return summary


def _seed_in_turn(bucket: str, prefix: str, root: Path, client: Any) -> dict[str, Any]:
    """The run itself, with the lock held: no other seeder's partial files exist to be swept."""
    key = object_key(prefix, MANIFEST_NAME)
    manifest_text = client.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
    manifest = Manifest.from_json(manifest_text)
    swept = sweep_partials(root)
    transfer = TransferSettings()
    copied: list[str] = []
    rehashed: list[str] = []
    skipped: list[str] = []
    total = 0
    for model_type, model in sorted(manifest.models.items()):
        folder = safe_join(root, model.folder, model)
        stamps = stamps_of(folder, model)
        if stamps is not None and verified_unchanged(folder, model, stamps):
            skipped.append(model_type)
            continue
        downloaded = download_model(client, bucket, prefix, model, folder, transfer)
        total += downloaded
        (copied if downloaded else rehashed).append(model_type)
        logger.info(
            "model seeded", extra={"model_type": model_type, "folder": model.folder, "bytes": downloaded}
        )
    atomic_write_text(root / MANIFEST_NAME, manifest_text)
    return {
        "copied": copied,
        "rehashed": rehashed,
        "skipped": skipped,
        "bytes": total,
        "partials_removed": len(swept),
        "manifest": f"s3://{bucket}/{key}",
        "catalog": manifest.catalog,
    }


@logger.inject_lambda_context
def handler(event: Any, context: Any) -> dict[str, Any]:
    """Seed MODEL_ROOT from ``s3://bucket/prefix`` (event keys override MODEL_BUCKET/MODEL_PREFIX)."""
    event = event if isinstance(event, dict) else {}
    bucket = str(event.get("bucket") or os.environ.get("MODEL_BUCKET", ""))
    prefix = str(
        event.get("prefix") if event.get("prefix") is not None else os.environ.get("MODEL_PREFIX", "")
    )
    root = Path(os.environ.get("MODEL_ROOT") or "/mnt/models")
    if not bucket:
        raise ValueError("no bucket: set MODEL_BUCKET or pass {'bucket': ...} in the event")
    return seed(bucket, prefix.strip("/"), root)
