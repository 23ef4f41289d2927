"""Percentiles (nearest-rank and linear), medians, summaries and ratios."""

from __future__ import annotations

import random

import pytest

from harness.bench import stats


def test_nearest_rank_percentiles_are_observed_values() -> None:
    values = list(range(1, 101))
    random.Random(6).shuffle(values)
    assert stats.percentile(values, 50) == 50
    assert stats.percentile(values, 95) == 95
    assert stats.percentile(values, 99) == 99
    assert stats.percentile(values, 100) == 100
    assert stats.percentile(values, 0) == 1
    assert stats.percentile(values, 0.5) == 1


def test_nearest_rank_on_200_requests() -> None:
    values = [float(v) for v in range(1, 201)]
    assert stats.percentile(values, 99) == 198.0  # rank ceil(0.99 * 200) = 198
    assert stats.percentile(values, 95) == 190.0
    assert stats.percentile(values, 50) == 100.0


def test_nearest_rank_on_small_samples() -> None:
    assert stats.percentile([15, 20, 35, 40, 50], 30) == 20  # the textbook example
    assert stats.percentile([15, 20, 35, 40, 50], 40) == 20
    assert stats.percentile([15, 20, 35, 40, 50], 50) == 35
    assert stats.percentile([7.0], 99) == 7.0


def test_linear_percentiles_interpolate() -> None:
    assert stats.percentile([1, 2, 3, 4], 50, method=stats.LINEAR) == pytest.approx(2.5)
    assert stats.percentile([10, 20], 95, method=stats.LINEAR) == pytest.approx(19.5)
    assert stats.percentile([5], 50, method=stats.LINEAR) == 5


def test_percentile_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1], 101)
    with pytest.raises(ValueError):
        stats.percentile([1], 50, method="cubic")


def test_median() -> None:
    assert stats.median([3, 1, 2]) == 2
    assert stats.median([4, 1, 3, 2]) == 2.5


def test_summarize() -> None:
    summary = stats.summarize([4.0, 1.0, 3.0, 2.0])
    assert summary == {
        "n": 4,
        "min": 1.0,
        "median": 2.5,
        "p50": 2.0,
        "p95": 4.0,
        "p99": 4.0,
        "max": 4.0,
        "mean": 2.5,
    }
    assert stats.summarize([]) == {"n": 0}


def test_ratio_difference_throughput() -> None:
    assert stats.ratio(10, 4) == 2.5
    assert stats.ratio(1, 0) is None
    assert stats.ratio(None, 2) is None
    assert stats.difference(5.0, 2.0) == 3.0
    assert stats.difference(None, 2.0) is None
    assert stats.throughput(50, 2.0) == 25.0
    assert stats.throughput(5, 0.0) is None
