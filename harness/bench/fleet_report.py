"""The fleet scenario and the cost table in the benchmark report: markdown sections and a plot.

Each function takes the results' ``fleet`` mapping (variant -> ``fleet_records.FleetRun``) and
renders one section, so the report only passes that mapping along and these move as a unit.
"""

from __future__ import annotations

from typing import Any

from harness.bench import cost
from harness.bench.fleet_records import FleetRun
from harness.bench.records import VARIANT_ORDER
from harness.bench.report.cells import table

MB = 1_000_000
Fleet = dict[str, FleetRun]  # BenchResults.fleet: variant -> its run


def fleet_runs(fleet: Fleet) -> list[FleetRun]:
    """The variants' fleet runs, in variant order."""
    order = {variant: index for index, variant in enumerate(VARIANT_ORDER)}
    return [fleet[v] for v in sorted(fleet, key=lambda v: (order.get(v, len(order)), v))]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:.0f} MB"


def _against(used: float | None, budget: float | None) -> str:
    return "-" if used is None else f"{_mb(used)} / {_mb(budget)}"


def _phase_rows(run: FleetRun) -> list[list[Any]]:
    rows = []
    for size in run.sizes():
        phase = run.phases[str(size)]
        latency, memory = phase.latency_ms, phase.memory
        rows.append(
            [
                size,
                f"{phase.requests}" + (" (truncated)" if phase.truncated else ""),
                phase.errors,
                _pct(phase.hit_rate),
                f"{_pct(phase.ideal_lru.hit_rate)} / {_pct(phase.ideal_lru_in_models.hit_rate)}",
                "-" if phase.function_policy is None else _pct(phase.function_policy.hit_rate),
                _ms(latency.p50),
                _ms(latency.p95),
                _ms(latency.p99),
                "-" if phase.loads_per_minute is None else f"{phase.loads_per_minute:.1f}",
                f"{_ms(phase.load_ms)} / {_ms(phase.forward_ms)}",
                _against(memory.peak_used_bytes, memory.budget_bytes),
                _against(memory.disk_peak_used_bytes, memory.disk_budget_bytes),
                phase.environments.started,
            ]
        )
    return rows


FLEET_HEADER = (
    "N",
    "requests",
    "errors",
    "hit rate",
    "ideal LRU: budget / in models",
    "function's policy, replayed",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "loads/min",
    "load / forward ms (median)",
    "peak memory / budget",
    "peak /tmp / budget",
    "cold starts",
)


def fleet_section(fleet: Fleet) -> str:
    """Per variant: the budget, then a row per fleet size; the p50/p99 growth under it."""
    runs = fleet_runs(fleet)
    if not runs:
        return "No fleet run in these results (`--no-fleet`, or an older results file)."
    parts = []
    for run in runs:
        plan, models = run.plan, run.models
        count, engine, mean = (models.count, models.engine, models.mean_bytes) if models else ("?", "?", None)
        parts.append(
            f"**{run.variant}** ({count} models on {engine}, "
            f"{_mb(mean)} each on average; memory budget {run.budget_mb} MiB "
            f"for about {plan.capacity_models} of them; Zipf s = {plan.exponent}, "
            f"seed {plan.seed}, concurrency {plan.concurrency})"
        )
        parts.append(table(FLEET_HEADER, _phase_rows(run)))
        growth = run.p50_growth()
        if growth is not None:
            sizes = run.sizes()
            parts.append(f"p50 at N = {sizes[-1]} is {growth:.2f}x the p50 at N = {sizes[0]}.")
        for size in run.sizes():
            if run.phases[str(size)].stopped:
                parts.append(f"- N = {size} stopped early: {run.phases[str(size)].stopped}")
        for kind, notes in (("skipped", run.skipped), ("errors", run.errors)):
            for name, text in notes.items():
                parts.append(f"- {kind}: {name}: {text}")
    parts.append(
        "Hit rate: answers with `cache_hit` true. Ideal LRU: the same request sequence replayed offline "
        "through an LRU with the same byte budget and the function's per-model cost estimate, and through "
        "one holding the budget's number of models. The function's policy: the same sequence replayed "
        "through the function's own eviction order (`inference.cache.Popularity`: the least asked-for model "
        "first, the least recent among equals), which the measured hit rate should equal. "
        "Load / forward: the median fetch + load of the misses (on S3, of the misses that downloaded: "
        "a load from the store) "
        "and the median inference of all answers. Memory and /tmp: the peak "
        "of `GET /models`, polled after every miss and every 50 requests."
    )
    return "\n\n".join(parts)


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def workloads(fleet: Fleet) -> list[cost.Workload]:
    return [w for w in (cost.workload_from_fleet(run) for run in fleet_runs(fleet)) if w is not None]


