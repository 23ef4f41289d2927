"""The store's manifest, re-read at most every MANIFEST_TTL_SECONDS.

This is how a warm environment picks up a new revision without a redeploy: publishing writes a
new manifest last, and within one TTL every environment sees it, and its models' new keys make
the memory cache load the new revision on next use. A failed re-read keeps serving the manifest
already known (the store may be briefly unreachable); only an environment that never read one
has nothing to serve.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from inference.contract import Manifest
from inference.observability import logger
from inference.stores.base import ManifestUnavailableError, ModelStore


class ManifestCache:
    """The current manifest of ``store``, refreshed lazily when older than ``ttl_seconds``."""

    def __init__(
        self, store: ModelStore, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._manifest: Manifest | None = None
        self._read_at = 0.0
        self._lock = threading.Lock()
        self.reads = 0

    @property
    def current(self) -> Manifest | None:
        """The manifest last read, without refreshing (None before the first successful read)."""
        return self._manifest

    def get(self) -> Manifest:
        """The manifest, re-read when stale; raises ManifestUnavailableError when none was ever read."""
        with self._lock:
            now = self.clock()
            if self._manifest is not None and now - self._read_at < self.ttl_seconds:
                return self._manifest
            try:
                fresh = self.store.read_manifest()
            except ManifestUnavailableError as exc:
                if self._manifest is None:
                    raise
                logger.warning("manifest re-read failed; serving the previous one", extra={"error": str(exc)})
                self._read_at = now
                return self._manifest
            self.reads += 1
            if self._manifest is not None and fresh != self._manifest:
                logger.info(
                    "manifest changed",
                    extra={"revisions": {mt: m.revision for mt, m in sorted(fresh.models.items())}},
                )
            self._manifest, self._read_at = fresh, now
            return fresh
