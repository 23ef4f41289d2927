"""The summary tables: one per catalog (engine) with the variants as columns, and the engines side
by side (a column per engine, the variants in each cell). The README shows these."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness.bench.records import TORCH, Summary
from harness.bench.report.cells import PERCENTILES, em_f1, fmt, joined, median_of, table
from harness.bench.results import BenchResults, Run
from harness.bench.targets import old_strategy_factors

RunValue = Callable[[Run], Any]


def _percentiles(summary: Summary) -> str:
    return " / ".join(fmt(getattr(summary, p)) for p in PERCENTILES)


def summary_table(results: BenchResults, catalog: str | None = None) -> str:
    """One catalog's runs (variants as columns); the first catalog of the run by default."""
    if catalog is None:
        catalog = next(iter(results.catalog_names()), None)
    runs = results.all_runs(catalog=catalog)
    models = results.model_types(catalog)
    rows: list[list[str]] = []

    def row(label: str, values: Iterable[str]) -> None:
        rows.append([label, *values])

    def per_run(value: RunValue, digits: int = 1, scale: float = 1.0) -> list[str]:
        return [fmt(value(r), digits, scale) for r in runs]

    row("cold start, median (s)", per_run(lambda r: r.data.cold_start.median_total_ms, 2, 0.001))
    for mt in models:
        row(
            f"warm p50 / p95 / p99, {mt} (ms)",
            [_percentiles(r.data.warm.model(mt).end_to_end_ms) for r in runs],
        )
    for mt in models:
        row(
            f"function inference p50, {mt} (ms)",
            per_run(lambda r, mt=mt: r.data.warm.model(mt).function_inference_ms.p50),
        )
    for mt in models:
        row(
            f"in-process forward p50, {mt} (ms)",
            per_run(lambda r, mt=mt: r.data.warm.model(mt).inprocess_forward_ms.p50),
        )
    for mt in models:
        row(f"overhead p50, {mt} (ms)", per_run(lambda r, mt=mt: r.data.warm.model(mt).overhead_p50_ms))
    row("reloads when switching", per_run(lambda r: r.data.switching.reloads, digits=0))
    levels = results.levels()
    last = levels[-1]
    row(
        f"warm throughput at concurrency {'/'.join(map(str, levels))} (req/s)",
        [" / ".join(fmt(r.data.concurrency.level(lv).throughput_rps) for lv in levels) for r in runs],
    )
    row(
        f"warm p95 at concurrency {last} (ms)",
        per_run(lambda r: r.data.concurrency.level(last).latency_ms.p95, digits=0),
    )
    row(
        f"scale-out to {last} concurrent requests (s)",
        per_run(lambda r: r.data.concurrency.level(last).scale_out.seconds),
    )
    row(
        "S3 download vs raw GET (MB/s)",
        [
            f"{fmt(r.data.s3.function_median_mb_s)} vs {fmt(r.data.s3.raw_median_mb_s)}" if r.data.s3 else "-"
            for r in runs
        ],
    )
    for mt in models:
        row(f"EM / F1 {mt}, endpoint", [em_f1(r.data.accuracy.model(mt).endpoint) for r in runs])
    row(
        f"answers differing from in-process, {' / '.join(models)}",
        [joined(fmt(r.data.accuracy.model(mt).differing_answers, 0) for mt in models) for r in runs],
    )
    row("image (MB)", per_run(lambda r: r.data.image.image_bytes, digits=0, scale=1e-6))
    if TORCH in results.catalog_runtimes(catalog or ""):
        row(
            "image with default CUDA torch (GB, est.)",
            per_run(lambda r: r.data.image.cuda_torch_image_bytes, digits=2, scale=1e-9),
        )
    if results.old_strategy and results.catalog_engine(catalog or "") == TORCH:
        row(
            f"old sample's strategy / warm p50, {models[0]} (x)",
            [fmt(old_strategy_factors(results, r).get(models[0])) for r in runs],
        )
    return table(["", *(r.variant for r in runs)], rows)


def _catalog_heading(results: BenchResults, catalog: str) -> str:
    return f"**Engine {results.catalog_label(catalog)}** (catalog `{catalog}`)"


