"""The soak's arithmetic: which samples to compare, flatness, growth per minute, the targets.

Pure functions of numbers and records (no clock, no host), so each is unit-tested with hand-made
series. Memory is compared median against median, the first minute after a warm-up with the last
minute: a median of ~6 samples ignores one garbage collection or one request's peak, and the
warm-up leaves out the scale-out and the models' first loads, which are growth of the wrong kind.
Sizes are fitted with a least-squares line, whose slope is the growth per minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from harness.bench.records import Summary, TargetCheck
from harness.bench.soak.load import Outcome
from harness.bench.soak.records import Flatness, Growth, Sample, SoakRecord, Windows
from harness.bench.stats import median, throughput

WARMUP_S = 60.0
WINDOW_S = 60.0
# A short run (the development ones) scales both down: the warm-up to a fifth of the run, each
# window to half of what is left.
WARMUP_SHARE = 0.2
FLAT_LIMIT = 0.10  # memory may grow at most 10% between the windows
MAX_ERRORS = 0
# Files other than the environments' logs may grow at most this much per minute at concurrency 8
# (1 MB/min is 1.4 GB a day: a leak; the state's steady writes are kilobytes).
STATE_GROWTH_LIMIT_BYTES_PER_MIN = 1_000_000

Point = tuple[float, float]  # (seconds since the start, value)


def windows(duration_s: float, warmup_s: float = WARMUP_S, window_s: float = WINDOW_S) -> Windows:
    """The warm-up, then the first and the last window of a run of ``duration_s`` seconds.

    10 minutes: warm-up 60 s, first [60, 120), last [540, 600]. A run too short for that gives
    the warm-up a fifth of it and each window half of the rest (90 s: 18, [18, 54), [54, 90]).
    """
    if duration_s <= 0:
        raise ValueError("a soak lasts a positive number of seconds")
    warmup = min(warmup_s, duration_s * WARMUP_SHARE)
    window = min(window_s, (duration_s - warmup) / 2)
    return Windows(
        warmup_s=warmup,
        first=(warmup, warmup + window),
        last=(duration_s - window, duration_s),
    )


def _within(points: Iterable[Point], start: float, end: float, closed: bool) -> list[float]:
    return [v for t, v in points if start <= t and (t <= end if closed else t < end)]


def flatness(points: Sequence[Point], span: Windows, limit: float = FLAT_LIMIT) -> Flatness:
    """Median of the first window (end excluded) against the median of the last (end included)."""
    first = _within(points, *span.first, closed=False)
    last = _within(points, *span.last, closed=True)
    if not first or not last:
        return Flatness(first_samples=len(first), last_samples=len(last))
    first_median, last_median = median(first), median(last)
    change = last_median / first_median - 1 if first_median else None
    return Flatness(
        first=first_median,
        last=last_median,
        first_samples=len(first),
        last_samples=len(last),
        change=change,
        # compared as a product: 110 / 100 - 1 is 0.10000000000000009, just past a 10% limit
        flat=None if change is None else last_median <= first_median * (1 + limit),
    )


def slope_per_minute(points: Sequence[Point]) -> float | None:
    """The least-squares slope of the points, per minute; None for fewer than two distinct times."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return None
    return 60.0 * sum((t - mean_t) * (v - mean_v) for t, v in points) / spread


def growth(points: Sequence[Point], warmup_s: float) -> Growth:
    """First, last and largest value of a size, and its slope over the samples after the warm-up."""
    if not points:
        return Growth()
    values = [int(v) for _, v in points]
    return Growth(
        first_bytes=values[0],
        last_bytes=values[-1],
        max_bytes=max(values),
        per_minute_bytes=slope_per_minute([p for p in points if p[0] >= warmup_s]),
    )


def bytes_per_request(samples: Sequence[Sample]) -> float | None:
    """moto's RSS slope against the requests answered: what it keeps per request (CloudWatch data)."""
    points = [(float(s.requests), float(s.moto_rss_bytes)) for s in samples if s.moto_rss_bytes is not None]
    slope = slope_per_minute(points)
    return None if slope is None else slope / 60.0


def series(samples: Iterable[Sample], name: str) -> list[Point]:
    """(t, value) of a ``Sample`` field, the samples where it was read."""
    return [(s.t_s, float(getattr(s, name))) for s in samples if getattr(s, name) is not None]


def environment_series(samples: Iterable[Sample]) -> dict[str, list[Point]]:
    """Each environment's memory over the run (an environment is there from its start to its end)."""
    out: dict[str, list[Point]] = {}
    for sample in samples:
        for env_id, used in sample.environments.items():
            out.setdefault(env_id, []).append((sample.t_s, float(used)))
    return out


def worst(flats: dict[str, Flatness]) -> str | None:
    """The key whose change is largest (among those measured)."""
    measured = {key: f.change for key, f in flats.items() if f.change is not None}
    return max(measured, key=lambda key: measured[key]) if measured else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f}%"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / 1e6:.1f} MB"


