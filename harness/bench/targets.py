"""The issues' targets, checked against a results dict: met, not met, or not measured.

Per run (a variant serving a catalog, whose engine is torch, onnx or onnx-int8):
- warm overhead over the same engine's in-process forward <= 5 ms at p50 (every engine);
- cold start, median first answer: torch catalog OCI <= 3 s, EFS <= 3.5 s, S3 <= 4 s; int8
  catalog OCI <= 1.0 s, EFS <= 1.2 s, S3 <= 1.5 s (fp32 ONNX: measured, no target);
- zero reloads when switching between cached models (every engine);
- image size (decimal, as Docker prints): S3/EFS lean image (no torch) <= 400 MB; OCI with the
  int8 catalog <= 450 MB; any other image <= 1.2 GB;
- the endpoint's answers are the same engine's in-process answers (every one identical);
- EFS with the torch catalog: warm latency >= 10x better than the old sample's strategy (which
  loads torch weights per request: same engine, same files; p50 against p50, the worse model counts).

Between engines, in the same benchmark run:
- per variant, int8 vs torch: the function's own ``timings_ms.inference`` p50 on the same request
  >= 1.8x faster (the worse model counts); warm throughput at concurrency 8 >= 1.8x; and for OCI
  the int8 cold start <= 0.4x the torch catalog's;
- in-process, per model, on the first 2,000 SQuAD dev questions: int8 F1 at most 1.0 below
  torch's; fp32 ONNX EM and F1 within 0.1 of torch's and >= 99.5% of its answers identical;
- the torch catalog's in-process figures match ../shared/hf-cache/README.md (0.5 point).
"""

from __future__ import annotations

from harness.bench.records import INT8, ONNX, TORCH, RunRecord, TargetCheck, Warm
from harness.bench.results import BenchResults, Run
from harness.bench.squad import Score

__all__ = ["TargetCheck", "evaluate", "verdict"]

WARM_OVERHEAD_MS = 5.0
# engine -> variant -> seconds
COLD_START_S = {
    TORCH: {"oci": 3.0, "efs": 3.5, "s3": 4.0},
    INT8: {"oci": 1.0, "efs": 1.2, "s3": 1.5},
}
INT8_COLD_START_RATIO = {"oci": 0.4}  # int8 cold start / the torch catalog's, same variant, at most
OLD_STRATEGY_FACTOR = 10.0
IMAGE_BYTES = 1_200_000_000
LEAN_IMAGE_BYTES = 400_000_000  # S3/EFS image without torch
OCI_INT8_IMAGE_BYTES = 450_000_000
INT8_INFERENCE_SPEEDUP = 1.8
INT8_THROUGHPUT_RATIO = 1.8
THROUGHPUT_LEVEL = "8"
INT8_F1_LOSS = 1.0
FP32_SCORE_DELTA = 0.1
FP32_IDENTICAL_SHARE = 0.995
ACCURACY_QUESTIONS = 2000


def old_strategy_factors(results: BenchResults, run: Run) -> dict[str, float]:
    """Per model: old strategy p50 / the run's warm end-to-end p50."""
    factors: dict[str, float] = {}
    old = results.old_strategy.models
    for model_type, entry in run.data.warm.models.items():
        old_p50 = old[model_type].total_ms.p50 if model_type in old else None
        warm_p50 = entry.end_to_end_ms.p50
        if old_p50 and warm_p50:
            factors[model_type] = old_p50 / warm_p50
    return factors


def image_goal(results: BenchResults, run: Run) -> int:
    """The image-size goal of a run: lean S3/EFS image, OCI with int8 models, or the general one."""
    if run.variant == "oci" and run.engine == INT8:
        return OCI_INT8_IMAGE_BYTES
    if run.variant != "oci" and TORCH not in results.catalog_runtimes(run.catalog):
        return LEAN_IMAGE_BYTES
    return IMAGE_BYTES


def _size(value: float) -> str:
    return f"{value / 1e9:.2f} GB" if value >= 1e9 else f"{value / 1e6:.0f} MB"


def _score(score: Score | None, metric: str) -> str:
    value = None if score is None else getattr(score, metric)
    return "-" if value is None else f"{value:.2f}"


def _check(run: Run, name: str, target: str, value: str, met: bool | None) -> TargetCheck:
    return TargetCheck(name, run.label, target, value, met, run.catalog, run.engine)


