"""The "fleet" scenario: Zipf traffic over N models behind one function whose cache holds ~20% of them.

One deploy per variant of the fleet catalog (``CATALOG=fleet``, ``FLEET_SIZE`` = the largest N),
with ``MODEL_MEMORY_BUDGET_MB`` sized for ``CACHE_SHARE`` of the largest N. Then one phase per N
(2 -> 10 -> 50 by default): the function's environments are reset (the phase starts cold, its
eager models loaded at init), and a seeded Zipf sequence over the first N models is sent. The
budget stays the same in every phase, so the phases answer "what happens to latency as I put
more models behind the same function"; with N = 2 everything fits and loads are rare.

Per phase: hit rate (the response's ``cache_hit``), the same sequence replayed offline through an
LRU of the same budget (``lru.simulate_lru``, the function's own cost estimate per model) and
through the function's own eviction policy (``lru.simulate_function_cache``),
p50/p95/p99, loads per minute, ``GET /models`` polled after every miss and every
``POLL_EVERY`` requests (peak memory and /tmp against their budgets), the environments that
started (cold starts, from their logs) and what each request read from the store: what the cost
table (``cost.py``) is computed from. A phase is a ``fleet_records.FleetPhase``, a variant's run
a ``FleetRun`` (the records results.json holds).
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.bench import adapters, logparse
from harness.bench.client import ApiClient, ApiResult
from harness.bench.fleet_records import (
    ColdStartReads,
    FleetPhase,
    FleetPlan,
    FleetRun,
    FunctionInfo,
    ModelsSummary,
    PhaseEnvironments,
    PhaseMemory,
    StoreReads,
)
from harness.bench.lru import simulate_function_cache, simulate_lru
from harness.bench.records import Summary
from harness.bench.stats import median
from harness.bench.zipf import zipf_sequence
from harness.models.fleet import FLEET_NAME, FLEET_SIZE_VARIABLE, model_types
from harness.progress import say

CATALOG = FLEET_NAME
POLL_EVERY = 50  # GET /models every this many requests (and after every miss)
# A phase stops after this many failed requests in a row: seen when a loaded machine made every
# cold start's init outlast the function's timeout, so each request paid 25 s for a 504.
MAX_CONSECUTIVE_ERRORS = 10
MIB = 1024 * 1024
# The slack the p99 target allows over one model load + one forward pass (the 100 ms).
P99_SLACK_MS = 100.0


@dataclass(frozen=True)
class FleetModels:
    """The published fleet as the scenario needs it, from the bundle's manifest."""

    model_types: tuple[str, ...]  # qa-000 first: Zipf rank 1
    costs: dict[str, int]  # the function's estimate of a loaded model's bytes (inference.cache)
    file_bytes: dict[str, int]  # what one load reads from EFS (or one download writes to /tmp)
    s3_gets: dict[str, int]  # GET requests of one download from S3 (ranged above the threshold)
    eager: tuple[str, ...]  # loaded at init, in manifest order
    engine: str

    @classmethod
    def from_manifest(cls, manifest: Any) -> FleetModels:
        from inference.cache import model_cost
        from inference.stores.s3 import TransferSettings, _byte_ranges

        models = manifest.models
        # Zipf rank order: the fleet's own order (qa-000 first), then anything else by name
        fleet_order = [mt for mt in model_types(len(models)) if mt in models]
        order = tuple(fleet_order + sorted(set(models) - set(fleet_order)))
        settings = TransferSettings()
        engines = sorted({m.engine for m in models.values()})
        return cls(
            model_types=order,
            costs={mt: model_cost(models[mt]) for mt in order},
            file_bytes={mt: models[mt].size for mt in order},
            s3_gets={mt: sum(len(_byte_ranges(f.size, settings)) for f in models[mt].files) for mt in order},
            eager=tuple(mt for mt in order if models[mt].eager),
            engine="+".join(engines),
        )

    @classmethod
    def from_bundle(cls, bundle: Path) -> FleetModels:
        from inference.contract import MANIFEST_NAME, Manifest

        return cls.from_manifest(Manifest.from_json((bundle / MANIFEST_NAME).read_bytes()))

    def memory_budget_mb(self, capacity_models: int) -> int:
        """A budget (MiB, as MODEL_MEMORY_BUDGET_MB) for about ``capacity_models`` average models,
        never below the largest one (a model over the budget would answer 503)."""
        mean = sum(self.costs.values()) / len(self.costs)
        needed = max(mean * capacity_models, max(self.costs.values()))
        return math.ceil(needed / MIB)

    def summary(self) -> ModelsSummary:
        sizes = list(self.file_bytes.values())
        return ModelsSummary(
            count=len(self.model_types),
            engine=self.engine,
            eager=list(self.eager),
            total_bytes=sum(sizes),
            mean_bytes=sum(sizes) / len(sizes),
            mean_cost_bytes=sum(self.costs.values()) / len(self.costs),
        )


