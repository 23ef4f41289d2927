"""The detail sections of results.md: a renderer per scenario, each a table with a row per run.

``DETAILS`` lists them in report order as (heading, renderer); a new scenario adds its
renderer here (a function of ``BenchResults`` returning markdown) and nothing else changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness.bench.records import AccuracyModel, Parity, Switching, TargetCheck
from harness.bench.report.cells import PERCENTILES, em_f1, fmt, or_dash, table
from harness.bench.results import BenchResults, Run
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
Columns = tuple[tuple[str, Callable[..., Any]], ...]  # (header, cell of a row's values)
Row = tuple[Any, ...]


def targets_table(checks: Iterable[TargetCheck]) -> str:
    return table(
        ["target", "run", "goal", "measured", "verdict"],
        [[c.name, c.variant, c.target, c.value, verdict(c.met)] for c in checks],
    )


def _rows_table(columns: Columns, rows: Iterable[Row]) -> str:
    """A table whose cells are the columns' functions of each row's values."""
    return table([header for header, _ in columns], [[cell(*row) for _, cell in columns] for row in rows])


def _per_run(results: BenchResults, columns: Columns, items: Callable[[Run], Iterable[Row]]) -> str:
    """A table with a row per run and item of it: the cells get the run, then the item's values."""
    return _rows_table(columns, ((r, *item) for r in results.all_runs() for item in items(r)))


def _if_measured(record: Any) -> list[tuple[Any]]:
    """One row for a scenario that ran, none for one that did not."""
    return [(record,)] if record else []


def _per_model_p50(switching: Switching) -> str:
    return ", ".join(f"{mt} {fmt(m.latency_ms.p50)}" for mt, m in switching.per_model.items())


def _identical(accuracy: AccuracyModel) -> bool | None:
    return accuracy.identical if accuracy.identical is not None else accuracy.differing_answers == 0


# the first two columns of every per-run table; the cells get (run, *item)
RUN_COLUMNS: Columns = (("variant", lambda r, *_: r.variant), ("engine", lambda r, *_: r.engine))

COLD_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("cold starts", lambda r, c: f"{c.ok}/{c.requested}"),
    *((label, lambda r, c, p=part: fmt(c.median_ms.get(p), 0)) for part, label in BREAKDOWN_LABELS.items()),
    ("total", lambda r, c: fmt(c.median_ms.get("total"), 0)),
    ("fetch incl. overlap", lambda r, c: fmt(c.median_ms.get("model_fetch_raw"), 0)),
)

WARM_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("model", lambda r, mt, m: mt),
    ("requests", lambda r, mt, m: m.requests),
    *((f"e2e {p}", lambda r, mt, m, p=p: fmt(getattr(m.end_to_end_ms, p))) for p in PERCENTILES),
    ("function inference p50", lambda r, mt, m: fmt(m.function_inference_ms.p50)),
    ("in-process forward p50", lambda r, mt, m: fmt(m.inprocess_forward_ms.p50)),
    ("in-process answer p50", lambda r, mt, m: fmt(m.inprocess_answer_ms.p50)),
    ("threads", lambda r, mt, m: fmt(m.inprocess_threads, 0)),
    ("overhead p50", lambda r, mt, m: fmt(m.overhead_p50_ms)),
    ("e2e - function inference p50", lambda r, mt, m: fmt(m.outside_inference_p50_ms)),
)

SWITCHING_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("requests", lambda r, s: s.requests),
    ("cache hits", lambda r, s: s.cache_hits),
    ("reloads (timings)", lambda r, s: s.reloads or 0),
    ("model loads in logs", lambda r, s: or_dash(s.reloads_from_logs)),
    ("p50 latency (ms)", lambda r, s: _per_model_p50(s)),
)

S3_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("model (on request)", lambda r, s: s.model_type),
    ("MB", lambda r, s: fmt(s.model_bytes, 1, 1e-6)),
    ("function MB/s", lambda r, s: fmt(s.function_median_mb_s)),
    ("raw boto3 GET MB/s", lambda r, s: fmt(s.raw_median_mb_s)),
    ("ratio", lambda r, s: fmt(s.function_to_raw, 2)),
    (
        "eager at init MB/s (overlaps imports)",
        lambda r, s: ", ".join(f"{mt} {fmt(e.median)}" for mt, e in s.eager_at_init_mb_s.items()) or "-",
    ),
)

