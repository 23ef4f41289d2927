"""One environment's log stream: ``.state/logs/<function>/<env-id>.log``, written as output arrives.

The file is the live tail while the environment runs and stays as the saved stream when it ends,
like a CloudWatch log stream. Two writers share it (the container's output pump and the runtime's
own cold/warm lines), so writes are serialised.

The file is capped: once a write would take it past ``max_bytes`` it becomes ``<env-id>.log.1``
(replacing the one before) and a new ``<env-id>.log`` starts, so an environment's files never
hold more than twice the cap (plus one write: a chunk is never split). Uncapped, a warm
environment's stream grew for as long as it lived: ~1.5 KB per request (the function's two JSON
lines, START/END/REPORT, the RIE's debug lines), 2.0 MB/min over 8 environments in a soak at
concurrency 8. The whole stream is in the local CloudWatch Logs (``make logs``); the files are
the recent tail.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

ROTATED_SUFFIX = ".1"  # <env-id>.log.1: the part before the last rotation


def rotated(path: Path) -> Path:
    """Where ``path``'s previous part goes when it is rotated."""
    return path.with_name(path.name + ROTATED_SUFFIX)


def stream_files(path: Path) -> list[Path]:
    """The files of one stream that exist, oldest part first."""
    return [p for p in (rotated(path), path) if p.exists()]


class EnvLog:
    def __init__(self, path: Path, max_bytes: int | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._file = path.open("ab", buffering=0)
        self._size = self._file.tell()

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if self._file.closed:
                return
            if self.max_bytes and self._size and self._size + len(chunk) > self.max_bytes:
                self._rotate()
            self._file.write(chunk)
            self._size += len(chunk)

    def _rotate(self) -> None:
        """The live file becomes the backup (an older backup goes), a new live file starts."""
        self._file.close()
        self.path.replace(rotated(self.path))
        self._file = self.path.open("ab", buffering=0)
        self._size = 0

    def note(self, message: str) -> None:
        """A line of the local cloud's own (cold/warm, timeouts, end), marked as such."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.write(f"[localcloud] {stamp} {message}\n".encode())

    def tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def close(self) -> None:
        with self._lock:
            self._file.close()
