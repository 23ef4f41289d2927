"""A size cap on the local cloud's own logs (``.state/services/<name>.log``): copy, then truncate.

``processes.start`` gives each service its log file as stdout and stderr, opened for appending,
so the file cannot be renamed under it (the process would go on writing to the renamed one).
``CappedStderrHandler`` logs to stderr as ``logging.basicConfig`` did and, once the file passes
the cap, copies it to ``<name>.log.1`` (replacing the one before) and truncates it in place; the
next write of any writer lands at the new end, as appending writes do. The gateway logs two lines
per request and moto one per API call (the CloudWatch shipper's included): without the cap the
soak measured 0.57 MB/min of them at concurrency 8, for as long as the local cloud ran.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
from pathlib import Path

from harness.localcloud.runtime.envlog import rotated

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _file_behind(fd: int) -> Path | None:
    """The regular file a descriptor writes to (None for a terminal or a pipe)."""
    with contextlib.suppress(OSError):
        path = Path(f"/proc/self/fd/{fd}").readlink()
        if path.is_file():
            return path
    return None


class CappedStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stderr handler that keeps the file behind stderr under ``max_bytes`` (plus one backup)."""

    def __init__(self, max_bytes: int | None) -> None:
        super().__init__(sys.stderr)
        self.max_bytes = max_bytes
        self.path = _file_behind(sys.stderr.fileno()) if max_bytes else None

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)  # under the handler's lock, as is what follows
        if self.path is not None and self.max_bytes:
            with contextlib.suppress(OSError):
                self._cap(self.max_bytes)

    def _cap(self, max_bytes: int) -> None:
        fd = self.stream.fileno()
        if os.fstat(fd).st_size <= max_bytes:
            return
        assert self.path is not None
        self.flush()
        shutil.copyfile(self.path, rotated(self.path))
        os.ftruncate(fd, 0)


def configure(level: str, max_bytes: int | None, loggers: tuple[str, ...] = ("",)) -> None:
    """``loggers`` (the root by default) log through one capped stderr handler at ``level``."""
    handler = CappedStderrHandler(max_bytes)
    handler.setFormatter(logging.Formatter(FORMAT))
    for name in loggers:
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.addHandler(handler)
