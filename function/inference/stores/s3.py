"""S3 store: the manifest and model files in a bucket, downloaded to ephemeral storage (/tmp).

Downloads are GetObject calls on a thread pool: every file of a model is submitted at once and
files above 8 MiB are fetched as concurrent 8 MiB ranged GETs, each written at its offset. That is
what boto3's transfer manager does; it is not used because importing boto3 and s3transfer cost
~0.25 s of every S3 cold start, for features a download of immutable, checksummed files does not
need. The GETs go through ``s3_reader`` (http.client + SigV4) where the environment holds
credentials, as Lambda's does: botocore's import and client cost ~0.37 s more (``s3_reader`` has
the figures); botocore stays the fallback.

Each file is written under a temporary name in its final folder, verified (size and sha256), then
renamed; whatever happens in between, the temporary files are removed, so /tmp never holds a
partial file under a final name. A folder is marked complete once every file is verified, and
that marker is what lets the next load and a later cold start that finds /tmp intact reuse it
without downloading or hashing again. When a download would overflow ephemeral storage, the least
recently used model folders are evicted, but never the folder of a model loaded in memory: a
loaded torch model keeps its safetensors file memory-mapped, so deleting the file would free no
block until the model is unloaded, and counting it as free would overflow /tmp. When only loaded
models' folders are left, ``shortfall`` tells the service how much to unload from memory first.

``download_model`` is the one download routine; the EFS seeder uses it too. Neither client is
imported by the EFS and image stores.
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inference.contract import (
    MANIFEST_NAME,
    ContractError,
    FileDigest,
    Manifest,
    ManifestModel,
    object_key,
)
from inference.errors import ModelUnavailableError
from inference.observability import logger
from inference.stores.base import DiskUsage, ManifestUnavailableError, ModelStore
from inference.stores.files import (
    COMPLETE_MARKER,
    file_problem,
    is_complete,
    mark_complete,
    remove_folder,
    remove_quietly,
    safe_join,
    sweep_partials,
    temp_path,
    touch,
    tree_bytes,
)
from inference.stores.s3_reader import S3Reader

MIB = 1024 * 1024
MAX_HEADROOM = 64 * MIB  # ephemeral storage kept free for everything else that uses /tmp
READ_CHUNK = 1 * MIB  # bytes read from a response body per write
_MISSING_CODES = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


@dataclass(frozen=True)
class TransferSettings:
    """How files are fetched: ranged GETs of ``part_size`` above ``threshold``, ``concurrency`` at once."""

    threshold: int = 8 * MIB
    part_size: int = 8 * MIB
    concurrency: int = 10  # Lambda's network does best with several streams; the client pools 10


def s3_client(settings: TransferSettings | None = None) -> Any:
    """The S3 reader where the environment holds credentials and a region (Lambda's does; see
    ``s3_reader`` for why it is not botocore), else a botocore client the environment configures
    (AWS_ENDPOINT_URL reaches moto locally). Both answer ``get_object`` alike."""
    reader = S3Reader.from_environment()
    return reader if reader is not None else botocore_s3_client(settings)


def botocore_s3_client(settings: TransferSettings | None = None) -> Any:
    """A botocore S3 client the environment configures, sized for the download's concurrency."""
    import botocore.session
    from botocore.config import Config

    concurrency = (settings or TransferSettings()).concurrency
    return botocore.session.get_session().create_client(
        "s3",
        config=Config(
            max_pool_connections=concurrency,
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=30,
        ),
    )


def _error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _download_failure(file: FileDigest, exc: BaseException) -> str:
    if _error_code(exc) in _MISSING_CODES:
        return f"file {file.name} is missing from the store"
    return f"file {file.name} could not be downloaded ({type(exc).__name__})"


def download_model(
    client: Any,
    bucket: str,
    prefix: str,
    model: ManifestModel,
    folder: Path,
    settings: TransferSettings | None = None,
) -> int:
    """Make ``folder`` a complete, verified copy of ``model``; returns the bytes downloaded.

    Files already there under their final name were verified before being renamed; they are
    hashed again (they may predate a crash) and kept when they match. Raises ModelUnavailableError,
    after removing every temporary file, when a file is missing or fails its checksum.
    """
    folder.mkdir(parents=True, exist_ok=True)
    todo: list[FileDigest] = []
    for file in model.files:
        final = safe_join(folder, file.name, model)
        if final.exists() and file_problem(final, file) is None:
            continue
        remove_quietly(final)
        todo.append(file)
    if todo:
        _transfer(client, bucket, prefix, model, folder, todo, settings or TransferSettings())
    mark_complete(folder, model)
    return sum(f.size for f in todo)


def _byte_ranges(size: int, settings: TransferSettings) -> list[tuple[int, int] | None]:
    """The (first, last) byte of each part; ``[None]`` (one plain GET) at or below the threshold."""
    if size <= settings.threshold:
        return [None]
    step = settings.part_size
    return [(start, min(start + step, size) - 1) for start in range(0, size, step)]


