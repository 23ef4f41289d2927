"""The hit rate of a request sequence through a model cache, computed offline.

The fleet scenario compares the function's measured hit rate with two replays of the same
sequence at the same capacity: a perfect LRU (``simulate_lru``, the yardstick the issue names and
SageMaker multi-model endpoints use), and the function's own policy (``simulate_function_cache``:
least asked for first, through ``inference.cache.Popularity`` itself), which the measured rate
should match. Both follow ``inference.cache.ModelCache`` otherwise: room is made before a load,
an entry costs its estimated bytes (or 1, for a capacity counted in models), an item that alone
exceeds the capacity is never cached, and the function's eager models start loaded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from inference.cache import Popularity

from harness.bench.jsonrecord import Record


@dataclass(frozen=True)
class LruOutcome(Record):
    """Hits, misses and evictions of one replay; ``hit_rate`` is hits / requests (0 for none).

    A record, as the fleet phase writes it to results.json (``hit_rate`` stored beside the
    counts it comes from, so a reader needs no arithmetic)."""

    requests: int = 0
    hits: int = 0
    misses: int = 0
    evictions: int = 0
    capacity: int = 0
    peak_used: int = 0
    hit_rate: float = 0.0


def simulate_lru(
    sequence: Sequence[str],
    capacity: int,
    costs: Mapping[str, int] | None = None,
    initial: Iterable[str] = (),
) -> LruOutcome:
    """Replay ``sequence`` through an LRU holding at most ``capacity`` (bytes with ``costs``, else items).

    ``initial``: items loaded before the first request (the eager models), oldest first; those
    that do not fit are skipped, as the function's init would evict or refuse them.
    """
    return _replay(sequence, capacity, costs, initial, count_requests=False)


def simulate_function_cache(
    sequence: Sequence[str],
    capacity: int,
    costs: Mapping[str, int] | None = None,
    initial: Iterable[str] = (),
) -> LruOutcome:
    """``simulate_lru`` with the function's eviction order: every request counted in a fresh
    ``Popularity``, the least asked-for entry evicted first (the least recent among equals)."""
    return _replay(sequence, capacity, costs, initial, count_requests=True)


def _replay(
    sequence: Sequence[str],
    capacity: int,
    costs: Mapping[str, int] | None,
    initial: Iterable[str],
    count_requests: bool,
) -> LruOutcome:
    """The replay; a ``Popularity`` that counts no request evicts in plain LRU order, as the
    function's cache does before its first request."""
    if capacity < 1:
        raise ValueError("the LRU capacity must be at least 1")

    def cost(item: str) -> int:
        return 1 if costs is None else int(costs[item])

    popularity = Popularity()
    cache: OrderedDict[str, int] = OrderedDict()  # least recently used first
    used = peak = evictions = hits = 0

    def admit(item: str) -> None:
        nonlocal used, peak, evictions
        size = cost(item)
        if size > capacity:
            return
        while cache and used + size > capacity:
            victim = popularity.victim((entry, entry) for entry in cache)
            assert victim is not None  # the cache is not empty
            used -= cache.pop(victim)
            evictions += 1
        cache[item] = size
        used += size
        peak = max(peak, used)

    for item in initial:
        if item not in cache:
            admit(item)
    evictions = 0  # the init's own evictions are not the traffic's
    for item in sequence:
        if count_requests:
            popularity.note(item, len(cache))
        if item in cache:
            cache.move_to_end(item)
            hits += 1
        else:
            admit(item)
    requests = len(sequence)
    hit_rate = hits / requests if requests else 0.0
    return LruOutcome(requests, hits, requests - hits, evictions, capacity, peak, hit_rate)
