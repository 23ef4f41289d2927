"""What a million requests cost per variant, memory size and architecture: the arithmetic.

Inputs are measured in the fleet scenario (``fleet.py``): the mean billed duration of a request
(hits and loads together), the share of requests that were cold starts and the init duration of
those environments, and what the store was asked for: EFS bytes read (every load reads the
model's files; Elastic Throughput bills each GB read) and S3 GETs (each download from the bucket;
a load from the /tmp copy costs none), per request and per cold start (the eager models). Prices
come from ``bench/prices.json`` only (us-east-1, with their source and the date they were read).

Per 1M requests, for memory M MB on architecture A:
  duration   = 1e6 x (billed_s + cold_share x init_s) x M / 1024 x price_gb_s[A]
               (container images are billed for INIT too)
  ephemeral  = 1e6 x (billed_s + cold_share x init_s) x max(0, E - 512) / 1024 x price_ephemeral
  requests   = 1e6 x (lambda_request + http_api_request)
  s3 GETs    = 1e6 x (gets_per_request + cold_share x gets_per_cold_start) x s3_get
  EFS reads  = 1e6 x (bytes_per_request + cold_share x bytes_per_cold_start) / 2^30 x efs_read_gb
Storage is monthly, whatever the traffic: the models in S3 (s3, efs) and on EFS (efs), and the
function's image in ECR (every variant; oci's holds the models too). GB are 2^30 bytes.
The durations are this machine's at the deployed memory size: on Lambda more memory gives more
vCPUs, so a forward pass at 6000 MB is faster than at 2048 MB and the 6000 MB figures are upper
bounds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.fleet_records import FleetRun
from harness.paths import REPO_ROOT

PRICES_PATH = REPO_ROOT / "bench" / "prices.json"
GIB = 1024**3
FREE_EPHEMERAL_MB = 512
MEMORY_SIZES_MB = (2048, 6000)
ARCHITECTURES = ("x86_64", "arm64")
PER = 1_000_000  # requests the table is for
# A component users tend to miss "dominates" a variant's cost from this share of its total.
DOMINANT_SHARE = 0.25
COMPONENTS = {
    "duration": "Lambda compute (GB-s)",
    "requests": "Lambda + HTTP API requests",
    "ephemeral": "ephemeral storage over 512 MB",
    "s3_gets": "S3 GETs",
    "efs_reads": "EFS Elastic-throughput reads",
}
# The components users tend to miss, and why each grows (the plain sentence under the table).
BLIND_SPOTS = {
    "efs_reads": (
        "every model load reads the model's files from EFS again, and each GB read is billed with "
        "Elastic Throughput; cold starts read the eager models too (counted in full: an upper bound "
        "when the environment's page cache still holds an evicted model's files). A bigger memory "
        "budget (fewer loads), int8 models (smaller files) or Bursting/Provisioned Throughput change it"
    ),
    "s3_gets": "every download from the bucket is several ranged GETs per model file",
    "ephemeral": "/tmp over 512 MB is billed for the whole duration of every request, used or not",
}


@dataclass(frozen=True)
class Prices:
    """The published prices the table uses (USD), read from ``bench/prices.json``."""

    gb_second: dict[str, float]  # architecture -> USD per GB-s
    lambda_request: float
    ephemeral_gb_second: float
    http_api_request: float
    s3_get_request: float
    s3_storage_gb_month: float
    efs_storage_gb_month: float
    efs_elastic_read_gb: float
    ecr_storage_gb_month: float
    read_on: str = ""

    @classmethod
    def load(cls, path: Path = PRICES_PATH) -> Prices:
        raw = json.loads(path.read_text())
        usd = {name: float(entry["usd"]) for name, entry in raw["prices"].items()}
        return cls(
            gb_second={"x86_64": usd["lambda_gb_second_x86"], "arm64": usd["lambda_gb_second_arm64"]},
            lambda_request=usd["lambda_request"],
            ephemeral_gb_second=usd["lambda_ephemeral_gb_second"],
            http_api_request=usd["http_api_request"],
            s3_get_request=usd["s3_get_request"],
            s3_storage_gb_month=usd["s3_storage_gb_month"],
            efs_storage_gb_month=usd["efs_storage_gb_month"],
            efs_elastic_read_gb=usd["efs_elastic_read_gb"],
            ecr_storage_gb_month=usd["ecr_storage_gb_month"],
            read_on=str(raw.get("read_on", "")),
        )


@dataclass(frozen=True)
class Workload:
    """One variant's measured behaviour under the fleet's traffic (per request unless named)."""

    variant: str
    billed_ms: float  # mean billed duration of a request, loads included
    cold_start_share: float  # cold starts / requests
    init_ms: float  # billed INIT of one cold start
    efs_bytes_per_request: float = 0.0
    efs_bytes_per_cold_start: float = 0.0
    s3_gets_per_request: float = 0.0
    s3_gets_per_cold_start: float = 0.0
    ephemeral_storage_mb: int = FREE_EPHEMERAL_MB
    stored_bytes: dict[str, int] = field(default_factory=dict)  # "s3" | "efs" | "ecr" -> bytes

    @property
    def billed_s_per_request(self) -> float:
        """Billed seconds per request, the cold starts' INIT spread over all requests."""
        return (self.billed_ms + self.cold_start_share * self.init_ms) / 1000.0


