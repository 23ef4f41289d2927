"""Zipf traffic over a fleet of models: the request sequence of the benchmark's "fleet" scenario.

Model k (1-based rank) is asked with probability proportional to 1 / k**s. The sequence comes from
a seeded ``random.Random``, so the same (models, count, s, seed) gives the same sequence on every
machine and Python version: the offline LRU simulation replays exactly what was sent.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

ZIPF_EXPONENT = 1.1  # the s: a few popular models, a long tail
DEFAULT_SEED = 11


def zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    """Normalised probabilities of ranks 1..count (rank 1 first)."""
    if count < 1:
        raise ValueError("a Zipf distribution needs at least one item")
    if exponent < 0:
        raise ValueError(f"the Zipf exponent must be >= 0 (got {exponent})")
    raw = [1.0 / rank**exponent for rank in range(1, count + 1)]
    total = sum(raw)
    return [w / total for w in raw]


def zipf_sequence(
    items: Sequence[str], count: int, exponent: float = ZIPF_EXPONENT, seed: int = DEFAULT_SEED
) -> list[str]:
    """``count`` draws from ``items`` (the first is the most popular), reproducible from ``seed``."""
    if count < 0:
        raise ValueError("the request count must be >= 0")
    weights = zipf_weights(len(items), exponent)
    return random.Random(seed).choices(list(items), weights=weights, k=count)