def targets(record: SoakRecord) -> list[TargetCheck]:
    """PASS/FAIL per target of issue #12 item 7, from a record whose figures are filled in."""
    run = f"{record.variant} · {record.catalog}"
    checks = [
        TargetCheck(
            name="errors",
            variant=run,
            target=f"{MAX_ERRORS}",
            value=f"{record.errors} of {record.requests}",
            met=record.errors <= MAX_ERRORS if record.requests else None,
        ),
        TargetCheck(
            name="gateway memory, first vs last minute",
            variant=run,
            target=f"<= +{FLAT_LIMIT * 100:.0f}%",
            value=f"{_pct(record.gateway_memory.change)} ({_mb(record.gateway_memory.first)} -> "
            f"{_mb(record.gateway_memory.last)})",
            met=record.gateway_memory.flat,
        ),
    ]
    worst_env = record.environment_memory.get(record.worst_environment or "")
    measured = [f for f in record.environment_memory.values() if f.flat is not None]
    checks.append(
        TargetCheck(
            name="environments' memory, first vs last minute (the worst)",
            variant=run,
            target=f"<= +{FLAT_LIMIT * 100:.0f}%",
            value=(
                f"{_pct(worst_env.change)} ({_mb(worst_env.first)} -> {_mb(worst_env.last)}; "
                f"{len(measured)} environment(s) in both windows)"
                if worst_env
                else "no environment in both windows"
            ),
            met=all(f.flat for f in measured) if measured else None,
        )
    )
    cap = record.log_cap_bytes
    largest = [v for v in (record.largest_env_log_bytes, record.largest_service_log_bytes) if v is not None]
    checks.append(
        TargetCheck(
            name="log files bounded (the largest environment's and service's, with their backups)",
            variant=run,
            target=f"<= {_mb(cap)}" if cap else "a cap",
            value=f"{_mb(record.largest_env_log_bytes)} and {_mb(record.largest_service_log_bytes)}; "
            f"logs/ {_mb(record.logs.per_minute_bytes)}/min",
            met=None if cap is None or not largest else max(largest) <= cap,
        )
    )
    other = _other_state_growth(record)
    checks.append(
        TargetCheck(
            name="state folder bounded (growth other than the capped logs)",
            variant=run,
            target=f"<= {_mb(STATE_GROWTH_LIMIT_BYTES_PER_MIN)}/min",
            value=f"{_mb(other)}/min (state {_mb(record.state.first_bytes)} -> "
            f"{_mb(record.state.last_bytes)})",
            met=None if other is None else other <= STATE_GROWTH_LIMIT_BYTES_PER_MIN,
        )
    )
    return checks


def _other_state_growth(record: SoakRecord) -> float | None:
    """The state folder's slope minus those of the logs (bounded by their cap, checked apart): a
    log filling up to its cap is growth of a bounded kind, anything else growing is not."""
    state = record.state.per_minute_bytes
    if state is None:
        return None
    return state - (record.logs.per_minute_bytes or 0.0) - (record.service_logs.per_minute_bytes or 0.0)


def fill(record: SoakRecord, samples: Sequence[Sample], outcomes: Sequence[Outcome]) -> SoakRecord:
    """The record's figures and targets from what was sampled and answered (``record.seconds`` set).

    Requests and errors count the whole run; latency and throughput only what was answered after
    the warm-up (the scale-out's cold starts are the benchmark's cold-start figures, not the
    soak's steady state).
    """
    span = windows(record.seconds)
    record.windows = span
    record.samples = list(samples)
    record.requests = len(outcomes)
    record.errors = sum(not o.ok for o in outcomes)
    record.error_kinds = dict(Counter(o.error or f"HTTP {o.status}" for o in outcomes if not o.ok))
    record.requests_per_model = dict(sorted(Counter(o.model_type for o in outcomes).items()))
    steady = [o for o in outcomes if o.t_s >= span.warmup_s]
    record.latency_ms = Summary.of([o.latency_ms for o in steady if o.ok])
    record.throughput_rps = throughput(sum(o.ok for o in steady), record.seconds - span.warmup_s)
    record.gateway_memory = flatness(series(samples, "gateway_rss_bytes"), span)
    record.moto_memory = flatness(series(samples, "moto_rss_bytes"), span)
    envs = environment_series(samples)
    record.environments_seen = len(envs)
    record.environment_memory = {env_id: flatness(points, span) for env_id, points in envs.items()}
    record.worst_environment = worst(record.environment_memory)
    sizes = [size for s in samples for size in s.env_logs.values()]
    record.largest_env_log_bytes = max(sizes) if sizes else None
    services = [size for s in samples for size in s.service_logs.values()]
    record.largest_service_log_bytes = max(services) if services else None
    record.logs = growth(series(samples, "logs_bytes"), span.warmup_s)
    record.service_logs = growth(series(samples, "service_logs_bytes"), span.warmup_s)
    record.state = growth(series(samples, "state_bytes"), span.warmup_s)
    record.moto_bytes_per_request = bytes_per_request([s for s in samples if s.t_s >= span.warmup_s])
    record.targets = targets(record)
    return record
