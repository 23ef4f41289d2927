"""File-level helpers the stores and the EFS seeder share: temp names, checks, markers.

The invariants they implement:
* a file under its final name was verified (size and sha256) before it got that name;
* anything being written carries ``PART_TAG`` in its name, so a sweep can delete leftovers of a
  process that was killed mid-download;
* a folder holding ``COMPLETE_MARKER`` has every file of its manifest entry, verified. The
  marker records the digests, so a manifest that names other bytes is never satisfied by it;
* the marker also records each file's stamp (size, inode, mtime and ctime, in ns) as it was when
  its sha256 verified. A file whose stamp still matches was not written, replaced or truncated
  since (writing moves mtime, replacing changes the inode, and nothing but the clock sets ctime),
  so its hash need not be computed again: the quick check git's index and rsync make. A stamp no
  older than the marker itself is not trusted (on a file system with coarse timestamps, a write in
  the same tick would leave it unchanged).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from inference.contract import FileDigest, ManifestModel, sha256_of_file
from inference.errors import ModelUnavailableError

PART_TAG = ".part-"
COMPLETE_MARKER = ".complete"
#: How long ``mark_complete`` waits for the file system's clock to pass the files' stamps.
MARKER_PATIENCE_SECONDS = 2.0


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


class FileStamp(NamedTuple):
    """What ``stat`` says of a file: equal stamps mean the file was not written since."""

    size: int
    inode: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = path.stat()
        return cls(st.st_size, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def stamps_of(folder: Path, model: ManifestModel) -> dict[str, FileStamp] | None:
    """Each file's stamp now, or None when one cannot be read (missing: the size check says why)."""
    try:
        return {f.name: FileStamp.of(folder / f.name) for f in model.files}
    except OSError:
        return None


def _digests(model: ManifestModel) -> dict[str, Any]:
    files = [[f.name, f.size, f.sha256] for f in sorted(model.files, key=lambda f: f.name)]
    return {"folder": model.folder, "files": files}


def _read_marker(folder: Path, model: ManifestModel) -> tuple[dict[str, Any], int] | None:
    """The marker's content and mtime (ns), when it records exactly ``model``'s digests."""
    try:
        with open(folder / COMPLETE_MARKER, encoding="utf-8") as stream:
            written_ns = os.fstat(stream.fileno()).st_mtime_ns
            recorded = json.loads(stream.read())
    except (OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or {k: recorded.get(k) for k in ("folder", "files")} != _digests(model):
        return None
    return recorded, written_ns


def is_complete(folder: Path, model: ManifestModel) -> bool:
    """The folder was fully verified for exactly these digests, and still has every file."""
    return _read_marker(folder, model) is not None and sizes_match(folder, model)


def verified_unchanged(folder: Path, model: ManifestModel, stamps: dict[str, FileStamp]) -> bool:
    """The marker vouches for these files: it records ``model``'s digests, and ``stamps`` (the
    files' stamps now) equal the ones recorded when they verified, each older than the marker."""
    marker = _read_marker(folder, model)
    if marker is None:
        return False
    recorded, written_ns = marker
    known = recorded.get("stamps")
    if not isinstance(known, dict):  # a marker of an earlier version: digests only
        return False
    for name, stamp in stamps.items():
        if known.get(name) != list(stamp) or max(stamp.mtime_ns, stamp.ctime_ns) >= written_ns:
            return False
    return True


def mark_complete(folder: Path, model: ManifestModel) -> None:
    """Record that every file of ``model`` in ``folder`` verified just now (digests and stamps).

    Linux stamps files from a coarse clock (one tick is a few ms), so a marker written right after
    the last rename often carries that file's ctime and could not vouch for it: it is written again
    once its own mtime has passed every stamp (a tick or two, a few ms per model). On a file system
    whose clock does not pass them within ``MARKER_PATIENCE_SECONDS``, the marker keeps only the
    digests' promise and the files are hashed on use, as before stamps.
    """
    stamps = stamps_of(folder, model) or {}
    content = _digests(model) | {"stamps": {name: list(stamp) for name, stamp in stamps.items()}}
    text = json.dumps(content, sort_keys=True)
    newest = max((max(s.mtime_ns, s.ctime_ns) for s in stamps.values()), default=0)
    marker = folder / COMPLETE_MARKER
    deadline = time.monotonic() + MARKER_PATIENCE_SECONDS
    while True:
        atomic_write_text(marker, text)
        if marker.stat().st_mtime_ns > newest or time.monotonic() > deadline:
            return
        time.sleep(0.002)


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
