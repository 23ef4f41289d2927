"""The soak's traffic: ``concurrency`` clients, each asking without pause until the time is up.

Each client has its own keep-alive session (``ApiClient``, as the benchmark's concurrency
scenario) and takes the catalog's models in turn, starting at a different one, so every model is
asked at every moment. Outcomes are kept (a 10-minute soak is ~15,000 small tuples) and counted
as they come, for the sampler to stamp on each sample.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from harness.bench.client import ApiClient

ERROR_TEXT = 100  # characters of an error kept to group errors by kind


@dataclass(frozen=True)
class Outcome:
    t_s: float  # when the answer came, seconds since the load started
    model_type: str
    status: int
    latency_ms: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error


class Load:
    """Runs the clients for ``seconds``; ``progress()`` is (answered, errors) at any moment."""

    def __init__(
        self,
        client: Callable[[], ApiClient],
        model_types: Sequence[str],
        question: str,
        context: str,
        concurrency: int,
    ) -> None:
        if concurrency < 1 or not model_types:
            raise ValueError("a soak needs at least one client and one model")
        self.client = client
        self.model_types = list(model_types)
        self.question = question
        self.context = context
        self.concurrency = concurrency
        self.outcomes: list[Outcome] = []
        self._errors = 0
        self._lock = threading.Lock()

    def progress(self) -> tuple[int, int]:
        with self._lock:
            return len(self.outcomes), self._errors

    def _record(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)
            self._errors += not outcome.ok

    def _work(self, index: int, started: float, until: float) -> None:
        turn = index
        with self.client() as client:
            while time.monotonic() < until:
                model_type = self.model_types[turn % len(self.model_types)]
                turn += 1
                result = client.ask(model_type, self.question, self.context)
                self._record(
                    Outcome(
                        t_s=time.monotonic() - started,
                        model_type=model_type,
                        status=result.status,
                        latency_ms=result.latency_ms,
                        error=result.error[:ERROR_TEXT],
                    )
                )

    def run(self, started: float, seconds: float) -> list[Outcome]:
        """Send from ``started`` (a ``time.monotonic()``) for ``seconds``; a request under way at the
        end is waited for (its answer counts)."""
        until = started + seconds
        threads = [
            threading.Thread(target=self._work, args=(i, started, until), name=f"soak-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return self.outcomes
