"""The failure backoff: exponential waits, a cap, per-revision keys, success forgets."""

from __future__ import annotations

from inference.backoff import FailureBackoff


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_wait_doubles_with_each_failure_up_to_the_cap() -> None:
    backoff = FailureBackoff(initial_seconds=5, max_seconds=30, clock=Clock())
    assert [backoff.wait_seconds(n) for n in range(1, 6)] == [5, 10, 20, 30, 30]


def test_a_failed_model_is_blocked_until_its_wait_ends_then_tried_again() -> None:
    clock = Clock()
    backoff = FailureBackoff(initial_seconds=5, max_seconds=300, clock=clock)
    first = backoff.record("m:v1", "file model.safetensors fails its sha256 checksum")
    assert first.attempts == 1 and backoff.blocked("m:v1") == first
    assert first.retry_after(clock.now) == 5
    clock.now += 4.9
    assert backoff.blocked("m:v1") is not None
    clock.now += 0.2
    assert backoff.blocked("m:v1") is None  # may be tried now
    assert backoff.last("m:v1") == first  # still reported until it succeeds
    second = backoff.record("m:v1", "still broken")
    assert second.attempts == 2 and second.retry_after(clock.now) == 10
    assert backoff.blocked("other:v1") is None and backoff.blocked("m:v2") is None  # per revision


def test_a_success_forgets_the_failures() -> None:
    clock = Clock()
    backoff = FailureBackoff(initial_seconds=1, max_seconds=8, clock=clock)
    for _ in range(3):
        backoff.record("m:v1", "broken")
    backoff.succeeded("m:v1")
    assert backoff.last("m:v1") is None and backoff.blocked("m:v1") is None
    assert backoff.record("m:v1", "broken again").attempts == 1  # the wait starts over
