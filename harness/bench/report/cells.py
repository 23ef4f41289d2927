"""How the report writes a value: numbers, EM/F1 pairs, several values in one cell, tables.

A missing value (``None``) is always "-", never an error: a scenario that did not run leaves
its cells empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

from harness.bench.stats import median

PERCENTILES = ("p50", "p95", "p99")  # the latency columns, in order


class Scores(Protocol):
    """Anything with EM and F1 (an endpoint score, an in-process one, a published reference)."""

    exact_match: float
    f1: float


def fmt(value: Any, digits: int = 1, scale: float = 1.0, suffix: str = "") -> str:
    if value is None or isinstance(value, bool):
        return "-"
    try:
        return f"{float(value) * scale:.{digits}f}{suffix}"
    except (TypeError, ValueError):
        return str(value)


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def em_f1(score: Scores | None) -> str:
    if score is None:
        return "-"
    return f"{fmt(score.exact_match, 2)} / {fmt(score.f1, 2)}"


def joined(values: Iterable[str]) -> str:
    """Several values in one cell (one per variant); "-" when none was measured."""
    values = list(values)
    return " / ".join(values) if any(v != "-" for v in values) else "-"


def median_of(values: Iterable[float | None]) -> float | None:
    """The median of the measured values, None when there is none."""
    present = [v for v in values if v is not None]
    return median(present) if present else None


def or_dash(value: Any) -> Any:
    return "-" if value is None else value
