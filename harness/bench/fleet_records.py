"""What the fleet scenario measured, as typed records (``fleet.py`` fills them; the fleet report,
its targets and the cost table read them).

``BenchResults.fleet`` maps a variant to its ``FleetRun``; ``Settings.fleet`` is the ``FleetPlan``.
The JSON of each record is the layout of ``results.json``'s ``fleet`` section (field order is key
order, see ``jsonrecord``), so results files written before these records load and write back
byte for byte. A run whose deploy failed has no ``models`` and ``function`` (the records are
empty and left out of the JSON; the ``{}`` older files hold for them loads as the empty record),
and the report prints "?" for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.bench.jsonrecord import Record, optional
from harness.bench.lru import LruOutcome
from harness.bench.options import FLEET_CONCURRENCY, FLEET_REQUESTS, FLEET_SIZES
from harness.bench.records import Summary
from harness.bench.zipf import DEFAULT_SEED, ZIPF_EXPONENT

CACHE_SHARE = 0.2  # the memory budget holds about this share of the largest fleet


@dataclass(frozen=True)
class FleetPlan(Record):
    """What the scenario sends: Zipf(``exponent``, ``seed``) traffic, ``requests`` per fleet size."""

    sizes: tuple[int, ...] = FLEET_SIZES
    requests: int = FLEET_REQUESTS  # per phase: the target is on 2,000 for N = 50
    # 1: one environment, whose cache sees the whole sequence, as the offline LRU does
    concurrency: int = FLEET_CONCURRENCY
    cache_share: float = CACHE_SHARE
    exponent: float = ZIPF_EXPONENT
    seed: int = DEFAULT_SEED

    def __post_init__(self) -> None:
        if not self.sizes or min(self.sizes) < 1:
            raise ValueError("fleet sizes must be positive whole numbers")
        if self.requests < 1 or self.concurrency < 1:
            raise ValueError("fleet requests and concurrency must be at least 1")
        if not 0 < self.cache_share <= 1:
            raise ValueError("the cache share must be in (0, 1]")

    @property
    def fleet_size(self) -> int:
        return max(self.sizes)

    @property
    def capacity_models(self) -> int:
        """Models the budget is sized for: ``cache_share`` of the largest fleet, at least one."""
        return max(1, round(self.cache_share * self.fleet_size))

    def to_json(self) -> dict[str, Any]:
        """The plan, and the capacity it implies (for the reader of results.json; not read back)."""
        return {**super().to_json(), "capacity_models": self.capacity_models}


@dataclass
class ModelsSummary(Record):
    """The deployed fleet: its size, engine, eager models, and bytes (``FleetModels.summary``)."""

    count: int = 0
    engine: str = ""
    eager: list[str] = field(default_factory=list)
    total_bytes: int = 0
    mean_bytes: float = 0.0
    mean_cost_bytes: float = 0.0  # the function's estimate of a loaded model


@dataclass
class FunctionInfo(Record):
    """The deployed function as the cost table needs it (``adapters.function_configuration``)."""

    memory_mb: int = 0
    ephemeral_storage_mb: int = 0
    architecture: str = ""
    image_bytes: int = 0
    deploy_s: float = 0.0


@dataclass
class PhaseMemory(Record):
    """The peaks of a phase's ``GET /models`` polls: cache bytes and /tmp bytes against budgets."""

    polls: int = 0
    peak_used_bytes: int | None = None
    budget_bytes: int | None = None
    within_budget: bool | None = None
    peak_loaded_models: int | None = None
    disk_peak_used_bytes: int | None = None
    disk_budget_bytes: int | None = None
    disk_within_budget: bool | None = None


@dataclass
class PhaseEnvironments(Record):
    """The environments a phase started (their init, from their logs) and the logged downloads."""

    started: int = 0
    init_ms: Summary = field(default_factory=Summary)
    init_median_ms: float | None = None
    downloads: dict[str, int] = field(default_factory=dict)  # model type -> downloads
    downloaded_bytes: int = 0


@dataclass
class ColdStartReads(Record):
    """What one cold start reads of the store: its eager models."""

    bytes: int = 0
    s3_gets: int = 0


@dataclass
class StoreReads(Record):
    """What a phase's requests asked of the store (EFS bytes per load, S3 GETs per download)."""

    loads: int = 0
    bytes_loaded: int = 0
    downloads: int = 0
    bytes_downloaded: int = 0
    s3_gets: int = 0  # the requests' own; the eager models' at each cold start are per_cold_start
    per_cold_start: ColdStartReads = field(default_factory=ColdStartReads)


@dataclass
class FleetPhase(Record):
    """One fleet size's Zipf traffic, from a cold start (``fleet.run_phase``)."""

    size: int = 0
    requests: int = 0
    truncated: bool = False
    stopped: str = ""  # why the phase stopped early ("" if it did not)
    ok: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    hits: int = 0
    misses: int = 0
    hit_rate: float | None = None
    ideal_lru: LruOutcome = field(default_factory=LruOutcome)  # the same budget in bytes
    ideal_lru_in_models: LruOutcome = field(default_factory=LruOutcome)  # the budget's model count
    hit_rate_gap_points: float | None = None  # offline LRU - measured, in points
    # The same sequence through the function's own policy (least asked for first): what the
    # measured hit rate should equal. None in results recorded before the policy existed.
    function_policy: LruOutcome | None = optional()
    policy_gap_points: float | None = optional()  # replayed policy - measured, in points
    loads_per_minute: float | None = None
    latency_ms: Summary = field(default_factory=Summary)
    hit_latency_ms: Summary = field(default_factory=Summary)
    miss_latency_ms: Summary = field(default_factory=Summary)
    server_ms_mean: float | None = None
    load_ms: float | None = None  # median fetch + load of the misses (S3: of those that downloaded)
    miss_load_ms: float | None = optional()  # median fetch + load of every miss
    load_counts_downloads: bool = optional(False)  # load_ms is of the misses that downloaded
    forward_ms: float | None = None  # median inference of all answers
    p99_goal_ms: float | None = None
    memory: PhaseMemory = field(default_factory=PhaseMemory)
    function_counters: dict[str, int] = field(default_factory=dict)
    environments: PhaseEnvironments = field(default_factory=PhaseEnvironments)
    store_reads: StoreReads = field(default_factory=StoreReads)
    distinct_models: int = 0


@dataclass
class FleetRun(Record):
    """One variant's fleet run: the deploy, the budget, and one phase per fleet size (by ``str(N)``)."""

    variant: str = ""
    catalog: str = ""
    plan: FleetPlan = field(default_factory=FleetPlan)
    budget_mb: int = 0
    models: ModelsSummary = optional(factory=ModelsSummary)  # empty: the deploy failed
    function: FunctionInfo = optional(factory=FunctionInfo)
    phases: dict[str, FleetPhase] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def sizes(self) -> list[int]:
        """The fleet sizes measured, smallest first."""
        return sorted(int(size) for size in self.phases)

    def largest_phase(self) -> FleetPhase | None:
        """The phase of the largest fleet size (what the targets and the cost table judge)."""
        sizes = self.sizes()
        return self.phases[str(sizes[-1])] if sizes else None

    def p50_growth(self) -> float | None:
        """p50 of the largest fleet / p50 of the smallest (the scaling target)."""
        sizes = self.sizes()
        if len(sizes) < 2:
            return None
        low = self.phases[str(sizes[0])].latency_ms.p50
        high = self.phases[str(sizes[-1])].latency_ms.p50
        return high / low if low and high else None
