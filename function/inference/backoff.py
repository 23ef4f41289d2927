"""Models that failed to load, and when each may be tried again (exponential backoff).

A model whose files are corrupt or missing fails the same way on every attempt; re-fetching it
on every request would spend the store's reads (an S3 download of hundreds of MB, an EFS sha256
pass) and the request's time on a known failure, and delay the requests for healthy models
behind it. So a failure is remembered per published revision (``ManifestModel.key``): until its
retry time, requests for it answer 503 at once with the remembered reason. The wait doubles with
each consecutive failure (``initial_seconds``, 2x, 4x, ... up to ``max_seconds``) and a success
forgets it. A newly published revision has a new key, so it is tried at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_INITIAL_SECONDS = 5.0
DEFAULT_MAX_SECONDS = 300.0


@dataclass(frozen=True)
class Failure:
    """The last failure of one model revision: why, how many in a row, and when to retry."""

    error: str
    attempts: int
    retry_at: float  # on the backoff's clock

    def retry_after(self, now: float) -> float:
        return max(self.retry_at - now, 0.0)


class FailureBackoff:
    """Failures by key, each with an exponentially growing wait before the next attempt."""

    def __init__(
        self,
        initial_seconds: float = DEFAULT_INITIAL_SECONDS,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.initial_seconds = initial_seconds
        self.max_seconds = max(max_seconds, initial_seconds)
        self.clock = clock
        self._failures: dict[str, Failure] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, attempts: int) -> float:
        """The wait after ``attempts`` consecutive failures: initial, 2x, 4x, ... capped."""
        return min(self.initial_seconds * 2.0 ** (attempts - 1), self.max_seconds)

    def record(self, key: str, error: str) -> Failure:
        with self._lock:
            attempts = self._failures[key].attempts + 1 if key in self._failures else 1
            failure = Failure(error, attempts, self.clock() + self.wait_seconds(attempts))
            self._failures[key] = failure
            return failure

    def blocked(self, key: str) -> Failure | None:
        """The failure that still blocks ``key`` now, or None when it may be tried."""
        with self._lock:
            failure = self._failures.get(key)
            if failure is None or failure.retry_at <= self.clock():
                return None
            return failure

    def last(self, key: str) -> Failure | None:
        """The last failure of ``key`` whether or not its wait is over (for ``GET /models``)."""
        return self._failures.get(key)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
