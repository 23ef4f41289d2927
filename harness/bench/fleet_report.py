"""The fleet scenario and the cost table in the benchmark report: markdown sections and a plot.

Each function takes the results' ``fleet`` mapping (variant -> ``fleet.FleetRun.as_dict()``) and
renders one section, so the report only passes that mapping along and these move as a unit.
"""

from __future__ import annotations

from typing import Any

from harness.bench import cost
from harness.bench.fleet import p50_growth
from harness.bench.records import VARIANT_ORDER
from harness.bench.report.cells import table

MB = 1_000_000


def fleet_runs(fleet: dict[str, Any]) -> list[dict[str, Any]]:
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


def _phase_rows(run: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for size in sorted(run.get("phases") or {}, key=int):
        phase = run["phases"][size]
        latency = phase.get("latency_ms") or {}
        memory = phase.get("memory") or {}
        ideal = (phase.get("ideal_lru") or {}).get("hit_rate")
        ideal_models = (phase.get("ideal_lru_in_models") or {}).get("hit_rate")
        rows.append(
            [
                size,
                f"{phase.get('requests', 0)}" + (" (truncated)" if phase.get("truncated") else ""),
                phase.get("errors", "-"),
                _pct(phase.get("hit_rate")),
                f"{_pct(ideal)} / {_pct(ideal_models)}",
                _ms(latency.get("p50")),
                _ms(latency.get("p95")),
                _ms(latency.get("p99")),
                "-" if phase.get("loads_per_minute") is None else f"{phase['loads_per_minute']:.1f}",
                f"{_ms(phase.get('load_ms'))} / {_ms(phase.get('forward_ms'))}",
                _against(memory.get("peak_used_bytes"), memory.get("budget_bytes")),
                _against(memory.get("disk_peak_used_bytes"), memory.get("disk_budget_bytes")),
                (phase.get("environments") or {}).get("started", "-"),
            ]
        )
    return rows


FLEET_HEADER = (
    "N",
    "requests",
    "errors",
    "hit rate",
    "ideal LRU: budget / in models",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "loads/min",
    "load / forward ms (median)",
    "peak memory / budget",
    "peak /tmp / budget",
    "cold starts",
)


def fleet_section(fleet: dict[str, Any]) -> str:
    """Per variant: the budget, then a row per fleet size; the p50/p99 growth under it."""
    runs = fleet_runs(fleet)
    if not runs:
        return "No fleet run in these results (`--no-fleet`, or an older results file)."
    parts = []
    for run in runs:
        plan = run.get("plan") or {}
        models = run.get("models") or {}
        parts.append(
            f"**{run['variant']}** ({models.get('count', '?')} models on {models.get('engine', '?')}, "
            f"{_mb(models.get('mean_bytes'))} each on average; memory budget {run.get('budget_mb', '?')} MiB "
            f"for about {plan.get('capacity_models', '?')} of them; Zipf s = {plan.get('exponent', '?')}, "
            f"seed {plan.get('seed', '?')}, concurrency {plan.get('concurrency', '?')})"
        )
        parts.append(table(FLEET_HEADER, _phase_rows(run)))
        growth = p50_growth(run.get("phases") or {})
        if growth is not None:
            sizes = sorted(int(s) for s in run["phases"])
            parts.append(f"p50 at N = {sizes[-1]} is {growth:.2f}x the p50 at N = {sizes[0]}.")
        for size, phase in sorted((run.get("phases") or {}).items(), key=lambda item: int(item[0])):
            if phase.get("stopped"):
                parts.append(f"- N = {size} stopped early: {phase['stopped']}")
        for kind in ("skipped", "errors"):
            for name, text in (run.get(kind) or {}).items():
                parts.append(f"- {kind}: {name}: {text}")
    parts.append(
        "Hit rate: answers with `cache_hit` true. Ideal LRU: the same request sequence replayed offline "
        "through an LRU with the same byte budget and the function's per-model cost estimate, and through "
        "one holding the budget's number of models. Load / forward: the median fetch + load of the misses "
        "and the median inference of all answers. Memory and /tmp: the peak "
        "of `GET /models`, polled after every miss and every 50 requests."
    )
    return "\n\n".join(parts)


def _usd(value: float) -> str:
    return f"${value:,.2f}" if value >= 0.01 or value == 0 else f"${value:.4f}"


def workloads(fleet: dict[str, Any]) -> list[cost.Workload]:
    return [w for w in (cost.workload_from_fleet(run) for run in fleet_runs(fleet)) if w is not None]


def _largest_phases(fleet: dict[str, Any]) -> str:
    """ "efs: N = 10, 300 requests": what each variant's cost figures were measured on."""
    parts = []
    for run in fleet_runs(fleet):
        phases = run.get("phases") or {}
        if phases:
            largest = max(phases, key=int)
            parts.append(f"{run['variant']}: N = {largest}, {phases[largest].get('requests', 0)} requests")
    return "; ".join(parts)


def cost_section(fleet: dict[str, Any], prices: cost.Prices | None = None) -> str:
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


def markdown_sections(fleet: dict[str, Any]) -> list[str]:
    """results.md's share: headings and sections, none without a fleet run."""
    if not fleet:
        return []
    return [
        "## Fleet: Zipf traffic over many models",
        fleet_section(fleet),
        "## Cost per 1M requests",
        cost_section(fleet),
    ]


def readme_parts(fleet: dict[str, Any]) -> list[str]:
    """The README's share: the cost table (the fleet tables stay in results.md)."""
    if not fleet:
        return []
    return ["**Cost per 1M requests** (from the fleet scenario)", cost_section(fleet)]


def plot_scaling(fleet: dict[str, Any], axes: Any) -> bool:
    """One panel per store: p50 and p99 against the fleet size N (log x), hit rate on the right."""
    runs = fleet_runs(fleet)
    drawn = False
    for ax, run in zip(axes, runs, strict=False):
        phases = run.get("phases") or {}
        sizes = sorted(int(s) for s in phases)
        if not sizes:
            continue
        for key, style in (("p50", "o-"), ("p99", "s--")):
            values = [(phases[str(n)].get("latency_ms") or {}).get(key) for n in sizes]
            points = [(n, v) for n, v in zip(sizes, values, strict=True) if v is not None]
            if points:
                ax.plot([p[0] for p in points], [p[1] for p in points], style, label=key)
        ax.set_xscale("log")
        ax.minorticks_off()
        ax.set_xticks(sizes)
        ax.set_xticklabels([str(n) for n in sizes])
        ax.set_xlabel("models in the traffic (N)")
        ax.set_ylabel("latency (ms)")
        ax.set_title(f"{run['variant']}: budget {run.get('budget_mb', '?')} MiB")
        hit = ax.twinx()
        rates = [phases[str(n)].get("hit_rate") for n in sizes]
        hit.plot(sizes, [None if r is None else r * 100 for r in rates], "g:", label="hit rate")
        hit.set_ylim(0, 105)
        hit.set_ylabel("hit rate (%)")
        lines = ax.get_legend_handles_labels()
        hit_lines = hit.get_legend_handles_labels()
        ax.legend(lines[0] + hit_lines[0], lines[1] + hit_lines[1], loc="upper left")
        drawn = True
    return drawn


def plot_columns(fleet: dict[str, Any]) -> int:
    return max(1, len(fleet_runs(fleet)))
