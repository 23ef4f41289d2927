"""Summary statistics for timings: medians, percentiles and ratios.

Percentiles use the nearest-rank method by default: the p-th percentile of n sorted values is the
value at rank ceil(p/100 * n) (1-based), so it is always a timing that was really observed, and
p99 of 200 requests is the 198th value. ``method="linear"`` interpolates between the two closest
ranks instead (numpy's default, type 7), for comparison with other tools.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

NEAREST_RANK = "nearest-rank"
LINEAR = "linear"


def _sorted(values: Iterable[float]) -> list[float]:
    data = sorted(float(v) for v in values)
    if not data:
        raise ValueError("no values")
    return data


def percentile(values: Iterable[float], p: float, method: str = NEAREST_RANK) -> float:
    """The ``p``-th percentile (0 <= p <= 100) of ``values``."""
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} is outside 0..100")
    data = _sorted(values)
    if method == NEAREST_RANK:
        rank = max(1, math.ceil(p / 100 * len(data)))
        return data[rank - 1]
    if method == LINEAR:
        position = p / 100 * (len(data) - 1)
        low = math.floor(position)
        high = min(low + 1, len(data) - 1)
        return data[low] + (data[high] - data[low]) * (position - low)
    raise ValueError(f"unknown percentile method {method!r}")


def median(values: Iterable[float]) -> float:
    """The middle value (the mean of the two middle ones for an even count)."""
    data = _sorted(values)
    middle = len(data) // 2
    if len(data) % 2:
        return data[middle]
    return (data[middle - 1] + data[middle]) / 2


def summarize(values: Sequence[float], method: str = NEAREST_RANK) -> dict[str, float | int]:
    """n, min, median, p50/p95/p99, max and mean of a series (empty series -> {"n": 0})."""
    if not values:
        return {"n": 0}
    data = _sorted(values)
    return {
        "n": len(data),
        "min": data[0],
        "median": median(data),
        "p50": percentile(data, 50, method),
        "p95": percentile(data, 95, method),
        "p99": percentile(data, 99, method),
        "max": data[-1],
        "mean": sum(data) / len(data),
    }


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """numerator / denominator, or None when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def difference(a: float | None, b: float | None) -> float | None:
    if a is None or b is None:
        return None
    return a - b


def throughput(count: int, seconds: float) -> float | None:
    """Items per second, None for an empty interval."""
    return ratio(float(count), seconds)