CONCURRENCY_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("concurrency", lambda r, level, c: level),
    ("scale-out (s)", lambda r, level, c: fmt(c.scale_out.seconds)),
    ("environments started", lambda r, level, c: c.environments_started),
    ("warm requests", lambda r, level, c: c.requests),
    ("req/s", lambda r, level, c: fmt(c.throughput_rps)),
    ("p50 (ms)", lambda r, level, c: fmt(c.latency_ms.p50, 0)),
    ("p95 (ms)", lambda r, level, c: fmt(c.latency_ms.p95, 0)),
    ("errors", lambda r, level, c: (c.errors or 0) + (c.scale_out.errors or 0)),
    ("environments used", lambda r, level, c: c.environments_used),
    ("containers after", lambda r, level, c: or_dash(c.containers_running_after)),
)

ACCURACY_COLUMNS: Columns = (
    *RUN_COLUMNS,
    ("model", lambda r, mt, a: mt),
    ("questions", lambda r, mt, a: a.questions),
    ("endpoint EM / F1", lambda r, mt, a: em_f1(a.endpoint)),
    ("in-process EM / F1 (same engine)", lambda r, mt, a: em_f1(a.inprocess)),
    ("answers differing", lambda r, mt, a: a.differing_answers),
    ("identical", lambda r, mt, a: verdict(_identical(a))),
)


def cold_table(results: BenchResults) -> str:
    return _per_run(results, COLD_COLUMNS, lambda r: [(r.data.cold_start,)])


def warm_table(results: BenchResults) -> str:
    return _per_run(results, WARM_COLUMNS, lambda r: r.data.warm.models.items())


def switching_table(results: BenchResults) -> str:
    return _per_run(results, SWITCHING_COLUMNS, lambda r: _if_measured(r.data.switching))


def s3_table(results: BenchResults) -> str:
    return _per_run(results, S3_COLUMNS, lambda r: _if_measured(r.data.s3))


def concurrency_table(results: BenchResults) -> str:
    return _per_run(results, CONCURRENCY_COLUMNS, lambda r: r.data.concurrency.levels.items())


def accuracy_table(results: BenchResults) -> str:
    return _per_run(results, ACCURACY_COLUMNS, lambda r: r.data.accuracy.models.items())


def inprocess_table(results: BenchResults) -> str:
    against = {p.against for p in results.engine_parity.values() if p.against is not None}

    def parity(catalog: str, mt: str, formatted: Callable[[Parity], str]) -> str:
        same = results.parity(catalog, mt)
        return "-" if same is None else formatted(same)

    columns: Columns = (
        ("engine", lambda c, mt, a: results.catalog_label(c)),
        ("catalog", lambda c, mt, a: f"`{c}`"),
        ("model", lambda c, mt, a: mt),
        ("questions", lambda c, mt, a: a.count),
        ("EM / F1", lambda c, mt, a: em_f1(a)),
        ("hf-cache README EM / F1", lambda c, mt, a: "-" if a.reference is None else em_f1(a.reference)),
        (
            f"vs {', '.join(sorted(against)) or 'torch'}: EM / F1 difference",
            lambda c, mt, a: parity(c, mt, lambda p: f"{p.exact_match_delta:+.2f} / {p.f1_delta:+.2f}"),
        ),
        (
            "answers identical",
            lambda c, mt, a: parity(c, mt, lambda p: f"{p.identical} ({p.identical_share * 100:.2f}%)"),
        ),
        ("seconds", lambda c, mt, a: fmt(a.seconds, 0)),
    )
    rows = [
        (catalog, mt, a)
        for catalog in results.catalog_names()
        for mt, a in (results.inprocess_accuracy.get(catalog) or {}).items()
    ]
    return _rows_table(columns, rows)


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
