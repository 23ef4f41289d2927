"""One environment's log stream: ``.state/logs/<function>/<env-id>.log``, written as output arrives.

The file is the live tail while the environment runs and stays as the saved stream when it ends,
like a CloudWatch log stream. Two writers share it (the container's output pump and the runtime's
own cold/warm lines), so writes are serialised.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path


class EnvLog:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._file = path.open("ab", buffering=0)

    def write(self, chunk: bytes) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(chunk)

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