@dataclass(frozen=True)
class CostBreakdown:
    """USD per 1M requests by component, and the monthly storage beside it."""

    variant: str
    memory_mb: int
    architecture: str
    components: dict[str, float]
    storage_per_month: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.components.values())

    def largest(self) -> tuple[str, float]:
        return max(self.components.items(), key=lambda item: item[1])

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total": self.total}


def cost_per_million(workload: Workload, memory_mb: int, architecture: str, prices: Prices) -> CostBreakdown:
    seconds = workload.billed_s_per_request
    share = workload.cold_start_share
    extra_ephemeral_gb = max(0, workload.ephemeral_storage_mb - FREE_EPHEMERAL_MB) / 1024
    gets = workload.s3_gets_per_request + share * workload.s3_gets_per_cold_start
    efs_gb = (workload.efs_bytes_per_request + share * workload.efs_bytes_per_cold_start) / GIB
    components = {
        "duration": PER * seconds * memory_mb / 1024 * prices.gb_second[architecture],
        "requests": PER * (prices.lambda_request + prices.http_api_request),
        "ephemeral": PER * seconds * extra_ephemeral_gb * prices.ephemeral_gb_second,
        "s3_gets": PER * gets * prices.s3_get_request,
        "efs_reads": PER * efs_gb * prices.efs_elastic_read_gb,
    }
    monthly = {
        "s3": prices.s3_storage_gb_month,
        "efs": prices.efs_storage_gb_month,
        "ecr": prices.ecr_storage_gb_month,
    }
    stored = workload.stored_bytes
    storage = {where: size / GIB * monthly[where] for where, size in stored.items() if where in monthly}
    return CostBreakdown(workload.variant, memory_mb, architecture, components, storage)


def cost_table(
    workloads: list[Workload],
    prices: Prices,
    memory_sizes: tuple[int, ...] = MEMORY_SIZES_MB,
    architectures: tuple[str, ...] = ARCHITECTURES,
) -> list[CostBreakdown]:
    return [
        cost_per_million(w, memory, arch, prices)
        for w in workloads
        for memory in memory_sizes
        for arch in architectures
    ]


def workload_from_fleet(run: FleetRun) -> Workload | None:
    """The workload of one variant's fleet run (``results.fleet[variant]``): its largest phase."""
    phase = run.largest_phase()
    if phase is None or not phase.requests or not phase.ok:
        return None
    requests, environments = phase.requests, phase.environments
    # The function's own timings (fetch + load + inference): the runtime's REPORT lines would also
    # count the scenario's GET /models polls; the handler's few ms outside its timers are left out.
    billed_ms = float(phase.server_ms_mean or 0.0)
    reads, per_cold = phase.store_reads, phase.store_reads.per_cold_start
    variant, model_bytes = run.variant, int(run.models.total_bytes or 0)
    stored: dict[str, int] = {"ecr": int(run.function.image_bytes or 0)}
    if variant in ("s3", "efs"):
        stored["s3"] = model_bytes
    if variant == "efs":
        stored["efs"] = model_bytes
    return Workload(
        variant=variant,
        billed_ms=billed_ms,
        cold_start_share=environments.started / requests,
        init_ms=float(environments.init_median_ms or 0.0),
        efs_bytes_per_request=reads.bytes_loaded / requests if variant == "efs" else 0.0,
        efs_bytes_per_cold_start=float(per_cold.bytes) if variant == "efs" else 0.0,
        s3_gets_per_request=reads.s3_gets / requests if variant == "s3" else 0.0,
        s3_gets_per_cold_start=float(per_cold.s3_gets) if variant == "s3" else 0.0,
        ephemeral_storage_mb=int(run.function.ephemeral_storage_mb or FREE_EPHEMERAL_MB),
        stored_bytes=stored,
    )


def blind_spots(breakdowns: list[CostBreakdown]) -> list[str]:
    """A plain sentence per variant where a store or storage charge is a large share of the cost."""
    sentences = []
    seen: set[str] = set()
    for row in breakdowns:
        if row.variant in seen or row.total <= 0:
            continue
        seen.add(row.variant)
        hidden = {k: v for k, v in row.components.items() if k in BLIND_SPOTS}
        name, usd = max(hidden.items(), key=lambda item: item[1])
        share = usd / row.total
        if share < DOMINANT_SHARE:
            continue
        sentences.append(
            f"On {row.variant}, {COMPONENTS[name]} are {share * 100:.0f}% of the cost per 1M requests "
            f"(${usd:,.2f} of ${row.total:,.2f} at {row.memory_mb} MB {row.architecture}, against "
            f"${row.components['duration']:,.2f} of Lambda compute): {BLIND_SPOTS[name]}."
        )
    return sentences