def _check_run(results: BenchResults, run: Run) -> list[TargetCheck]:
    data = run.data
    checks: list[TargetCheck] = []

    overheads = {mt: m.overhead_p50_ms for mt, m in data.warm.models.items() if m.overhead_p50_ms is not None}
    worst = max(overheads.values()) if overheads else None
    checks.append(
        _check(
            run,
            "warm overhead p50",
            f"<= {WARM_OVERHEAD_MS:g} ms",
            ", ".join(f"{mt} {v:.1f} ms" for mt, v in sorted(overheads.items())) or "not measured",
            None if worst is None else worst <= WARM_OVERHEAD_MS,
        )
    )

    limit = COLD_START_S.get(run.engine, {}).get(run.variant)
    cold_ms = data.cold_start.median_total_ms
    if limit is not None:
        checks.append(
            _check(
                run,
                "cold start (median)",
                f"<= {limit:g} s",
                "not measured" if cold_ms is None else f"{cold_ms / 1000:.2f} s",
                None if cold_ms is None else cold_ms / 1000 <= limit,
            )
        )

    reloads = data.switching.reloads
    checks.append(
        _check(
            run,
            "reloads when switching cached models",
            "0",
            "not measured" if reloads is None else str(reloads),
            None if reloads is None else reloads == 0,
        )
    )

    if run.variant == "efs" and run.engine == TORCH:
        factors = old_strategy_factors(results, run)
        worst_factor = min(factors.values()) if factors else None
        checks.append(
            _check(
                run,
                "warm latency vs the old sample's strategy",
                f">= {OLD_STRATEGY_FACTOR:g}x",
                ", ".join(f"{mt} {v:.1f}x" for mt, v in sorted(factors.items())) or "not measured",
                None if worst_factor is None else worst_factor >= OLD_STRATEGY_FACTOR,
            )
        )

    size = data.image.image_bytes
    goal = image_goal(results, run)
    checks.append(
        _check(
            run,
            "image size",
            f"<= {_size(goal)}",
            "not measured" if not size else _size(size),
            None if not size else size <= goal,
        )
    )

    checks.append(_check_same_engine(run, data))
    return checks


def _served_elsewhere(run: Run, data: RunRecord) -> list[str]:
    """Models the endpoint answered with another engine than the catalog's (a stale image, ...)."""
    wrong = []
    for mt, entry in sorted(data.warm.models.items()):
        expected = entry.engine or run.engine
        other = {e: n for e, n in entry.served_engines.items() if e != expected}
        if other:
            served = ", ".join(f"{engine or 'unknown'} ({n})" for engine, n in other.items())
            wrong.append(f"{mt} served by {served}")
    return wrong


def _check_same_engine(run: Run, data: RunRecord) -> TargetCheck:
    """Every endpoint answer is the same engine's in-process answer, and that engine served it."""
    name, goal = "endpoint answers = in-process answers (same engine)", "all identical"
    models = data.accuracy.models
    if not models:
        return _check(run, name, goal, "not measured", None)
    parts = [
        f"{mt}: {'?' if e.differing_answers is None else e.differing_answers} of "
        f"{'?' if e.questions is None else e.questions} differ "
        f"(EM {_score(e.endpoint, 'exact_match')}/{_score(e.inprocess, 'exact_match')}, "
        f"F1 {_score(e.endpoint, 'f1')}/{_score(e.inprocess, 'f1')})"
        for mt, e in sorted(models.items())
    ]
    identical = [e.all_identical for e in models.values()]
    wrong = _served_elsewhere(run, data)
    return _check(run, name, goal, "; ".join(parts + wrong), all(identical) and not wrong)


def _ratios(torch_warm: Warm, int8_warm: Warm) -> dict[str, float]:
    """Per model: torch's function inference p50 / int8's."""
    out = {}
    for mt, entry in int8_warm.models.items():
        ours = entry.function_inference_ms.p50
        theirs = torch_warm.model(mt).function_inference_ms.p50
        if ours and theirs:
            out[mt] = theirs / ours
    return out


def _check_engines_per_variant(results: BenchResults) -> list[TargetCheck]:
    """int8 against torch, variant by variant (both deployed in the same benchmark run)."""
    checks: list[TargetCheck] = []
    for variant in results.variants():
        torch_run, int8_run = results.find(variant, TORCH), results.find(variant, INT8)
        if torch_run is None or int8_run is None:
            continue
        torch_data, int8_data = torch_run.data, int8_run.data
        label, catalog = f"{variant} · {INT8} vs {TORCH}", int8_run.catalog

        def check(
            name: str, goal: str, value: str, met: bool | None, lbl: str = label, cat: str = catalog
        ) -> TargetCheck:
            return TargetCheck(name, lbl, goal, value, met, cat, INT8)

        speedups = _ratios(torch_data.warm, int8_data.warm)
        worst = min(speedups.values()) if speedups else None
        checks.append(
            check(
                "int8 inference speed-up (function's timings_ms.inference p50)",
                f">= {INT8_INFERENCE_SPEEDUP:g}x",
                ", ".join(f"{mt} {v:.2f}x" for mt, v in sorted(speedups.items())) or "not measured",
                None if worst is None else worst >= INT8_INFERENCE_SPEEDUP,
            )
        )

        ours = int8_data.concurrency.level(THROUGHPUT_LEVEL).throughput_rps
        theirs = torch_data.concurrency.level(THROUGHPUT_LEVEL).throughput_rps
        ratio = ours / theirs if ours and theirs else None
        checks.append(
            check(
                f"int8 warm throughput at concurrency {THROUGHPUT_LEVEL}",
                f">= {INT8_THROUGHPUT_RATIO:g}x torch",
                "not measured" if ratio is None else f"{ours:.1f} vs {theirs:.1f} req/s: {ratio:.2f}x",
                None if ratio is None else ratio >= INT8_THROUGHPUT_RATIO,
            )
        )

        limit = INT8_COLD_START_RATIO.get(variant)
        if limit is not None:
            ours = int8_data.cold_start.median_total_ms
            theirs = torch_data.cold_start.median_total_ms
            ratio = ours / theirs if ours and theirs else None
            checks.append(
                check(
                    "int8 cold start vs the torch catalog's",
                    f"<= {limit:g}x",
                    "not measured"
                    if ratio is None
                    else f"{ours / 1000:.2f} s vs {theirs / 1000:.2f} s: {ratio:.2f}x",
                    None if ratio is None else ratio <= limit,
                )
            )
    return checks


