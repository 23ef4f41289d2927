"""Lay a resolved catalog out as a store: ``models/<source>/<revision>/<file>`` + ``manifest.json``.

A torch model's folder holds the source's own files; an ONNX model's folder
(``models/<source>/<revision>-<engine>-<settings digest>/``) holds its export (``harness.models.export``,
made once per setting and cached), and the manifest records the engine and the export settings.

The bundle (``.state/models/<catalog>/`` by default) is the one on-disk form of a published
catalog: the OCI image build copies it to ``/opt/models``, S3 publishing uploads it, and EFS
seeding copies the uploaded objects. Building it is:

* cheap: files are hard-linked from the HuggingFace cache (same file system) instead of copied,
  and sha256 digests are cached by (path, size, mtime, inode) in ``<bundle>.digests.json`` beside
  the bundle, so re-bundling an unchanged catalog reads no model bytes;
* atomic: a model folder is assembled under ``.staging/`` and renamed into place, and the manifest
  is replaced last, so a reader never sees a manifest naming files that are not there yet;
* idempotent: an unchanged catalog gives a byte-identical manifest and writes nothing at all
  (no mtime changes, so the image's content hash and Terraform triggers stay put).

Folders of revisions the catalog no longer names are pruned after the new manifest is in place;
folders are immutable per revision, which is what lets a new revision be published beside the
old one while warm functions still read the old manifest (see ``harness.models``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from inference.contract import (
    DEFAULT_ENGINE,
    MANIFEST_NAME,
    Catalog,
    FileDigest,
    Manifest,
    ManifestModel,
    model_folder,
    sha256_of_file,
)

from harness.models.digests import DigestCache
from harness.models.export import export_model
from harness.models.resolve import ResolvedModel, resolve_catalog
from harness.paths import cache_dir
from harness.progress import say

STAGING_NAME = ".staging"
MIB = 1024 * 1024


def default_bundle_dir(catalog_name: str) -> Path:
    """Where a catalog's bundle lives: ``.state/models/<catalog>/`` (see docs/design.md)."""
    return cache_dir() / "models" / catalog_name


def digest_cache_path(dest: Path) -> Path:
    """Beside the bundle, not in it: the image and the bucket must not carry host paths."""
    return dest.parent / f"{dest.name}.digests.json"


def manifest_sha256(bundle_dir: Path) -> str:
    """sha256 of the bundle's manifest: changes exactly when any published byte changes.

    Terraform uses it as the trigger of EFS seeding, and it equals the sha256 metadata of the
    manifest object that ``publish_to_s3`` uploads.
    """
    return sha256_of_file(Path(bundle_dir) / MANIFEST_NAME)


def _link_or_copy(src: Path, dst: Path) -> bool:
    """Hard link when possible (no bytes written); copy across file systems or when refused.

    Returns whether it linked. A hard link shares the inode with the HuggingFace cache, so the
    bundle must be treated as read-only (the cache's own files are read-only too).
    """
    try:
        os.link(src, dst)
        return True
    except OSError:  # EXDEV (other file system), EPERM (protected_hardlinks), ...
        shutil.copy2(src, dst)
        return False


def _folder_is_current(target: Path, expected: dict[str, FileDigest], digests: DigestCache) -> bool:
    if not target.is_dir():
        return False
    if {p.name for p in target.iterdir()} != set(expected):
        return False
    for name, want in expected.items():
        path = target / name
        if not path.is_file() or path.stat().st_size != want.size or digests.sha256(path) != want.sha256:
            return False
    return True