@contextmanager
def fleet_size(size: int) -> Iterator[None]:
    """``FLEET_SIZE`` set for the fleet catalog while the block runs (restored after)."""
    before = os.environ.get(FLEET_SIZE_VARIABLE)
    os.environ[FLEET_SIZE_VARIABLE] = str(size)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(FLEET_SIZE_VARIABLE, None)
        else:
            os.environ[FLEET_SIZE_VARIABLE] = before


# --- one phase ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One request of the sequence, as the client saw it."""

    index: int
    model_type: str
    status: int
    latency_ms: float
    hit: bool
    fetch_ms: float
    load_ms: float
    inference_ms: float

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class MemoryPoll:
    """One ``GET /models``: the environment's cache bytes and /tmp bytes against their budgets."""

    used_bytes: int | None
    budget_bytes: int | None
    disk_used_bytes: int | None
    disk_budget_bytes: int | None
    loaded: int


def served_from_cache(result: ApiResult) -> bool:
    """The response's ``cache_hit``; without it, no fetch and no load (the function reports 0.0)."""
    flag = result.body.get("cache_hit")
    if isinstance(flag, bool):
        return flag
    timings = result.timings_ms
    return timings.get("fetch", 0.0) <= 0.0 and timings.get("load", 0.0) <= 0.0