def _count_note(count: int | None) -> str:
    if count is None:
        return ""
    return f" on {count}" + (
        "" if count >= ACCURACY_QUESTIONS else f" (the target is on {ACCURACY_QUESTIONS})"
    )


def _short_note(count: int | None) -> str:
    """Only when the count falls short of the target's."""
    return "" if count is None or count >= ACCURACY_QUESTIONS else f" (the target is on {ACCURACY_QUESTIONS})"


def _check_engines_inprocess(results: BenchResults) -> list[TargetCheck]:
    """In-process accuracy of the ONNX engines against torch's, model by model."""
    checks: list[TargetCheck] = []
    torch_catalog = results.catalog_for_engine(TORCH)
    if torch_catalog is None:
        return checks
    torch_scores = results.inprocess_accuracy.get(torch_catalog) or {}
    for engine in (ONNX, INT8):
        catalog = results.catalog_for_engine(engine)
        if catalog is None:
            continue
        scores = results.inprocess_accuracy.get(catalog) or {}
        parity = results.engine_parity[catalog].models if catalog in results.engine_parity else {}
        for mt in sorted(scores):
            ours, theirs = scores[mt], torch_scores.get(mt)
            if not theirs:
                continue
            note = _count_note(ours.count)
            if engine == INT8:
                loss = theirs.f1 - ours.f1 + 0.0  # no '-0.00'
                checks.append(
                    TargetCheck(
                        f"int8 F1 loss vs torch ({mt})",
                        "in-process",
                        f"<= {INT8_F1_LOSS:g} point",
                        f"F1 {ours.f1:.2f} vs {theirs.f1:.2f}: loss {loss:.2f}{note}",
                        loss <= INT8_F1_LOSS,
                        catalog,
                        engine,
                    )
                )
                continue
            checks.append(
                TargetCheck(
                    f"fp32 ONNX EM / F1 = torch's ({mt})",
                    "in-process",
                    f"within {FP32_SCORE_DELTA:g} point",
                    f"EM {ours.exact_match:.2f} vs {theirs.exact_match:.2f}, "
                    f"F1 {ours.f1:.2f} vs {theirs.f1:.2f}{note}",
                    ours.score.agrees_with(theirs.exact_match, theirs.f1, FP32_SCORE_DELTA),
                    catalog,
                    engine,
                )
            )
            same = parity.get(mt)
            checks.append(
                TargetCheck(
                    f"fp32 ONNX answers identical to torch's ({mt})",
                    "in-process",
                    f">= {FP32_IDENTICAL_SHARE * 100:g}%",
                    "not measured"
                    if same is None
                    else f"{same.identical} of {same.count} ({same.identical_share * 100:.2f}%)"
                    + _short_note(same.count),
                    None if same is None else same.identical_share >= FP32_IDENTICAL_SHARE,
                    catalog,
                    engine,
                )
            )
    return checks


def _check_reference(results: BenchResults) -> list[TargetCheck]:
    checks = []
    for catalog, by_model in results.inprocess_accuracy.items():
        for model_type, entry in sorted(by_model.items()):
            reference = entry.reference
            if entry.engine != TORCH:
                continue
            checks.append(
                TargetCheck(
                    f"in-process accuracy = hf-cache README ({model_type})",
                    "in-process",
                    "-" if not reference else f"EM {reference.exact_match:.2f} / F1 {reference.f1:.2f}",
                    f"EM {entry.exact_match:.2f} / F1 {entry.f1:.2f} on {entry.count}",
                    entry.matches_reference,
                    catalog,
                    TORCH,
                )
            )
    return checks


def evaluate(results: BenchResults) -> list[TargetCheck]:
    checks: list[TargetCheck] = []
    for run in results.all_runs():
        checks.extend(_check_run(results, run))
    checks.extend(_check_engines_per_variant(results))
    checks.extend(_check_engines_inprocess(results))
    checks.extend(_check_reference(results))
    from harness.bench.fleet_targets import fleet_checks  # it builds on TargetCheck, defined here

    checks.extend(fleet_checks(results.fleet))
    return checks


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]
