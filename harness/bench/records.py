"""What each scenario measured, as typed records (``scenarios.py`` fills them; report, targets read them).

One record type per scenario, and ``RunRecord`` with a field per scenario for one run (a variant
serving a catalog). A new scenario adds its record here (or in its own module), a field on
``RunRecord`` made with ``optional()`` (so a run without it writes nothing for it), and its
section renderer in ``report/``. The JSON of each record is the layout of ``results.json``
described in ``bench/README.md``; field order is key order.

Every field has a default, so a skipped scenario or a missing figure reads as an empty record
or ``None`` (the report prints "-", the targets say "not measured"), never as an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from harness.bench.jsonrecord import Record, optional
from harness.bench.squad import Score
from harness.bench.stats import summarize

TORCH = "torch"
ONNX = "onnx"
INT8 = "onnx-int8"
ENGINE_ORDER = (TORCH, ONNX, INT8)
VARIANT_ORDER = ("s3", "efs", "oci")


@dataclass
class Summary(Record):
    """``stats.summarize`` of a series: only ``n`` (0) for an empty one."""

    n: int | None = optional()
    min: float | None = optional()
    median: float | None = optional()
    p50: float | None = optional()
    p95: float | None = optional()
    p99: float | None = optional()
    max: float | None = optional()
    mean: float | None = optional()

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        return cls.from_json(summarize(values))


@dataclass
class Reference(Record):
    """Published EM/F1 (../shared/hf-cache/README.md) for a model and question count."""

    exact_match: float = 0.0
    f1: float = 0.0


@dataclass
class CatalogInfo(Record):
    """A catalog as benchmarked: its engine, the engine per model, runtimes, and its bundle."""

    engine: str = ""
    engines: dict[str, str] = optional(factory=dict)
    runtimes: list[str] | None = optional()
    bundle: str | None = optional()
    folders: dict[str, str] = optional(factory=dict)


@dataclass(frozen=True)
class Parity(Record):
    """One engine's in-process answers against a baseline engine's, on the same questions."""

    engine: str = ""
    against: str = ""
    count: int = 0
    identical: int = 0
    identical_share: float = 0.0
    identical_after_normalisation: int = 0
    exact_match_delta: float = 0.0  # this engine minus the baseline, points
    f1_delta: float = 0.0
    differing_ids: tuple[str, ...] = ()


# --- cold start --------------------------------------------------------------------------------


@dataclass
class ColdSample(Record):
    """One cold request: a fresh environment's first answer, broken down from its logs."""

    status: int = 0
    error: str = ""
    cold: bool = False
    env_id: str | None = None
    environments_stopped: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    init_ms: dict[str, float] = field(default_factory=dict)
    eager: dict[str, Any] = field(default_factory=dict)
    threads: int | None = None
    breakdown_ms: dict[str, float | None] = field(default_factory=dict)


@dataclass
class ColdStart(Record):
    model_type: str = ""
    requested: int = 0
    count: int = 0
    ok: int = 0
    truncated: bool = False
    median_ms: dict[str, float | None] = field(default_factory=dict)  # per breakdown part, and "total"
    total_ms: Summary = field(default_factory=Summary)
    function_threads: int | None = None
    samples: list[ColdSample] = field(default_factory=list)

    @property
    def median_total_ms(self) -> float | None:
        return self.median_ms.get("total")


# --- warm latency ------------------------------------------------------------------------------


@dataclass
class WarmModel(Record):
    requests: int = 0
    errors: int = 0
    truncated: bool = False
    engine: str = ""
    served_engines: dict[str, int] = field(default_factory=dict)  # what the function says answered
    end_to_end_ms: Summary = field(default_factory=Summary)
    function_inference_ms: Summary = field(default_factory=Summary)
    inprocess_forward_ms: Summary = field(default_factory=Summary)
    inprocess_answer_ms: Summary = field(default_factory=Summary)
    inprocess_threads: int | None = None
    windows: int | None = None
    overhead_p50_ms: float | None = None  # end to end minus the bare forward, both p50
    tokenize_decode_p50_ms: float | None = None
    outside_inference_p50_ms: float | None = None
    samples_ms: dict[str, list[float]] = field(default_factory=dict)


@dataclass
class Warm(Record):
    models: dict[str, WarmModel] = field(default_factory=dict)
    threads: int | None = None
    truncated: bool = False

    def model(self, model_type: str) -> WarmModel:
        """The model's figures, empty when it was not measured."""
        return self.models.get(model_type) or WarmModel()


# --- model switching ---------------------------------------------------------------------------


@dataclass
class SwitchSample(Record):
    model_type: str = ""
    status: int = 0
    latency_ms: float = 0.0
    reload: bool = False
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class SwitchModel(Record):
    requests: int = 0
    reloads: int = 0
    latency_ms: Summary = field(default_factory=Summary)


@dataclass
class Switching(Record):
    rounds: int = 0
    requests: int = 0
    errors: int = 0
    reloads: int | None = None
    cache_hits: int = 0
    reloads_from_logs: int | None = None
    cache_misses_from_logs: int | None = None
    loaded_on_first_request: dict[str, bool] = field(default_factory=dict)
    models_before: dict[str, Any] = field(default_factory=dict)  # GET /models, as the function said it
    models_after: dict[str, Any] = field(default_factory=dict)
    per_model: dict[str, SwitchModel] = field(default_factory=dict)
    truncated: bool = False
    sequence: list[SwitchSample] = field(default_factory=list)


