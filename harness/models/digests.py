"""A persistent sha256 cache, so that re-bundling an unchanged catalog reads no model bytes.

Hashing the weights is the only slow part of bundling (hundreds of MB per model). A file whose
size, mtime and inode are unchanged since we last hashed it is taken to be unchanged: the same
trade-off ``make`` and ``rsync`` make. The inode guards against a file replaced by a copy that
kept the old mtime (``cp -p``); ctime is left out on purpose, because hard-linking a file into a
bundle bumps its ctime without changing a byte.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from inference.contract import sha256_of_file

_FORMAT = 1


def _stamp(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ino": st.st_ino}


class DigestCache:
    """sha256 of files by absolute path, valid while (size, mtime_ns, inode) are unchanged.

    ``path=None`` keeps the cache in memory only (used when nothing should be written).
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._entries: dict[str, dict[str, Any]] = {}
        self._dirty = False
        self.hashed_bytes = 0  # what this run really read: 0 on a warm re-run
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text())
                if raw.get("format") == _FORMAT and isinstance(raw.get("files"), dict):
                    self._entries = raw["files"]
            except (OSError, ValueError):
                self._entries = {}  # a damaged cache only costs a re-hash

    def sha256(self, path: Path) -> str:
        """The file's sha256, from the cache when its stamp still matches, else by reading it."""
        key = str(path.absolute())
        stamp = _stamp(path)
        entry = self._entries.get(key)
        if entry is not None and all(entry.get(k) == v for k, v in stamp.items()):
            return str(entry["sha256"])
        digest = sha256_of_file(path)
        self.hashed_bytes += stamp["size"]
        self._entries[key] = {**stamp, "sha256": digest}
        self._dirty = True
        return digest

    def remember(self, path: Path, sha256: str) -> None:
        """Record a digest known without reading (a file we just linked or copied from a hashed one)."""
        key = str(path.absolute())
        entry = {**_stamp(path), "sha256": sha256}
        if self._entries.get(key) != entry:
            self._entries[key] = entry
            self._dirty = True

    def forget_missing(self) -> None:
        """Drop entries of files that no longer exist, so the cache does not grow forever."""
        gone = [key for key in self._entries if not Path(key).exists()]
        for key in gone:
            del self._entries[key]
        self._dirty = self._dirty or bool(gone)

    def save(self) -> None:
        """Write the cache atomically, and only when it changed (a warm run writes nothing)."""
        if self.path is None or not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        body = json.dumps({"format": _FORMAT, "files": self._entries}, indent=1, sort_keys=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(body + "\n")
            Path(tmp).replace(self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._dirty = False