def summary_tables(results: BenchResults) -> str:
    """One summary table per catalog (engine), each headed by its engine and catalog."""
    parts = []
    for catalog in results.catalog_names():
        if results.all_runs(catalog=catalog):
            parts += [_catalog_heading(results, catalog), summary_table(results, catalog)]
    return "\n\n".join(parts) if parts else summary_table(results)


def several_engines(results: BenchResults) -> bool:
    return len(results.catalog_names()) > 1


def _speedup(ours: Run | None, theirs: Run | None, model_type: str) -> str:
    """torch's function inference p50 over ours, same variant and model."""
    a = ours.data.warm.model(model_type).function_inference_ms.p50 if ours else None
    b = theirs.data.warm.model(model_type).function_inference_ms.p50 if theirs else None
    return fmt(b / a, 2) if a and b else "-"


def engines_table(results: BenchResults) -> str:
    """The engines side by side (columns); a cell lists the variants in run order (s3 / efs / oci)."""
    catalogs = results.catalog_names()
    if not catalogs:
        return ""
    variants = results.variants()
    models = results.model_types()
    torch_catalog = results.catalog_for_engine(TORCH)
    by_variant = " / ".join(variants)
    rows: list[list[str]] = []

    def per_variant(catalog: str, value: RunValue, digits: int = 1, scale: float = 1.0) -> str:
        cells = []
        for variant in variants:
            run = results.run_of(variant, catalog)
            cells.append(fmt(value(run), digits, scale) if run else "-")
        return joined(cells)

    for mt in models:
        forward = [
            median_of(r.data.warm.model(mt).inprocess_forward_ms.p50 for r in results.all_runs(catalog=c))
            for c in catalogs
        ]
        rows.append([f"in-process forward p50, {mt} (ms, median of the runs)", *map(fmt, forward)])
    for mt in models:
        rows.append(
            [
                f"function inference p50, {mt}, {by_variant} (ms)",
                *(
                    per_variant(c, lambda r, mt=mt: r.data.warm.model(mt).function_inference_ms.p50)
                    for c in catalogs
                ),
            ]
        )
    if torch_catalog and len(catalogs) > 1:
        for mt in models:
            cells = [
                joined(_speedup(results.run_of(v, c), results.run_of(v, torch_catalog), mt) for v in variants)
                for c in catalogs
            ]
            rows.append([f"inference speed-up vs torch, {mt}, {by_variant} (x)", *cells])
    rows.append(
        [
            f"cold start median, {by_variant} (s)",
            *(per_variant(c, lambda r: r.data.cold_start.median_total_ms, 2, 0.001) for c in catalogs),
        ]
    )
    for mt in models:
        rows.append(
            [
                f"warm p50, {mt}, {by_variant} (ms)",
                *(per_variant(c, lambda r, mt=mt: r.data.warm.model(mt).end_to_end_ms.p50) for c in catalogs),
            ]
        )
    last = results.levels()[-1]
    rows.append(
        [
            f"warm throughput at concurrency {last}, {by_variant} (req/s)",
            *(per_variant(c, lambda r: r.data.concurrency.level(last).throughput_rps) for c in catalogs),
        ]
    )
    rows.append(
        [
            f"image, {by_variant} (MB)",
            *(per_variant(c, lambda r: r.data.image.image_bytes, 0, 1e-6) for c in catalogs),
        ]
    )
    for mt in models:
        rows.append([f"in-process EM / F1, {mt}", *(em_f1(results.inprocess_score(c, mt)) for c in catalogs)])
    for mt in models if results.engine_parity else ():
        cells = []
        for c in catalogs:
            same = results.parity(c, mt)
            share = None if same is None else f"{same.identical_share * 100:.2f}% (F1 {same.f1_delta:+.2f})"
            cells.append(share or "-")
        rows.append([f"answers identical to torch's, {mt} (F1 difference)", *cells])
    scores = [results.inprocess_score(c, mt) for c in catalogs for mt in models]
    counts = {s.count for s in scores if s is not None}
    counts.discard(None)
    note = (
        f" In-process accuracy on the first {', '.join(map(str, sorted(counts)))} SQuAD v1.1 dev questions."
        if counts
        else ""
    )
    rendered = table(["", *(results.catalog_label(c) for c in catalogs)], rows)
    return rendered + f"\n\nCells with several values: {by_variant}.{note}"
