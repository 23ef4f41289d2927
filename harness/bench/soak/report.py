"""The soak in the benchmark report: its section of results.md, its part of the README, soak.png.

Each function takes the ``SoakRecord`` (or None: no soak.json, nothing rendered), so the report
only passes it along, as it passes the fleet's results to ``fleet_report``.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from harness.bench.report.cells import fmt, or_dash, table
from harness.bench.soak.records import SOAK_PNG, Flatness, Growth, SoakRecord
from harness.bench.targets import verdict

MB = 1e6


def _mb(value: float | None) -> str:
    return fmt(value, 1, 1 / MB)


def _change(flat: Flatness) -> str:
    if flat.change is None:
        return "-"
    return f"{_mb(flat.first)} -> {_mb(flat.last)} MB ({flat.change * 100:+.1f}%)"


def _per_minute(growth: Growth) -> str:
    if growth.per_minute_bytes is None:
        return "-"
    span = f"{_mb(growth.first_bytes)} -> {_mb(growth.last_bytes)} MB"
    return f"{growth.per_minute_bytes / MB:+.2f} MB/min ({span})"


def _method(soak: SoakRecord) -> str:
    """How the soak ran and what its figures mean (the section's first paragraph)."""
    span = soak.windows
    first, last = (span.first or (0, 0)), (span.last or (0, 0))
    stack = "deployed for the soak" if soak.deployed_by_soak else "the deployed stack"
    return (
        f"Run {soak.started_at} by `make soak`: {soak.variant} with catalog `{soak.catalog}` "
        f"({', '.join(soak.model_types)} in turn), {soak.concurrency} clients without pause for "
        f"{soak.seconds / 60:.1f} min ({stack}), after scaling out one environment at a time "
        f"({fmt(soak.ramp_s, 0)} s, {soak.ramp_requests} requests, {soak.ramp_errors} errors, "
        f"{or_dash(soak.ramp_environments)} environments), "
        f"a sample every {soak.sample_interval_s:.0f} s. Memory (processes: RSS; environments: their "
        "container's usage minus inactive page cache, as `docker stats`) compares the median of the "
        f"samples in [{first[0]:.0f}, {first[1]:.0f}) s with that of [{last[0]:.0f}, {last[1]:.0f}] s, "
        f"after a {span.warmup_s:.0f} s warm-up; latency and throughput count the answers after the "
        "warm-up, requests and errors the whole run; growth is the least-squares slope after the warm-up."
    )


def _targets(soak: SoakRecord) -> str:
    return table(
        ["target", "run", "goal", "measured", "verdict"],
        [[c.name, c.variant, c.target, c.value, verdict(c.met)] for c in soak.targets],
    )


def _figures(soak: SoakRecord) -> str:
    latency = soak.latency_ms
    per_model = ", ".join(f"{mt} {n}" for mt, n in soak.requests_per_model.items())
    kinds = "; ".join(f"{n}x {kind}" for kind, n in soak.error_kinds.items())
    worst = soak.environment_memory.get(soak.worst_environment or "")
    rows = [
        ["requests", f"{soak.requests} ({per_model or '-'})"],
        ["errors", f"{soak.errors}" + (f": {kinds}" if kinds else "")],
        ["latency p50 / p95 / p99 (ms)", f"{fmt(latency.p50)} / {fmt(latency.p95)} / {fmt(latency.p99)}"],
        ["throughput (req/s)", fmt(soak.throughput_rps)],
        ["gateway RSS", _change(soak.gateway_memory)],
        [f"environments' memory, worst of {soak.environments_seen}", _change(worst) if worst else "-"],
        [
            "moto RSS (not ours: it keeps CloudWatch data in memory)",
            _change(soak.moto_memory)
            + (
                f", {soak.moto_bytes_per_request / 1000:.1f} KB per request"
                if soak.moto_bytes_per_request is not None
                else ""
            ),
        ],
        ["environment logs (logs/)", _per_minute(soak.logs)],
        [
            "largest environment's / service's log files, cap",
            f"{_mb(soak.largest_env_log_bytes)} / {_mb(soak.largest_service_log_bytes)}, "
            f"{_mb(soak.log_cap_bytes)} MB",
        ],
        ["the local cloud's own logs (services/*.log*)", _per_minute(soak.service_logs)],
        ["state folder", _per_minute(soak.state)],
    ]
    return table(["", "measured"], rows)


def _environments(soak: SoakRecord) -> str:
    rows = [
        [env_id[:8], _mb(f.first), _mb(f.last), "-" if f.change is None else f"{f.change * 100:+.1f}%"]
        for env_id, f in sorted(soak.environment_memory.items())
    ]
    return table(["environment", "first window (MB)", "last window (MB)", "change"], rows)


def markdown_sections(soak: SoakRecord | None) -> list[str]:
    """results.md's "Soak" section: method, targets, figures, environments, the plot."""
    if soak is None:
        return []
    return [
        "## Soak",
        _method(soak),
        _targets(soak),
        _figures(soak),
        "Memory per environment (the environments that ran through the soak):",
        _environments(soak),
        f"![soak]({SOAK_PNG})",
    ]


def readme_parts(soak: SoakRecord | None) -> list[str]:
    """The README's part: one line of method and the targets."""
    if soak is None:
        return []
    return [
        f"**Soak** (`make soak`, {soak.started_at}): {soak.variant} · `{soak.catalog}`, {soak.concurrency} "
        f"clients for {soak.seconds / 60:.1f} min, {soak.requests} requests, p50 / p95 / p99 "
        f"{fmt(soak.latency_ms.p50)} / {fmt(soak.latency_ms.p95)} / {fmt(soak.latency_ms.p99)} ms.",
        _targets(soak),
    ]


def _minutes(values: list[float]) -> list[float]:
    return [t / 60 for t in values]


def _draw(soak: SoakRecord, axes: Any) -> None:
    memory, sizes, rate = axes
    samples = soak.samples
    for name, label in (("gateway_rss_bytes", "gateway RSS"), ("moto_rss_bytes", "moto RSS")):
        points = [(s.t_s, getattr(s, name)) for s in samples if getattr(s, name) is not None]
        memory.plot(_minutes([t for t, _ in points]), [v / MB for _, v in points], label=label, linewidth=2)
    envs: dict[str, list[tuple[float, int]]] = {}
    for s in samples:
        for env_id, used in s.environments.items():
            envs.setdefault(env_id, []).append((s.t_s, used))
    for index, (_env_id, points) in enumerate(sorted(envs.items())):
        memory.plot(
            _minutes([t for t, _ in points]),
            [v / MB for _, v in points],
            color="tab:gray",
            linewidth=0.8,
            label="environments" if index == 0 else None,
        )
    for span in (soak.windows.first, soak.windows.last):
        if span:
            memory.axvspan(span[0] / 60, span[1] / 60, color="tab:green", alpha=0.1)
    memory.set(title="memory (shaded: the compared windows)", xlabel="minutes", ylabel="MB")
    memory.legend(fontsize=8)
    for name, label in (
        ("logs_bytes", "environment logs"),
        ("service_logs_bytes", "local cloud's logs"),
        ("state_bytes", "state folder"),
    ):
        points = [(s.t_s, getattr(s, name)) for s in samples if getattr(s, name) is not None]
        if points:
            base = points[0][1]
            sizes.plot(_minutes([t for t, _ in points]), [(v - base) / MB for _, v in points], label=label)
    sizes.set(title="growth since the start", xlabel="minutes", ylabel="MB")
    sizes.legend(fontsize=8)
    pairs = list(itertools.pairwise(samples))
    times = [b.t_s / 60 for _, b in pairs]
    for name, label in (("requests", "answers/s"), ("errors", "errors/s")):
        rates = [(getattr(b, name) - getattr(a, name)) / max(b.t_s - a.t_s, 1e-9) for a, b in pairs]
        rate.plot(times, rates, label=label)
    rate.set(title="throughput between samples", xlabel="minutes", ylabel="per second")
    rate.legend(fontsize=8)


def write_plot(soak: SoakRecord, out_dir: Path) -> Path | None:
    """soak.png in ``out_dir`` (None when the soak has fewer than two samples)."""
    if len(soak.samples) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(15, 4))
    try:
        _draw(soak, list(axes.flat))
        figure.tight_layout()
        path = out_dir / SOAK_PNG
        figure.savefig(path, dpi=100)
    finally:
        plt.close(figure)
    return path
