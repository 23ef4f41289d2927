"""The benchmark's results as one typed record, ``BenchResults``, and the matrix of runs in it.

``runs`` is keyed ``"<variant>/<catalog>"``; each run names its ``variant``, ``catalog`` and
``engine`` (the catalog's engine: ``torch``, ``onnx``, ``onnx-int8``, or ``a+b`` for a catalog
that mixes engines). ``catalogs[<catalog>]`` describes each catalog (engines per model, runtimes,
bundle). Report, targets and plots read the matrix through ``BenchResults.runs`` and ``Run``.
``results.json`` is ``BenchResults.to_json()``; ``load`` reads it back (schema 1 files too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench.fleet_records import FleetPlan, FleetRun
from harness.bench.jsonrecord import Record, optional
from harness.bench.records import TORCH, CatalogInfo, OldStrategy, Parity, Reference, RunRecord, TargetCheck
from harness.bench.squad import Score

SCHEMA = 2


def run_key(variant: str, catalog: str) -> str:
    return f"{variant}/{catalog}"


@dataclass
class Machine(Record):
    """nproc, memory, CPU model and the software that did the measuring (``report.machine``)."""

    nproc: int | None = None
    cpu_count: int | None = optional()
    cpu_model: str = "unknown"
    memory_bytes: int | None = None
    os: str = ""
    python: str = "?"
    loadavg_1m_at_start: float | None = optional()
    torch: str | None = optional()
    onnxruntime: str | None = optional()
    torch_threads: int | None = optional()


@dataclass
class Settings(Record):
    variants: list[str] = field(default_factory=list)
    catalogs: list[str] = field(default_factory=list)
    model_types: list[str] = field(default_factory=list)
    questions: int | None = None
    inprocess_questions: int | None = optional()
    warm_requests: int | None = None
    cold_starts: int | None = None
    concurrency_levels: list[int] = optional(factory=list)
    switch_rounds: int | None = optional()
    s3_repeats: int | None = optional()
    old_strategy_repeats: int | None = optional()
    percentiles: str | None = optional()
    qa_backend: str | None = optional()
    time_budget_s: float | None = optional()
    inprocess_model_load_ms: dict[str, dict[str, float]] = optional(factory=dict)
    catalog: str | None = optional()  # schema 1: the one catalog
    fleet: FleetPlan | None = optional()


@dataclass
class CudaTorch(Record):
    """What PyPI's default (CUDA) torch weighs (``torchsize``), or why it is not known."""

    torch_version: str | None = optional()
    torch_wheel: str | None = optional()
    wheel_bytes: int | None = optional()
    installed_bytes: int | None = optional()
    image_bytes: int | None = optional()
    packages: int | None = optional()
    cpu_torch_installed_bytes: int | None = optional()
    cpu_torch_image_bytes: int | None = optional()
    fetched_at: str | None = optional()
    cache: str | None = optional()
    error: str | None = optional()


@dataclass
class InprocessScore(Record):
    """One model's in-process EM/F1 on its catalog's engine (and, for torch, the README's)."""

    exact_match: float = 0.0
    f1: float = 0.0
    count: int | None = None
    engine: str = TORCH
    seconds: float | None = optional()
    reference: Reference | None = None
    matches_reference: bool | None = None

    @property
    def score(self) -> Score:
        return Score(self.exact_match, self.f1, self.count or 0)


@dataclass
class EngineParity(Record):
    """A catalog's in-process answers against the torch catalog's, model by model."""

    against: str | None = None
    models: dict[str, Parity] = field(default_factory=dict)


@dataclass(frozen=True)
class Run:
    """One deployed combination: a variant serving a catalog (whose models run on ``engine``)."""

    variant: str
    catalog: str
    engine: str
    label: str  # what tables and plots call it: "oci · onnx-int8"
    data: RunRecord = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        return run_key(self.variant, self.catalog)