# --- S3 download throughput --------------------------------------------------------------------


@dataclass
class S3Throughput(Record):
    bucket: str = ""
    model_type: str = ""
    model_bytes: int | None = None
    files: int = 0
    raw_get_mb_s: Summary = field(default_factory=Summary)
    function_mb_s: Summary = field(default_factory=Summary)
    eager_at_init_mb_s: dict[str, Summary] = field(default_factory=dict)
    raw_median_mb_s: float | None = None
    function_median_mb_s: float | None = None
    function_to_raw: float | None = None
    repeats: int = 0
    truncated: bool = False


# --- concurrency -------------------------------------------------------------------------------


@dataclass
class ScaleOut(Record):
    """The first bursts of a level: they start the environments it needs (cold starts)."""

    requests: int = 0
    errors: int | None = None
    seconds: float | None = None
    latency_ms: Summary = field(default_factory=Summary)
    environments_running: int | None = None


@dataclass
class ConcurrencyLevel(Record):
    concurrency: int = 0
    scale_out: ScaleOut = field(default_factory=ScaleOut)
    requests: int | None = None
    errors: int | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: float | None = None
    throughput_rps: float | None = None
    latency_ms: Summary = field(default_factory=Summary)
    environments_started: int | None = None
    environments_used: int | None = None
    containers_running_after: int | None = None


@dataclass
class Concurrency(Record):
    model_type: str = ""
    levels: dict[str, ConcurrencyLevel] = field(default_factory=dict)  # keyed by str(level)
    truncated: bool = False

    def level(self, level: int | str) -> ConcurrencyLevel:
        """The level's figures, empty when it was not measured."""
        return self.levels.get(str(level)) or ConcurrencyLevel()


# --- accuracy through the endpoint -------------------------------------------------------------


@dataclass
class AccuracyModel(Record):
    questions: int | None = None
    errors: int = 0
    endpoint: Score | None = None
    inprocess: Score | None = None
    reference: Reference | None = None
    agree: bool | None = None
    identical: bool | None = None
    matches_reference: bool | None = None
    differing_answers: int | None = None
    differing_after_normalisation: int | None = None
    differing_ids: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def all_identical(self) -> bool:
        """``identical``, or for files written before it: no differing answer among some questions."""
        if self.identical is not None:
            return self.identical
        return self.differing_answers == 0 and bool(self.questions)


@dataclass
class Accuracy(Record):
    models: dict[str, AccuracyModel] = field(default_factory=dict)
    tolerance_points: float | None = None

    def model(self, model_type: str) -> AccuracyModel:
        """The model's figures, empty when it was not measured."""
        return self.models.get(model_type) or AccuracyModel()


# --- image size --------------------------------------------------------------------------------


@dataclass
class Image(Record):
    image_tag: str = ""
    image_bytes: int | None = None
    runtimes: list[str] = field(default_factory=list)
    cuda_torch_image_bytes: int | None = optional()  # images with torch: with PyPI's CUDA torch


# --- the old sample's strategy -----------------------------------------------------------------


@dataclass
class OldStrategyModel(Record):
    folder: str = ""
    answer: str = ""
    total_ms: Summary = field(default_factory=Summary)
    load_ms: Summary = field(default_factory=Summary)
    inference_ms: Summary = field(default_factory=Summary)


@dataclass
class OldStrategy(Record):
    files: str = ""
    repeats: int | None = None
    models: dict[str, OldStrategyModel] = field(default_factory=dict)
    catalog: str = optional("")  # the torch catalog whose files it loaded


# --- one run -----------------------------------------------------------------------------------


@dataclass
class RunRecord(Record):
    """One run: a variant serving a catalog, deployed, measured by every scenario, destroyed."""

    variant: str = ""
    catalog: str = ""
    engine: str = ""
    skipped: dict[str, str] = field(default_factory=dict)  # scenario -> why it did not run
    errors: dict[str, str] = field(default_factory=dict)  # scenario (or deploy/destroy) -> the error
    deploy_s: float | None = optional()
    function_name: str = optional("")
    api_url: str = optional("")
    image: Image = optional(factory=Image)
    cold_start: ColdStart = optional(factory=ColdStart)
    warm: Warm = optional(factory=Warm)
    switching: Switching = optional(factory=Switching)
    s3: S3Throughput = optional(factory=S3Throughput)
    concurrency: Concurrency = optional(factory=Concurrency)
    accuracy: Accuracy = optional(factory=Accuracy)
    seconds: float | None = optional()


# --- checks against the issues' targets --------------------------------------------------------


@dataclass(frozen=True)
class TargetCheck(Record):
    name: str = ""
    variant: str = ""  # the run it is about ("oci · onnx-int8"), a variant, "in-process" or "engines"
    target: str = ""
    value: str = ""
    met: bool | None = None  # None: not measured
    catalog: str = ""
    engine: str = ""
