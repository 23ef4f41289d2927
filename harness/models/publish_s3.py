"""Upload a bundle to S3: model files first (multipart, with progress), ``manifest.json`` last.

Order is the whole point: the function reads ``<prefix>/manifest.json`` first and trusts only
what it names, so uploading the manifest after every file it lists means a function never sees
a manifest whose files are missing. Folders are immutable per revision, so publishing a new
revision adds a folder beside the old one; warm functions keep serving the old folder until
they re-read the manifest (``MANIFEST_TTL_SECONDS``), then switch. Old folders are not deleted
here: a function that read the old manifest a moment ago may still be downloading from them.

Each object carries its sha256 as user metadata (``x-amz-meta-sha256``). That makes re-runs
cheap and exact: an object already present with the same size and sha256 is skipped (an S3 ETag
cannot be compared with a local file once the upload was multipart), so publishing an unchanged
bundle uploads nothing, and an interrupted publish resumes where it stopped.

The client is ``boto3.client("s3")`` unless one is given, so ``AWS_ENDPOINT_URL`` (the local
cloud's gateway) and the usual credential chain apply as boto3 defines them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.contract import MANIFEST_NAME, Manifest, object_key

from harness.errors import HarnessError
from harness.models.bundle import digest_cache_path, manifest_sha256
from harness.models.digests import DigestCache
from harness.progress import say

MIB = 1024 * 1024
_MISSING_CODES = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}  # HEAD answers a bare 404
SHA256_METADATA = "sha256"  # read back by this publisher only; the function checks the manifest's digests
MULTIPART_THRESHOLD = 8 * MIB
MULTIPART_CHUNKSIZE = 8 * MIB
MAX_CONCURRENCY = 4


def _size(n: float) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.1f} KiB"


class PublishError(HarnessError):
    """The bundle or the bucket is not in a state we can publish from or to."""


@dataclass(frozen=True)
class PublishResult:
    """What one publish did; ``manifest_sha256`` is the EFS seeding trigger in Terraform."""

    bucket: str
    prefix: str
    uploaded: tuple[str, ...]  # keys, in upload order (the manifest last, when uploaded)
    skipped: tuple[str, ...]  # keys already present with the same size and sha256
    bytes_uploaded: int
    seconds: float
    manifest_key: str
    manifest_sha256: str

    @property
    def manifest_uploaded(self) -> bool:
        return self.manifest_key in self.uploaded


def transfer_config() -> Any:
    """Multipart above 8 MiB, in 8 MiB parts, a few at a time (the host has few cores)."""
    from boto3.s3.transfer import TransferConfig

    return TransferConfig(
        multipart_threshold=MULTIPART_THRESHOLD,
        multipart_chunksize=MULTIPART_CHUNKSIZE,
        max_concurrency=MAX_CONCURRENCY,
        use_threads=True,
    )


class _Progress:
    """boto3 transfer callback: bytes and percent of one file, at most one line per interval."""

    def __init__(self, label: str, total: int, emit: Callable[[str], None], interval: float) -> None:
        self.label, self.total, self.emit, self.interval = label, total, emit, interval
        self.done = 0
        self.started = self.last = time.monotonic()
        self._lock = threading.Lock()  # called from the transfer manager's worker threads

    def __call__(self, amount: int) -> None:
        with self._lock:
            self.done += amount
            now = time.monotonic()
            if now - self.last >= self.interval and self.done < self.total:
                self.last = now
                pct = 100 * self.done / self.total if self.total else 100.0
                self.emit(f"    {self.label}: {_size(self.done)} of {_size(self.total)} ({pct:.0f}%)")

    def finish(self) -> float:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = f", {self.total / MIB / seconds:.1f} MiB/s" if self.total >= MIB else ""
        self.emit(f"    uploaded {self.label}: {_size(self.total)} in {seconds:.2f}s{rate}")
        return seconds


def _remote(client: Any, bucket: str, key: str) -> tuple[int, str | None] | None:
    """(size, sha256 metadata) of an existing object, or None when there is none."""
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if _is_missing(exc):
            return None
        raise
    return int(head["ContentLength"]), head.get("Metadata", {}).get(SHA256_METADATA)


def _is_missing(exc: Any) -> bool:
    """A ClientError that says the object or bucket is not there (HEAD answers a bare 404)."""
    return str(exc.response.get("Error", {}).get("Code")) in _MISSING_CODES


def bucket_exists(client: Any, bucket: str) -> bool:
    """Whether the endpoint has the bucket; other errors (access, network) are raised."""
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        if _is_missing(exc):
            return False
        raise
    return True


def _check_bucket(client: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        endpoint = getattr(getattr(client, "meta", None), "endpoint_url", "?")
        raise PublishError(
            f"bucket {bucket!r} is not reachable at {endpoint} ({exc}); it is created by the "
            "variant's Terraform stack (make deploy), and AWS_ENDPOINT_URL selects the local cloud"
        ) from exc


def publish_to_s3(
    bundle_dir: Path,
    bucket: str,
    prefix: str = "",
    s3_client: Any = None,
    progress: Callable[[str], None] = say,
    *,
    progress_interval: float = 1.0,
    config: Any = None,
) -> PublishResult:
    """Upload what ``bundle_dir/manifest.json`` names to ``s3://bucket/prefix/``, manifest last.

    Files the manifest does not name (staging leftovers, anything else) are never uploaded.
    Each local file is checked against the manifest first (size, and sha256 through the bundle's
    digest cache, so this reads no bytes for a bundle just built), so a bundle changed since it
    was built fails here instead of in the function, and no object's sha256 metadata can lie.
    """
    import boto3  # host-only dependency, imported where used

    started = time.monotonic()
    bundle_dir = Path(bundle_dir)
    manifest_path = bundle_dir / MANIFEST_NAME
    if not manifest_path.is_file():
        raise PublishError(f"no {MANIFEST_NAME} in {bundle_dir}: build the bundle first (build_bundle)")
    manifest = Manifest.from_json(manifest_path.read_bytes())
    manifest_digest = manifest_sha256(bundle_dir)

    digests = DigestCache(digest_cache_path(bundle_dir))  # read, never written, here
    plan: list[tuple[Path, str, int, str]] = []  # (local file, key, size, sha256)
    for model in sorted(manifest.models.values(), key=lambda m: m.model_type):
        for f in model.files:
            local = bundle_dir / model.folder / f.name
            if not local.is_file() or local.stat().st_size != f.size or digests.sha256(local) != f.sha256:
                raise PublishError(
                    f"{local} does not match {MANIFEST_NAME}: rebuild the bundle (make publish)"
                )
            plan.append((local, object_key(prefix, f"{model.folder}/{f.name}"), f.size, f.sha256))
    manifest_key = object_key(prefix, MANIFEST_NAME)
    plan.append((manifest_path, manifest_key, manifest_path.stat().st_size, manifest_digest))

    client = s3_client or boto3.client("s3")
    config = config or transfer_config()
    _check_bucket(client, bucket)
    progress(f"    s3://{bucket}/{object_key(prefix, '')}: {len(plan)} objects to check")
    uploaded: list[str] = []
    skipped: list[str] = []
    sent = 0
    seen: set[str] = set()
    for local, key, size, digest in plan:  # the manifest is the last entry of the plan
        if key in seen:  # two model_types sharing one revision folder
            continue
        seen.add(key)
        if _remote(client, bucket, key) == (size, digest):
            skipped.append(key)
            continue
        meter = _Progress(key, size, progress, progress_interval)
        extra = {
            "Metadata": {SHA256_METADATA: digest},
            "ContentType": "application/json" if local == manifest_path else "application/octet-stream",
        }
        client.upload_file(str(local), bucket, key, ExtraArgs=extra, Callback=meter, Config=config)
        meter.finish()
        uploaded.append(key)
        sent += size
    seconds = time.monotonic() - started
    progress(
        f"    s3://{bucket}/{manifest_key}: uploaded {len(uploaded)} objects ({_size(sent)}), "
        f"skipped {len(skipped)} unchanged, in {seconds:.2f}s; manifest sha256 {manifest_digest[:12]}"
    )
    return PublishResult(
        bucket=bucket,
        prefix=prefix.strip("/"),
        uploaded=tuple(uploaded),
        skipped=tuple(skipped),
        bytes_uploaded=sent,
        seconds=seconds,
        manifest_key=manifest_key,
        manifest_sha256=manifest_digest,
    )