def _fetch_part(client: Any, bucket: str, key: str, fd: int, span: tuple[int, int] | None) -> None:
    """GET the whole object or one byte range of it and write it at its offset in ``fd``."""
    ranged = {} if span is None else {"Range": f"bytes={span[0]}-{span[1]}"}
    body = client.get_object(Bucket=bucket, Key=key, **ranged)["Body"]
    offset = 0 if span is None else span[0]
    with body:
        while chunk := body.read(READ_CHUNK):
            os.pwrite(fd, chunk, offset)
            offset += len(chunk)
    if span is not None and offset != span[1] + 1:
        raise OSError(f"bytes {span[0]}-{span[1]} of {key}: the body ended at byte {offset}")


def _transfer(
    client: Any,
    bucket: str,
    prefix: str,
    model: ManifestModel,
    folder: Path,
    files: list[FileDigest],
    settings: TransferSettings,
) -> None:
    temps = {f.name: temp_path(safe_join(folder, f.name, model)) for f in files}
    descriptors: dict[str, int] = {}
    try:
        for file in files:
            temps[file.name].parent.mkdir(parents=True, exist_ok=True)
            descriptors[file.name] = os.open(temps[file.name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        with ThreadPoolExecutor(settings.concurrency, thread_name_prefix="s3-download") as pool:
            parts: list[tuple[FileDigest, Future[None]]] = []
            for file in files:  # all at once: the pool runs every file's parts concurrently
                key = object_key(prefix, f"{model.folder}/{file.name}")
                for span in _byte_ranges(file.size, settings):
                    parts.append(
                        (file, pool.submit(_fetch_part, client, bucket, key, descriptors[file.name], span))
                    )
            for file, part in parts:
                try:
                    part.result()
                except Exception as exc:
                    for _, other in parts:
                        other.cancel()
                    logger.warning(
                        "model file download failed",
                        extra={
                            "model_type": model.model_type,
                            "bucket": bucket,
                            "file": file.name,
                            "error": repr(exc),
                        },
                    )
                    raise ModelUnavailableError(model.model_type, _download_failure(file, exc)) from exc
        problems: list[str] = []
        for file in files:
            problem = file_problem(temps[file.name], file)
            if problem:
                problems.append(problem)
            else:
                temps[file.name].replace(safe_join(folder, file.name, model))
        if problems:
            logger.warning(
                "model files failed verification",
                extra={"model_type": model.model_type, "problems": problems},
            )
            raise ModelUnavailableError(model.model_type, "; ".join(problems))
    finally:
        for fd in descriptors.values():
            os.close(fd)
        for temp in temps.values():
            remove_quietly(temp)


@dataclass(frozen=True)
class CachedFolder:
    path: Path
    size: int
    last_used: float


class S3Store(ModelStore):
    """Models in ``s3://bucket/prefix/``, cached under ``cache_dir`` (MODEL_CACHE_DIR)."""

    name = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        cache_dir: Path = Path("/tmp/models"),
        ephemeral_storage_mb: int | None = None,
        client: Any = None,
        transfer: TransferSettings | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.cache_dir = Path(cache_dir)
        self.ephemeral_storage_mb = ephemeral_storage_mb
        self.transfer = transfer or TransferSettings()
        self._client = client
        self._client_lock = threading.Lock()
        self._lock = threading.RLock()
        self._in_memory: dict[Path, int] = {}  # folder -> how many loaded models use it
        self.peak_bytes = 0
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        swept = sweep_partials(self.cache_dir)
        if swept:
            logger.info("removed partial downloads", extra={"files": [str(p) for p in swept]})

    @property
    def client(self) -> Any:
        """The S3 client (``s3_client``), made on first use: at init that is the prefetch thread's
        manifest read, beside the engine runtime's import on the main thread."""
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = s3_client(self.transfer)
        return self._client

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def read_manifest(self) -> Manifest:
        key = object_key(self.prefix, MANIFEST_NAME)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return Manifest.from_json(body)
        except ContractError as exc:
            raise ManifestUnavailableError(f"s3://{self.bucket}/{key}: {exc}") from exc
        except Exception as exc:
            raise ManifestUnavailableError(f"s3://{self.bucket}/{key}: {type(exc).__name__}: {exc}") from exc

    def materialize(self, model: ManifestModel) -> Path:
        folder = self._folder(model)
        with self._lock:
            marker = folder / COMPLETE_MARKER
            if is_complete(folder, model):
                touch(marker)
                return folder
            needed = self._needed(model, folder)
            used = self._make_room(model, needed=needed, keep=folder)
            # The most /tmp will hold: what is there now plus what the download writes.
            self.peak_bytes = max(self.peak_bytes, used + needed)
            downloaded = download_model(self.client, self.bucket, self.prefix, model, folder, self.transfer)
            touch(marker)
            logger.info(
                "model files downloaded",
                extra={"model_type": model.model_type, "folder": model.folder, "bytes": downloaded},
            )
            return folder

    # --- ephemeral storage ---------------------------------------------------------------------

    def _folder(self, model: ManifestModel) -> Path:
        return safe_join(self.cache_dir, model.folder, model)

    def loaded(self, model: ManifestModel) -> None:
        with self._lock:
            folder = self._folder(model)
            self._in_memory[folder] = self._in_memory.get(folder, 0) + 1

    def unloaded(self, model: ManifestModel) -> None:
        """The model left memory: its folder may be evicted again, and it counts as used now.

        Hits in memory never touch the marker, so without the touch the folder of the model held
        longest (the most asked for) looked the oldest and went first once it left memory: in a
        50-model fleet run the most popular model was downloaded 5 times, once per eviction.
        """
        with self._lock:
            folder = self._folder(model)
            left = self._in_memory.get(folder, 0) - 1
            if left > 0:
                self._in_memory[folder] = left
            else:
                self._in_memory.pop(folder, None)
                touch(folder / COMPLETE_MARKER)

    def used_bytes(self) -> int:
        return sum(f.size for f in self.cached_folders())

    def disk_usage(self) -> DiskUsage:
        used = self.used_bytes()
        self.peak_bytes = max(self.peak_bytes, used)
        return DiskUsage(used_bytes=used, budget_bytes=self.cache_limit(used), peak_bytes=self.peak_bytes)

    def _needed(self, model: ManifestModel, folder: Path) -> int:
        present = sum(
            f.size for f in model.files if file_problem(folder / f.name, f, check_sha256=False) is None
        )
        return model.size - present

    def shortfall(self, model: ManifestModel) -> int:
        """See ``ModelStore.shortfall``; 0 also when the model would not fit with every other
        folder gone (/tmp filled by other files): unloading the models in memory could not make
        room, only cost them a reload, and ``materialize`` refuses the model with the sizes."""
        with self._lock:
            folder = self._folder(model)
            if is_complete(folder, model):
                return 0
            folders = self.cached_folders()
            own = sum(f.size for f in folders if f.path == folder)
            held = sum(f.size for f in folders if f.path in self._in_memory and f.path != folder)
            needed, limit = self._needed(model, folder), self.cache_limit(sum(f.size for f in folders))
            if needed + own > limit:
                return 0
            return max(needed + own + held - limit, 0)

    def cache_limit(self, used: int | None = None) -> int:
        """Bytes the cache may occupy: EPHEMERAL_STORAGE_MB (less headroom) when set, and never
        more than the disk allows now. Other files in /tmp (the function's own, a library's) take
        room the setting does not know of: with /tmp filled by them, the limit from the setting
        alone let a download start and fail on ENOSPC halfway, with a message about the download
        instead of the room; now the model is refused before a byte is written.

        ``used``: the cache's bytes when the caller has just summed ``cached_folders()`` (the same
        walk of the cache folder; without it the limit walks the folder itself)."""
        usage = shutil.disk_usage(self.cache_dir)
        held = tree_bytes(self.cache_dir) if used is None else used
        allowed = held + usage.free - min(MAX_HEADROOM, usage.total // 10)
        if self.ephemeral_storage_mb:
            capacity = self.ephemeral_storage_mb * MIB
            return min(capacity - min(MAX_HEADROOM, capacity // 10), allowed)
        return allowed

    def cached_folders(self) -> list[CachedFolder]:
        """Model folders in the cache, least recently used first."""
        found: list[CachedFolder] = []
        for dirpath, _dirs, names in os.walk(self.cache_dir):
            if not names:
                continue
            path = Path(dirpath)
            files = [path / n for n in names]
            marker = path / COMPLETE_MARKER
            stamp_source = [marker] if marker.exists() else files
            try:
                last_used = max(p.stat().st_mtime for p in stamp_source)
                size = sum(p.stat().st_size for p in files)
            except OSError:
                continue
            found.append(CachedFolder(path, size, last_used))
        return sorted(found, key=lambda f: f.last_used)

    def _make_room(self, model: ManifestModel, needed: int, keep: Path) -> int:
        """Evict folders until ``needed`` more bytes fit; returns the bytes the cache holds then."""
        folders = self.cached_folders()
        used = sum(f.size for f in folders)
        limit = self.cache_limit(used)
        if used + needed <= limit:
            return used
        # A loaded model's files stay: their blocks are not free while it is mapped (see above).
        evictable = [f for f in folders if f.path != keep and f.path not in self._in_memory]
        floor = used - sum(f.size for f in evictable)
        if floor + needed > limit:  # would not fit even alone: refuse before evicting anything
            raise ModelUnavailableError(
                model.model_type,
                f"it needs {needed / MIB:.1f} MiB of ephemeral storage and at most "
                f"{max(limit - floor, 0) / MIB:.1f} MiB can be made free "
                "(raise the function's ephemeral storage, or lower its model memory budget)",
            )
        for candidate in evictable:
            remove_folder(candidate.path, stop_at=self.cache_dir)
            used -= candidate.size
            logger.info(
                "evicted model folder from ephemeral storage",
                extra={
                    "folder": str(candidate.path.relative_to(self.cache_dir)),
                    "bytes": candidate.size,
                    "for_model": model.model_type,
                },
            )
            if used + needed <= limit:
                return used
        return used