def _largest_phases(fleet: Fleet) -> str:
    """ "efs: N = 10, 300 requests": what each variant's cost figures were measured on."""
    parts = []
    for run in fleet_runs(fleet):
        largest = run.largest_phase()
        if largest is not None:
            parts.append(f"{run.variant}: N = {run.sizes()[-1]}, {largest.requests} requests")
    return "; ".join(parts)


def cost_section(fleet: Fleet, prices: cost.Prices | None = None) -> str:
    """The measured inputs, the cost per 1M requests, the monthly storage, and the blind spots."""
    measured = workloads(fleet)
    if not measured:
        return "No fleet run to compute costs from."
    prices = prices or cost.Prices.load()
    rows = cost.cost_table(measured, prices)
    inputs = table(
        (
            "variant",
            "billed ms / request",
            "cold-start share",
            "init ms",
            "EFS MB read / request",
            "S3 GETs / request",
            "/tmp MB",
        ),
        [
            [
                w.variant,
                f"{w.billed_ms:.0f}",
                f"{w.cold_start_share * 100:.2f}%",
                f"{w.init_ms:.0f}",
                f"{w.efs_bytes_per_request / MB:.1f}",
                f"{w.s3_gets_per_request:.2f}",
                w.ephemeral_storage_mb,
            ]
            for w in measured
        ],
    )
    priced = table(
        ("variant", "memory", "arch", *cost.COMPONENTS.values(), "total per 1M", "storage / month"),
        [
            [
                r.variant,
                f"{r.memory_mb} MB",
                r.architecture,
                *(_usd(r.components[k]) for k in cost.COMPONENTS),
                f"**{_usd(r.total)}**",
                _usd(sum(r.storage_per_month.values())),
            ]
            for r in rows
        ],
    )
    sentences = cost.blind_spots(rows)
    return "\n\n".join(
        [
            f"Measured in the largest fleet phase of each variant ({_largest_phases(fleet)}; loads "
            "included), priced with "
            f"`bench/prices.json` (us-east-1, read {prices.read_on}; its `confirmed` fields say which "
            "figures could not be checked). Storage is per month, whatever the traffic.",
            inputs,
            priced,
            *sentences,
        ]
    )


def markdown_sections(fleet: Fleet) -> list[str]:
    """results.md's share: headings and sections, none without a fleet run."""
    if not fleet:
        return []
    return [
        "## Fleet: Zipf traffic over many models",
        fleet_section(fleet),
        "## Cost per 1M requests",
        cost_section(fleet),
    ]


def readme_parts(fleet: Fleet) -> list[str]:
    """The README's share: the cost table (the fleet tables stay in results.md)."""
    if not fleet:
        return []
    return ["**Cost per 1M requests** (from the fleet scenario)", cost_section(fleet)]


def plot_scaling(fleet: Fleet, axes: Any) -> bool:
    """One panel per store: p50 and p99 against the fleet size N (log x), hit rate on the right."""
    runs = fleet_runs(fleet)
    drawn = False
    for ax, run in zip(axes, runs, strict=False):
        phases = [run.phases[str(n)] for n in run.sizes()]
        sizes = run.sizes()
        if not sizes:
            continue
        series = {"p50": [p.latency_ms.p50 for p in phases], "p99": [p.latency_ms.p99 for p in phases]}
        for (key, values), style in zip(series.items(), ("o-", "s--"), strict=True):
            points = [(n, v) for n, v in zip(sizes, values, strict=True) if v is not None]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style, label=key)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.set_xlabel("models in the traffic (N)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"{run.variant}: budget {run.budget_mb} MiB")
        hit = ax.twinx()
        rates = [phase.hit_rate for phase in phases]
        hit.plot(sizes, [None if r is None else r * 100 for r in rates], "g:", label="hit rate")
        hit.set_ylim(0, 105)
        hit.set_ylabel("hit rate (%)")
        lines = ax.get_legend_handles_labels()
        hit_lines = hit.get_legend_handles_labels()
        ax.legend(lines[0] + hit_lines[0], lines[1] + hit_lines[1], loc="upper left")
        drawn = True
    return drawn


def plot_columns(fleet: Fleet) -> int:
    return max(1, len(fleet_runs(fleet)))