def _place_folder(
    sources: tuple[Path, ...],
    target: Path,
    expected: dict[str, FileDigest],
    digests: DigestCache,
    staging_root: Path,
) -> str:
    """Make ``target`` hold exactly the model's files, atomically. Returns what it did."""
    if _folder_is_current(target, expected, digests):
        return "unchanged"
    staging_root.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix="folder-", dir=staging_root))
    staged.chmod(0o755)  # mkdtemp makes 0700; the image's non-root user must read the folder
    linked = 0
    for src in sources:
        linked += _link_or_copy(src, staged / src.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # a damaged or foreign folder: swap it out, then delete it
        old = Path(tempfile.mkdtemp(prefix="old-", dir=staging_root))
        target.rename(old / "folder")
        staged.rename(target)
        shutil.rmtree(old)
    else:
        staged.rename(target)
    for name, want in expected.items():
        digests.remember(target / name, want.sha256)  # same bytes as the hashed source
    copied = len(expected) - linked
    return f"linked {linked}, copied {copied} files" if copied else f"linked {linked} files"


@dataclass(frozen=True)
class EngineFiles:
    """What a model's folder holds for its engine: the files, the folder suffix, the export settings."""

    files: tuple[Path, ...]
    variant: str = ""
    export: dict[str, Any] | None = None


def engine_files(model: ResolvedModel, progress: Callable[[str], None]) -> EngineFiles:
    """torch serves the source's files; an ONNX engine serves their export (cached)."""
    if model.engine == DEFAULT_ENGINE:
        return EngineFiles(model.files)
    exported = export_model(model, model.engine, progress)
    return EngineFiles(exported.files, exported.variant, exported.settings.as_manifest())


def write_atomically(path: Path, write: Callable[[BinaryIO], None]) -> None:
    """Replace ``path`` with what ``write`` writes, all or nothing (temp file, fsync, rename)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).chmod(0o644)
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> bool:
    """Atomically replace ``path`` with ``text`` unless it already holds exactly that."""
    data = text.encode()
    if path.is_file() and path.read_bytes() == data:
        return False
    write_atomically(path, lambda out: out.write(data))
    return True


def _prune(dest: Path, keep: set[str], progress: Callable[[str], None]) -> None:
    """Remove revision folders no model of the manifest names (after the manifest moved on)."""
    models_dir = dest / "models"
    if not models_dir.is_dir():
        return
    for source_dir in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        for revision_dir in sorted(p for p in source_dir.iterdir() if p.is_dir()):
            folder = revision_dir.relative_to(dest).as_posix()
            if folder not in keep:
                shutil.rmtree(revision_dir)
                progress(f"    pruned {folder}")
        if not any(source_dir.iterdir()):
            source_dir.rmdir()


def build_bundle(
    catalog: Catalog,
    dest: Path,
    *,
    prune: bool = True,
    progress: Callable[[str], None] = say,
) -> Manifest:
    """Resolve, lay out and digest ``catalog`` under ``dest``; write ``dest/manifest.json`` last.

    Raises ``ModelSourceError`` before touching ``dest`` when any model cannot be resolved.
    Not safe to run twice at once on the same ``dest`` (the harness runs one publish at a time).
    """
    started = time.monotonic()
    dest = Path(dest)
    digests = DigestCache(digest_cache_path(dest))
    resolved = resolve_catalog(catalog, digests)  # fail early, before any write
    dest.mkdir(parents=True, exist_ok=True)
    staging_root = dest / STAGING_NAME
    shutil.rmtree(staging_root, ignore_errors=True)  # leftovers of an interrupted run
    models: dict[str, ManifestModel] = {}
    try:
        for model in resolved:
            chosen = engine_files(model, progress)
            folder = model_folder(model.source, model.revision, chosen.variant)
            files = tuple(FileDigest(p.name, p.stat().st_size, digests.sha256(p)) for p in chosen.files)
            action = _place_folder(
                chosen.files, dest / folder, {f.name: f for f in files}, digests, staging_root
            )
            size = sum(f.size for f in files)
            progress(
                f"    {model.model_type}: {model.requested} ({model.engine}) -> {folder} "
                f"({action}, {size / MIB:.1f} MiB)"
            )
            models[model.model_type] = ManifestModel(
                model_type=model.model_type,
                source=model.source,
                revision=model.revision,
                folder=folder,
                files=files,
                eager=model.eager,
                engine=model.engine,
                export=chosen.export,
            )
        manifest = Manifest(models=models, catalog=catalog.name)
        written = write_if_changed(dest / MANIFEST_NAME, manifest.to_json())
        if prune:
            _prune(dest, {m.folder for m in models.values()}, progress)
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
        digests.forget_missing()
        digests.save()
    progress(
        f"    manifest {'written' if written else 'unchanged'}: {dest / MANIFEST_NAME} "
        f"(hashed {digests.hashed_bytes / MIB:.1f} MiB in {time.monotonic() - started:.2f}s)"
    )
    return manifest
