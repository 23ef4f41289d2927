"""The ideal LRU hit rate of a request sequence, computed offline.

The fleet scenario compares the function's measured hit rate with what a perfect LRU of the same
capacity gets on the same sequence. ``simulate_lru`` follows the function's cache policy
(``inference.cache.ModelCache``): room is made before a load by evicting the least recently used
entries, an entry costs its estimated bytes (or 1, for a capacity counted in models), and an item
that alone exceeds the capacity is never cached. The function's eager models start loaded.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class LruOutcome:
    """Hits, misses and evictions of one replay; ``hit_rate`` is hits / requests (0 for none)."""

    requests: int
    hits: int
    misses: int
    evictions: int
    capacity: int
    peak_used: int

    @property
    def hit_rate(self) -> float:
        return self.hits / self.requests if self.requests else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "hit_rate": self.hit_rate}


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
    if capacity < 1:
        raise ValueError("the LRU capacity must be at least 1")

    def cost(item: str) -> int:
        return 1 if costs is None else int(costs[item])

    cache: OrderedDict[str, int] = OrderedDict()
    used = peak = evictions = hits = 0

    def admit(item: str) -> None:
        nonlocal used, peak, evictions
        size = cost(item)
        if size > capacity:
            return
        while cache and used + size > capacity:
            _, freed = cache.popitem(last=False)
            used -= freed
            evictions += 1
        cache[item] = size
        used += size
        peak = max(peak, used)

    for item in initial:
        if item not in cache:
            admit(item)
    evictions = 0  # the init's own evictions are not the traffic's
    for item in sequence:
        if item in cache:
            cache.move_to_end(item)
            hits += 1
        else:
            admit(item)
    return LruOutcome(len(sequence), hits, len(sequence) - hits, evictions, capacity, peak)