@dataclass
class BenchResults(Record):
    schema: int = SCHEMA
    started_at: str = "?"
    machine: Machine = field(default_factory=Machine)
    settings: Settings = field(default_factory=Settings)
    catalogs: dict[str, CatalogInfo] = optional(factory=dict)
    runs: dict[str, RunRecord] = field(default_factory=dict)
    cuda_torch: CudaTorch = optional(factory=CudaTorch)
    inprocess_accuracy: dict[str, dict[str, InprocessScore]] = optional(factory=dict)
    engine_parity: dict[str, EngineParity] = optional(factory=dict)
    old_strategy: OldStrategy = optional(factory=OldStrategy)
    finished_at: str | None = optional()
    duration_s: float | None = optional()
    targets: list[TargetCheck] = optional(factory=list)
    fleet: dict[str, FleetRun] = optional(factory=dict)  # variant -> its fleet scenario

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BenchResults:
        return super().from_json(upgrade(data))

    @classmethod
    def load(cls, path: Path) -> BenchResults:
        return cls.from_json(json.loads(path.read_text()))

    # --- the matrix ----------------------------------------------------------------------------

    def catalog_names(self) -> list[str]:
        """The catalogs of the run, in the order they were benchmarked."""
        named = list(self.settings.catalogs)
        for entry in self.runs.values():
            if entry.catalog and entry.catalog not in named:
                named.append(entry.catalog)
        for catalog in self.catalogs:
            if catalog not in named:
                named.append(catalog)
        return named

    def catalog_engine(self, catalog: str) -> str:
        info = self.catalogs.get(catalog)
        if info and info.engine:
            return info.engine
        for entry in self.runs.values():
            if entry.catalog == catalog and entry.engine:
                return entry.engine
        return TORCH

    def catalog_label(self, catalog: str) -> str:
        """The catalog's engine, or engine and catalog when two catalogs of the run share an engine."""
        engine = self.catalog_engine(catalog)
        same = [c for c in self.catalog_names() if self.catalog_engine(c) == engine]
        return engine if len(same) <= 1 else f"{engine} ({catalog})"

    def catalog_for_engine(self, engine: str) -> str | None:
        """The first catalog of the run whose models all run on ``engine``."""
        return next((c for c in self.catalog_names() if self.catalog_engine(c) == engine), None)

    def catalog_runtimes(self, catalog: str) -> set[str]:
        info = self.catalogs.get(catalog)
        if info is not None and info.runtimes is not None:
            return set(info.runtimes)
        engine = self.catalog_engine(catalog)
        return {"onnxruntime" if e.startswith("onnx") else e for e in engine.split("+")}

    def model_types(self, catalog: str | None = None) -> list[str]:
        """The catalog's models (all of the run's without one)."""
        info = self.catalogs.get(catalog) if catalog else None
        if info and info.engines:
            return sorted(info.engines)
        return list(self.settings.model_types or ["nlp1", "nlp2"])

    def inprocess_score(self, catalog: str, model_type: str) -> InprocessScore | None:
        return (self.inprocess_accuracy.get(catalog) or {}).get(model_type)

    def parity(self, catalog: str, model_type: str) -> Parity | None:
        """The catalog's answers against the torch catalog's, for one model (None: not compared)."""
        entry = self.engine_parity.get(catalog)
        return None if entry is None else entry.models.get(model_type)

    def levels(self) -> list[int]:
        return list(self.settings.concurrency_levels or [1, 2, 4, 8])

    def all_runs(self, catalog: str | None = None, variant: str | None = None) -> list[Run]:
        """The runs, in run order, optionally of one catalog or one variant."""
        out = []
        for entry in self.runs.values():
            if catalog is not None and entry.catalog != catalog:
                continue
            if variant is not None and entry.variant != variant:
                continue
            label = f"{entry.variant} · {self.catalog_label(entry.catalog)}"
            out.append(Run(entry.variant, entry.catalog, self.catalog_engine(entry.catalog), label, entry))
        return out

    def run_of(self, variant: str, catalog: str) -> Run | None:
        return next(iter(self.all_runs(catalog=catalog, variant=variant)), None)

    def variants(self) -> list[str]:
        seen: list[str] = []
        for run in self.all_runs():
            if run.variant not in seen:
                seen.append(run.variant)
        return seen

    def find(self, variant: str, engine: str) -> Run | None:
        """The run of ``variant`` with the first catalog on ``engine``."""
        catalog = self.catalog_for_engine(engine)
        return None if catalog is None else self.run_of(variant, catalog)


def upgrade(results: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 results dict (one catalog, ``variants.<name>``) in the schema-2 layout."""
    if results.get("schema", 1) >= SCHEMA or "variants" not in results:
        return results
    settings = dict(results.get("settings") or {})
    catalog = settings.get("catalog") or "offline"
    settings["catalogs"] = [catalog]
    upgraded = {k: v for k, v in results.items() if k != "variants"}
    upgraded.update(
        schema=SCHEMA,
        settings=settings,
        catalogs={catalog: {"engine": TORCH, "runtimes": [TORCH]}},
        runs={
            run_key(v, catalog): {**entry, "variant": v, "catalog": catalog, "engine": TORCH}
            for v, entry in results["variants"].items()
        },
        inprocess_accuracy={catalog: results.get("inprocess_accuracy") or {}},
    )
    upgraded.pop("targets", None)  # evaluated again, per run
    return upgraded
