"""File-level helpers the stores and the EFS seeder share: temp names, checks, markers.

The invariants they implement:
* a file under its final name was verified (size and sha256) before it got that name;
* anything being written carries ``PART_TAG`` in its name, so a sweep can delete leftovers of a
  process that was killed mid-download;
* a folder holding ``COMPLETE_MARKER`` has every file of its manifest entry, verified. The
  marker records the digests, so a manifest that names other bytes is never satisfied by it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import uuid
from pathlib import Path

from inference.contract import FileDigest, ManifestModel, sha256_of_file
from inference.errors import ModelUnavailableError

PART_TAG = ".part-"
COMPLETE_MARKER = ".complete"


def temp_path(final: Path) -> Path:
    """A unique sibling of ``final`` for writing it (same folder: the rename stays atomic)."""
    return final.with_name(f"{final.name}{PART_TAG}{uuid.uuid4().hex[:12]}")


def safe_join(base: Path, relative: str, model: ManifestModel) -> Path:
    """``base/relative`` for a manifest-supplied path, refusing one that would leave ``base``."""
    parts = Path(relative).parts
    if not relative or Path(relative).is_absolute() or ".." in parts:
        raise ModelUnavailableError(model.model_type, f"the manifest names an invalid path {relative!r}")
    return base.joinpath(*parts)


def sweep_partials(root: Path) -> list[Path]:
    """Delete every partial file under ``root`` (left by a killed download); returns them."""
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if PART_TAG in name:
                path = Path(dirpath) / name
                remove_quietly(path)
                removed.append(path)
    return removed


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def file_problem(path: Path, want: FileDigest, check_sha256: bool = True) -> str | None:
    """Why ``path`` is not the file the manifest names, or None when it is."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return f"file {want.name} is missing"
    except OSError as exc:
        return f"file {want.name} cannot be read ({exc.strerror})"
    if size != want.size:
        return f"file {want.name} is incomplete or altered: {size} bytes instead of {want.size}"
    if check_sha256:
        try:
            digest = sha256_of_file(path)
        except OSError as exc:
            return f"file {want.name} cannot be read ({exc.strerror})"
        if digest != want.sha256:
            return f"file {want.name} fails its sha256 checksum"
    return None


def sizes_match(folder: Path, model: ManifestModel) -> bool:
    """Every file present with its manifest size (the cheap check of an already verified folder)."""
    return all(file_problem(folder / f.name, f, check_sha256=False) is None for f in model.files)


def _marker_text(model: ManifestModel) -> str:
    files = [[f.name, f.size, f.sha256] for f in sorted(model.files, key=lambda f: f.name)]
    return json.dumps({"folder": model.folder, "files": files}, sort_keys=True)


def is_complete(folder: Path, model: ManifestModel) -> bool:
    """The folder was fully verified for exactly these digests, and still has every file."""
    try:
        recorded = (folder / COMPLETE_MARKER).read_text()
    except OSError:
        return False
    return recorded == _marker_text(model) and sizes_match(folder, model)


def mark_complete(folder: Path, model: ManifestModel) -> None:
    atomic_write_text(folder / COMPLETE_MARKER, _marker_text(model))


def touch(path: Path) -> None:
    """Record a use (the marker's mtime orders folders for least-recently-used eviction)."""
    with contextlib.suppress(OSError):
        os.utime(path)


def atomic_write_text(path: Path, text: str) -> None:
    """Write a whole file or nothing: temp name in the same folder, fsync, rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        with open(temp, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(path)
    except BaseException:
        remove_quietly(temp)
        raise


def tree_bytes(root: Path) -> int:
    total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            try:
                total += (Path(dirpath) / name).stat().st_size
            except OSError:
                continue
    return total


def remove_folder(folder: Path, stop_at: Path) -> None:
    """Delete a model folder, marker first (so a crash never leaves a 'complete' half folder),
    then prune the parents it leaves empty, up to ``stop_at``."""
    remove_quietly(folder / COMPLETE_MARKER)
    shutil.rmtree(folder, ignore_errors=True)
    parent = folder.parent
    while parent != stop_at and stop_at in parent.parents:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent
