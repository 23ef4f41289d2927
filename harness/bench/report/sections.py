"""The detail sections of results.md: a renderer per scenario, each a table with a row per run.

``DETAILS`` lists them in report order as (heading, renderer); a new scenario adds its
renderer here (a function of ``BenchResults`` returning markdown) and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from harness.bench.records import TargetCheck
from harness.bench.report.cells import PERCENTILES, em_f1, fmt, or_dash, table
from harness.bench.results import BenchResults
from harness.bench.targets import image_goal, old_strategy_factors, verdict

BREAKDOWN_LABELS = {
    "container_start": "container start",
    "init_imports": "init: imports",
    "model_fetch": "model fetch",
    "model_load": "model load",
    "first_inference": "first inference",
    "other": "other (runtime, HTTP)",
}

Renderer = Callable[[BenchResults], str]


def targets_table(checks: Iterable[TargetCheck]) -> str:
    return table(
        ["target", "run", "goal", "measured", "verdict"],
        [[c.name, c.variant, c.target, c.value, verdict(c.met)] for c in checks],
    )


def cold_table(results: BenchResults) -> str:
    parts = list(BREAKDOWN_LABELS)
    rows = []
    for r in results.all_runs():
        cold = r.data.cold_start
        rows.append(
            [
                r.variant,
                r.engine,
                f"{cold.ok}/{cold.requested}",
                *(fmt(cold.median_ms.get(p), 0) for p in parts),
                fmt(cold.median_ms.get("total"), 0),
                fmt(cold.median_ms.get("model_fetch_raw"), 0),
            ]
        )
    return table(
        [
            "variant",
            "engine",
            "cold starts",
            *(BREAKDOWN_LABELS[p] for p in parts),
            "total",
            "fetch incl. overlap",
        ],
        rows,
    )


def warm_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        for mt, m in r.data.warm.models.items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    mt,
                    m.requests,
                    *(fmt(getattr(m.end_to_end_ms, p)) for p in PERCENTILES),
                    fmt(m.function_inference_ms.p50),
                    fmt(m.inprocess_forward_ms.p50),
                    fmt(m.inprocess_answer_ms.p50),
                    fmt(m.inprocess_threads, 0),
                    fmt(m.overhead_p50_ms),
                    fmt(m.outside_inference_p50_ms),
                ]
            )
    return table(
        [
            "variant",
            "engine",
            "model",
            "requests",
            "e2e p50",
            "e2e p95",
            "e2e p99",
            "function inference p50",
            "in-process forward p50",
            "in-process answer p50",
            "threads",
            "overhead p50",
            "e2e - function inference p50",
        ],
        rows,
    )


def switching_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        s = r.data.switching
        if not s:
            continue
        rows.append(
            [
                r.variant,
                r.engine,
                s.requests,
                s.cache_hits,
                s.reloads or 0,
                or_dash(s.reloads_from_logs),
                ", ".join(f"{mt} {fmt(m.latency_ms.p50)}" for mt, m in s.per_model.items()),
            ]
        )
    return table(
        [
            "variant",
            "engine",
            "requests",
            "cache hits",
            "reloads (timings)",
            "model loads in logs",
            "p50 latency (ms)",
        ],
        rows,
    )


def s3_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        s = r.data.s3
        if not s:
            continue
        eager = ", ".join(f"{mt} {fmt(e.median)}" for mt, e in s.eager_at_init_mb_s.items())
        rows.append(
            [
                r.variant,
                r.engine,
                s.model_type,
                fmt(s.model_bytes, 1, 1e-6),
                fmt(s.function_median_mb_s),
                fmt(s.raw_median_mb_s),
                fmt(s.function_to_raw, 2),
                eager or "-",
            ]
        )
    return table(
        [
            "variant",
            "engine",
            "model (on request)",
            "MB",
            "function MB/s",
            "raw boto3 GET MB/s",
            "ratio",
            "eager at init MB/s (overlaps imports)",
        ],
        rows,
    )


def concurrency_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        for level, c in r.data.concurrency.levels.items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    level,
                    fmt(c.scale_out.seconds),
                    c.environments_started,
                    c.requests,
                    fmt(c.throughput_rps),
                    fmt(c.latency_ms.p50, 0),
                    fmt(c.latency_ms.p95, 0),
                    (c.errors or 0) + (c.scale_out.errors or 0),
                    c.environments_used,
                    or_dash(c.containers_running_after),
                ]
            )
    return table(
        [
            "variant",
            "engine",
            "concurrency",
            "scale-out (s)",
            "environments started",
            "warm requests",
            "req/s",
            "p50 (ms)",
            "p95 (ms)",
            "errors",
            "environments used",
            "containers after",
        ],
        rows,
    )


def accuracy_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        for mt, a in r.data.accuracy.models.items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    mt,
                    a.questions,
                    em_f1(a.endpoint),
                    em_f1(a.inprocess),
                    a.differing_answers,
                    verdict(a.identical if a.identical is not None else a.differing_answers == 0),
                ]
            )
    return table(
        [
            "variant",
            "engine",
            "model",
            "questions",
            "endpoint EM / F1",
            "in-process EM / F1 (same engine)",
            "answers differing",
            "identical",
        ],
        rows,
    )


def inprocess_table(results: BenchResults) -> str:
    rows = []
    for catalog in results.catalog_names():
        for mt, a in (results.inprocess_accuracy.get(catalog) or {}).items():
            same = results.parity(catalog, mt)
            rows.append(
                [
                    results.catalog_label(catalog),
                    f"`{catalog}`",
                    mt,
                    a.count,
                    em_f1(a),
                    "-" if a.reference is None else em_f1(a.reference),
                    "-" if same is None else f"{same.exact_match_delta:+.2f} / {same.f1_delta:+.2f}",
                    "-" if same is None else f"{same.identical} ({same.identical_share * 100:.2f}%)",
                    fmt(a.seconds, 0),
                ]
            )
    against = {p.against for p in results.engine_parity.values() if p.against is not None}
    return table(
        [
            "engine",
            "catalog",
            "model",
            "questions",
            "EM / F1",
            "hf-cache README EM / F1",
            f"vs {', '.join(sorted(against)) or 'torch'}: EM / F1 difference",
            "answers identical",
            "seconds",
        ],
        rows,
    )


def image_table(results: BenchResults) -> str:
    rows = []
    for r in results.all_runs():
        image = r.data.image
        rows.append(
            [
                r.variant,
                r.engine,
                image.image_tag or "-",
                ", ".join(image.runtimes or sorted(results.catalog_runtimes(r.catalog))),
                fmt(image.image_bytes, 0, 1e-6),
                f"<= {image_goal(results, r) / 1e6:.0f}",
                fmt(image.cuda_torch_image_bytes, 2, 1e-9),
            ]
        )
    cuda = results.cuda_torch
    rendered = table(
        [
            "variant",
            "engine",
            "image",
            "runtimes",
            "size (MB)",
            "goal (MB)",
            "with default CUDA torch (GB, est.)",
        ],
        rows,
    )
    if cuda.installed_bytes:
        rendered += (
            f"\n\nDefault torch {cuda.torch_version} from PyPI with its CUDA libraries "
            f"({'?' if cuda.packages is None else cuda.packages} packages, "
            f"{fmt(cuda.wheel_bytes, 2, 1e-9)} GB of wheels): "
            f"{fmt(cuda.installed_bytes, 2, 1e-9)} GB installed, "
            f"{fmt(cuda.image_bytes, 2, 1e-9)} GB after the image's trimming; the CPU build we "
            f"install: {fmt(cuda.cpu_torch_installed_bytes, 2, 1e-9)} GB, "
            f"{fmt(cuda.cpu_torch_image_bytes, 2, 1e-9)} GB trimmed. Estimate = image - CPU torch "
            "+ CUDA torch and its CUDA-only packages, both trimmed (images with torch only)."
        )
    return rendered


def old_strategy_table(results: BenchResults) -> str:
    old = results.old_strategy
    rows = []
    for mt, m in old.models.items():
        factors = [f"{r.label} {fmt(old_strategy_factors(results, r).get(mt))}x" for r in results.all_runs()]
        rows.append(
            [
                mt,
                fmt(m.total_ms.p50, 0),
                fmt(m.load_ms.p50, 0),
                fmt(m.inference_ms.p50, 0),
                ", ".join(factors) or "-",
            ]
        )
    rendered = table(
        ["model", "per request p50 (ms)", "load p50 (ms)", "inference p50 (ms)", "slower than our warm p50"],
        rows,
    )
    return (
        f"Model files: {old.files or '-'} (torch weights, as the sample loaded them); "
        f"{or_dash(old.repeats)} invocations per model.\n\n{rendered}"
    )


DETAILS: tuple[tuple[str, Renderer], ...] = (
    ("Cold start breakdown (median ms)", cold_table),
    ("Warm latency (ms)", warm_table),
    ("Model switching", switching_table),
    ("S3 download throughput", s3_table),
    ("Concurrency", concurrency_table),
    ("Accuracy through the endpoint (SQuAD v1.1 dev, official normalisation)", accuracy_table),
    ("Accuracy in-process, per engine", inprocess_table),
    ("Image size", image_table),
    ("The old sample's strategy (load the model in every invocation)", old_strategy_table),
)