def _int_or_none(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _used(section: dict[str, Any]) -> int | None:
    """The most a ``memory``/``disk`` section says was used: its ``peak_bytes`` (the environment's
    own high-water mark, between polls too) when it reports one, else ``used_bytes``."""
    values = [
        v for v in (_int_or_none(section.get(k)) for k in ("used_bytes", "peak_bytes")) if v is not None
    ]
    return max(values) if values else None


def read_poll(body: dict[str, Any]) -> MemoryPoll:
    """A ``GET /models`` body: top-level ``memory`` and (S3) ``disk``, per model ``loaded``."""
    memory = body.get("memory") if isinstance(body.get("memory"), dict) else {}
    disk = body.get("disk") if isinstance(body.get("disk"), dict) else {}
    models = body.get("models") if isinstance(body.get("models"), dict) else {}
    loaded = sum(1 for m in models.values() if isinstance(m, dict) and m.get("loaded"))
    return MemoryPoll(
        _used(memory),
        _int_or_none(memory.get("budget_bytes")),
        _used(disk),
        _int_or_none(disk.get("budget_bytes")),
        loaded,
    )


def function_counters(body: dict[str, Any]) -> dict[str, int]:
    """Hits and misses the function counted, summed over its models (``GET /models``)."""
    models = body.get("models") if isinstance(body.get("models"), dict) else {}
    totals: Counter[str] = Counter()
    for entry in models.values():
        if isinstance(entry, dict):
            for key in ("hits", "misses"):
                totals[key] += _int_or_none(entry.get(key)) or 0
    return dict(totals)


def _send(
    api_url: str, sequence: Sequence[str], question: str, context: str, concurrency: int, deadline: Any
) -> tuple[list[Sample], list[MemoryPoll], float, str]:
    """The sequence in order from ``concurrency`` clients pulling the next request; with polls.
    Stops early when ``deadline`` (a ``scenarios.Deadline``) expires or after
    MAX_CONSECUTIVE_ERRORS failures in a row; the third value says why it stopped ("" if not)."""
    next_index = itertools.count()
    lock = threading.Lock()
    samples: list[Sample] = []
    polls: list[MemoryPoll] = []
    progress_at = [time.monotonic()]
    failures_in_a_row = [0]
    stopped: list[str] = []

    def work() -> None:
        with ApiClient(api_url) as client:
            while True:
                with lock:
                    index = next(next_index)
                if index >= len(sequence) or stopped:
                    return
                if deadline.expired():
                    stopped.append("the benchmark's time budget was spent")
                    return
                model_type = sequence[index]
                result = client.ask(model_type, question, context)
                timings = result.timings_ms
                sample = Sample(
                    index,
                    model_type,
                    result.status,
                    result.latency_ms,
                    result.ok and served_from_cache(result),
                    timings.get("fetch", 0.0),
                    timings.get("load", 0.0),
                    timings.get("inference", 0.0),
                )
                poll = None
                if (result.ok and not sample.hit) or index % POLL_EVERY == 0:
                    answer = client.models()
                    poll = read_poll(answer.body) if answer.ok else None
                with lock:
                    samples.append(sample)
                    failures_in_a_row[0] = 0 if result.ok else failures_in_a_row[0] + 1
                    if failures_in_a_row[0] >= MAX_CONSECUTIVE_ERRORS and not stopped:
                        stopped.append(
                            f"{MAX_CONSECUTIVE_ERRORS} failed requests in a row (last: {result.error})"
                        )
                    if poll is not None:
                        polls.append(poll)
                    if time.monotonic() - progress_at[0] >= 10.0:
                        progress_at[0] = time.monotonic()
                        say(f"    fleet: {len(samples)}/{len(sequence)} requests")

    started = time.perf_counter()
    threads = [threading.Thread(target=work, name=f"fleet-{i}") for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ordered = sorted(samples, key=lambda s: s.index)
    return ordered, polls, time.perf_counter() - started, (stopped[0] if stopped else "")


def _peak(values: Sequence[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def _within(used: int | None, budget: int | None) -> bool | None:
    return None if used is None or budget is None else used <= budget


def _memory(polls: Sequence[MemoryPoll]) -> PhaseMemory:
    used, budget = _peak([p.used_bytes for p in polls]), _peak([p.budget_bytes for p in polls])
    disk_used, disk_budget = (
        _peak([p.disk_used_bytes for p in polls]),
        _peak([p.disk_budget_bytes for p in polls]),
    )
    return PhaseMemory(
        polls=len(polls),
        peak_used_bytes=used,
        budget_bytes=budget,
        within_budget=_within(used, budget),
        peak_loaded_models=max((p.loaded for p in polls), default=None),
        disk_peak_used_bytes=disk_used,
        disk_budget_bytes=disk_budget,
        disk_within_budget=_within(disk_used, disk_budget),
    )


def _environments(function_name: str, before: dict[str, adapters.LogFile]) -> PhaseEnvironments:
    """The environments that started during the phase and what the logs written during it say:
    their init, and the S3 store's downloads (per model, eager ones at init included)."""
    inits: list[float] = []
    started = []
    downloads: Counter[str] = Counter()
    downloaded_bytes = 0
    for env_id, log in adapters.env_logs(function_name).items():
        offset = before[env_id].size if env_id in before else 0
        summary = logparse.parse_log(adapters.read_log(log, offset))
        downloads.update(summary.downloads)
        downloaded_bytes += summary.downloaded_bytes
        if env_id not in before:
            started.append(env_id)
            # only the function's own init line: an environment whose init timed out has just
            # the runtime's "Init Duration" of its restart (a fraction of a millisecond)
            if summary.has_init and summary.init_total_ms is not None:
                inits.append(summary.init_total_ms)
    return PhaseEnvironments(
        started=len(started),
        init_ms=Summary.of(inits),
        init_median_ms=median(inits) if inits else None,
        downloads=dict(downloads),
        downloaded_bytes=downloaded_bytes,
    )


def _store_reads(
    models: FleetModels, samples: Sequence[Sample], environments: PhaseEnvironments
) -> StoreReads:
    """What the phase asked of the store. EFS: every load reads the model's files. S3: the
    downloads the store logged (a load from the /tmp copy costs nothing), as ranged GETs of the
    function's part size; a cold start downloads its eager models, counted apart."""
    misses = [s for s in samples if s.ok and not s.hit]
    downloads = environments.downloads
    eager_gets = sum(models.s3_gets[mt] for mt in models.eager)
    all_gets = sum(models.s3_gets.get(mt, 0) * n for mt, n in downloads.items())
    return StoreReads(
        loads=len(misses),
        bytes_loaded=sum(models.file_bytes[s.model_type] for s in misses),
        downloads=sum(downloads.values()),
        bytes_downloaded=environments.downloaded_bytes,
        # the requests' own GETs: the eager models' downloads at each cold start are per_cold_start
        s3_gets=max(0, all_gets - environments.started * eager_gets) if downloads else 0,
        per_cold_start=ColdStartReads(sum(models.file_bytes[mt] for mt in models.eager), eager_gets),
    )


def _request_downloads(models: FleetModels, environments: PhaseEnvironments) -> int:
    """The S3 downloads the requests made: those logged, less each cold start's eager models."""
    logged = sum(environments.downloads.values())
    return max(0, logged - environments.started * len(models.eager)) if logged else 0


def _load_and_forward(samples: Sequence[Sample], downloads: int = 0) -> dict[str, float | None]:
    """One model load and one forward (median inference of all answers): the p99 target's terms.

    A load is the median fetch + load of the misses. On a store that copies (S3), a load from the
    store is a download: the median is then of the misses that downloaded, the ``downloads``
    misses whose fetch took longest (a fetch from the /tmp copy is a few stat calls, a download
    of 80 MB tens of ms or more); the median over every miss is kept beside it.
    """
    misses = [s for s in samples if s.ok and not s.hit]
    forwards = [s.inference_ms for s in samples if s.ok]
    every_miss = median([s.fetch_ms + s.load_ms for s in misses]) if misses else None
    downloaded = sorted(misses, key=lambda s: s.fetch_ms)[-downloads:] if downloads > 0 else []
    load = median([s.fetch_ms + s.load_ms for s in downloaded]) if downloaded else every_miss
    forward = median(forwards) if forwards else None
    return {
        "load_ms": load,
        "miss_load_ms": every_miss,
        "load_counts_downloads": bool(downloaded),
        "forward_ms": forward,
        "p99_goal_ms": None if load is None or forward is None else load + forward + P99_SLACK_MS,
    }


def run_phase(
    target: Any,
    models: FleetModels,
    size: int,
    plan: FleetPlan,
    budget_mb: int,
    question: str,
    context: str,
    deadline: Any,
) -> FleetPhase:
    """Zipf traffic over the first ``size`` models of the fleet, from a cold start; its summary."""
    if size > len(models.model_types):
        raise ValueError(f"fleet size {size} is more than the {len(models.model_types)} models deployed")
    in_traffic = models.model_types[:size]
    sequence = zipf_sequence(in_traffic, plan.requests, plan.exponent, plan.seed)
    before = adapters.env_logs(target.function_name)
    adapters.reset_environments(target.function_name)
    samples, polls, seconds, stopped = _send(
        target.api_url, sequence, question, context, plan.concurrency, deadline
    )
    with ApiClient(target.api_url) as client:
        final = client.models()
    environments = _environments(target.function_name, before)
    sent = sequence[: len(samples)]  # all of it, unless the time budget ran out
    ok = [s for s in samples if s.ok]
    hits = sum(s.hit for s in ok)
    ideal = simulate_lru(sent, budget_mb * MIB, models.costs, initial=models.eager)
    ideal_in_models = simulate_lru(sent, plan.capacity_models, initial=models.eager[: plan.capacity_models])
    replayed = simulate_function_cache(sent, budget_mb * MIB, models.costs, initial=models.eager)
    latencies = [s.latency_ms for s in ok]
    statuses = Counter(s.status for s in samples)
    hit_rate = hits / len(ok) if ok else None
    out = FleetPhase(
        size=size,
        requests=len(samples),
        truncated=len(samples) < len(sequence),
        stopped=stopped,
        ok=len(ok),
        errors=len(samples) - len(ok),
        statuses={str(k): v for k, v in sorted(statuses.items())},
        seconds=seconds,
        hits=hits,
        misses=len(ok) - hits,
        hit_rate=hit_rate,
        ideal_lru=ideal,
        ideal_lru_in_models=ideal_in_models,
        hit_rate_gap_points=None if hit_rate is None else (ideal.hit_rate - hit_rate) * 100,
        function_policy=replayed,
        policy_gap_points=None if hit_rate is None else (replayed.hit_rate - hit_rate) * 100,
        loads_per_minute=(len(ok) - hits) / (seconds / 60) if seconds > 0 else None,
        latency_ms=Summary.of(latencies),
        hit_latency_ms=Summary.of([s.latency_ms for s in ok if s.hit]),
        miss_latency_ms=Summary.of([s.latency_ms for s in ok if not s.hit]),
        server_ms_mean=_mean([s.fetch_ms + s.load_ms + s.inference_ms for s in ok]),
        **_load_and_forward(samples, _request_downloads(models, environments)),
        memory=_memory(polls + ([read_poll(final.body)] if final.ok else [])),
        function_counters=function_counters(final.body) if final.ok else {},
        environments=environments,
        store_reads=_store_reads(models, samples, environments),
        distinct_models=len(set(sent)),
    )
    say(
        f"    fleet N={size}: hit rate {_pct(hit_rate)} (offline: LRU {_pct(ideal.hit_rate)}, "
        f"the function's policy {_pct(replayed.hit_rate)}), "
        f"p50 {_ms(out.latency_ms.p50)} / p99 {_ms(out.latency_ms.p99)} ms, "
        f"{out.misses} loads, {out.errors} errors, {seconds:.0f} s"
    )
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def bench_fleet(
    variant: str, plan: FleetPlan, deadline: Any, save: Callable[[FleetRun], None] | None = None
) -> FleetRun:
    """Deploy the fleet on ``variant`` with the budget for ``plan``, run each phase, destroy.
    ``save`` is called after each phase, so an interrupted run keeps the phases it finished."""
    from harness.models import build_bundle, default_bundle_dir, load_catalog

    run = FleetRun(variant=variant, catalog=CATALOG, plan=plan)
    if deadline.expired():
        run.skipped["deploy"] = "the benchmark's time budget was spent"
        return run
    question, context = adapters.example_request()
    started = time.monotonic()
    try:
        with fleet_size(plan.fleet_size):
            catalog = load_catalog(CATALOG)
            models = FleetModels.from_manifest(build_bundle(catalog, default_bundle_dir(catalog.name)))
            run.budget_mb = models.memory_budget_mb(plan.capacity_models)
            run.models = models.summary()
            say(
                f"==> fleet on {variant}: {len(models.model_types)} models ({models.engine}), memory budget "
                f"{run.budget_mb} MiB for about {plan.capacity_models} of them"
            )
            deployment = adapters.deploy(
                variant, CATALOG, variables={"model_memory_budget_mb": run.budget_mb}
            )
        target = _Target(deployment.api_url, deployment.function_name)
        config = adapters.function_configuration(target.function_name)
        run.function = FunctionInfo(
            memory_mb=int(config["memory_mb"]),
            ephemeral_storage_mb=int(config["ephemeral_storage_mb"]),
            architecture=str(config["architecture"]),
            image_bytes=int(getattr(deployment, "image_size_bytes", 0) or 0),
            deploy_s=time.monotonic() - started,
        )
        for size in sorted(set(plan.sizes)):
            if deadline.expired():
                run.skipped[str(size)] = "the benchmark's time budget was spent"
                continue
            try:
                run.phases[str(size)] = run_phase(
                    target, models, size, plan, run.budget_mb, question, context, deadline
                )
            except Exception as exc:
                run.errors[str(size)] = f"{type(exc).__name__}: {exc}"
            if save is not None:
                save(run)
    except adapters.UnavailableError as exc:
        run.skipped["deploy"] = str(exc)
    except Exception as exc:
        run.errors["deploy"] = f"{type(exc).__name__}: {exc}"
    finally:
        try:
            adapters.destroy(variant)
        except Exception as exc:
            run.errors["destroy"] = f"{type(exc).__name__}: {exc}"
    run.seconds = time.monotonic() - started
    return run


@dataclass(frozen=True)
class _Target:
    """What a phase needs of the deployment."""

    api_url: str
    function_name: str
