"""``make bench``: deploy each variant on the local cloud, measure it, destroy it, report.

Per variant, in this order: image size, cold starts, warm latency (with the in-process forward
beside it), model switching, S3 download throughput (S3 only), concurrency 1/2/4/8, accuracy
through the endpoint, and for EFS the old sample's strategy on the EFS copy of the models. Before
the variants: the in-process accuracy run (once; every variant is compared with it) and the
CUDA torch size (cached). After: targets, bench/results/, and the README sections.

A scenario that cannot run (a part of the harness missing, no bucket, ...) is recorded under
``skipped`` with the reason; one that fails is recorded under ``errors``; neither stops the
run, and the stack is destroyed whatever happens. The whole run has a time budget; scenarios
stop early (``truncated``) when it is spent. Results are saved after each variant, so a crash
keeps what was measured.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.bench import adapters, inprocess, report, squad, torchsize
from harness.bench.qa_adapter import backend_name
from harness.bench.scenarios import (
    Deadline,
    Target,
    Ticker,
    accuracy,
    cold_starts,
    concurrency,
    image_size,
    model_switching,
    old_strategy,
    s3_throughput,
    warm_latency,
)
from harness.bench.targets import evaluate, verdict
from harness.paths import REPO_ROOT, VARIANTS
from harness.progress import say, step

RESULTS_DIR = REPO_ROOT / "bench" / "results"
READMES = (REPO_ROOT / "README.md", REPO_ROOT / "bench" / "README.md")
DEFAULT_BUDGET_S = 3 * 3600.0
CONCURRENCY_LEVELS = (1, 2, 4, 8)
SWITCH_ROUNDS = 20
S3_REPEATS = 3
OLD_STRATEGY_REPEATS = 10


def requests_per_level(level: int) -> int:
    """Requests per concurrency level: enough for a p95 (40), and 10 per client above 4."""
    return max(40, 10 * level)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Recorder:
    """Runs one variant's scenarios, keeping results, skips and errors apart."""

    def __init__(self, data: dict[str, Any], deadline: Deadline) -> None:
        self.data = data
        self.deadline = deadline

    def __call__(self, name: str, title: str, measure: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
        if self.deadline.expired():
            self.data["skipped"][name] = "the benchmark's time budget was spent"
            return None
        try:
            with step(title):
                self.data[name] = measure()
        except adapters.UnavailableError as exc:
            self.data["skipped"][name] = str(exc)
            say(f"    skipped: {exc}")
            return None
        except Exception as exc:
            self.data["errors"][name] = f"{type(exc).__name__}: {exc}"
            say(traceback.format_exc(limit=4))
            return None
        return self.data[name]


def _cuda_torch() -> dict[str, Any]:
    estimate = torchsize.cuda_torch_estimate()
    return {
        "torch_version": estimate["torch_version"],
        "torch_wheel": estimate["torch"]["filename"],
        "wheel_bytes": estimate["wheel_bytes"],
        "installed_bytes": estimate["installed_bytes"],
        "image_bytes": estimate["image_bytes"],
        "packages": 1 + len(estimate["cuda_only_packages"]),
        "cpu_torch_installed_bytes": torchsize.installed_size("torch"),
        "cpu_torch_image_bytes": torchsize.installed_size("torch", trimmed=True),
        "fetched_at": estimate["fetched_at"],
        "cache": str(torchsize.CACHE_PATH.relative_to(REPO_ROOT)),
    }


def _inprocess_accuracy(
    pool: inprocess.ModelPool, model_types: Sequence[str], questions: Sequence[squad.Question]
) -> dict[str, inprocess.AccuracyRun]:
    runs = {}
    for model_type in model_types:
        tick = Ticker(f"in-process accuracy {model_type}", len(questions))
        runs[model_type] = inprocess.accuracy(pool.get(model_type), questions, progress=tick)
    return runs


def _accuracy_summary(runs: dict[str, inprocess.AccuracyRun]) -> dict[str, Any]:
    from harness.bench.scenarios import ACCURACY_TOLERANCE

    out = {}
    for model_type, run in runs.items():
        reference = squad.reference_score(model_type, run.score.count)
        matches = None
        if reference:
            matches = (
                abs(run.score.exact_match - reference[0]) <= ACCURACY_TOLERANCE
                and abs(run.score.f1 - reference[1]) <= ACCURACY_TOLERANCE
            )
        out[model_type] = {
            **run.score.as_dict(),
            "seconds": run.seconds,
            "reference": None if not reference else {"exact_match": reference[0], "f1": reference[1]},
            "matches_reference": matches,
        }
    return out


def _old_strategy_folders(fallback: dict[str, Path]) -> tuple[dict[str, Path], str]:
    efs = adapters.efs_model_folders()
    if efs and set(fallback) <= set(efs):
        return {mt: efs[mt] for mt in fallback}, "the EFS copy the function reads (.state/efs/...)"
    return fallback, "the offline HuggingFace cache (HF_HUB_CACHE), byte-identical to the published files"


def bench_variant(
    variant: str,
    *,
    catalog: str,
    pool: inprocess.ModelPool,
    model_types: Sequence[str],
    questions: Sequence[squad.Question],
    inprocess_runs: dict[str, inprocess.AccuracyRun],
    warm_requests: int,
    cold_start_count: int,
    cuda: dict[str, Any] | None,
    deadline: Deadline,
    results: dict[str, Any],
) -> dict[str, Any]:
    """Deploy, run every scenario, destroy; the variant's part of the results."""
    data: dict[str, Any] = {"skipped": {}, "errors": {}}
    record = _Recorder(data, deadline)
    question, context = adapters.example_request()
    started = time.monotonic()
    try:
        with step(f"deploy {variant} (catalog {catalog})"):
            deployment = adapters.deploy(variant, catalog)
        data["deploy_s"] = time.monotonic() - started
        target = Target.from_deployment(deployment)
        data["function_name"] = target.function_name
        data["api_url"] = target.api_url
        cpu_torch = (cuda or {}).get("cpu_torch_image_bytes")
        estimate = torchsize.cuda_torch_estimate() if cuda else None
        record("image", f"{variant}: image size", lambda: image_size(target, estimate, cpu_torch))
        cold = record(
            "cold_start",
            f"{variant}: {cold_start_count} cold starts",
            lambda: cold_starts(target, cold_start_count, model_types[0], question, context, deadline),
        )
        threads = (cold or {}).get("function_threads")
        record(
            "warm",
            f"{variant}: warm latency, {warm_requests} requests per model + in-process forward",
            lambda: warm_latency(
                target, pool, model_types, warm_requests, question, context, deadline, threads
            ),
        )
        record(
            "switching",
            f"{variant}: model switching ({SWITCH_ROUNDS} rounds of {'/'.join(model_types)})",
            lambda: model_switching(target, model_types, SWITCH_ROUNDS, question, context, deadline),
        )
        if variant == "s3":
            record(
                "s3",
                f"{variant}: S3 download vs raw GET ({S3_REPEATS} times)",
                lambda: s3_throughput(target, S3_REPEATS, question, context, deadline),
            )
        record(
            "concurrency",
            f"{variant}: concurrency {'/'.join(map(str, CONCURRENCY_LEVELS))}",
            lambda: concurrency(
                target, CONCURRENCY_LEVELS, requests_per_level, model_types[0], question, context, deadline
            ),
        )
        record(
            "accuracy",
            f"{variant}: accuracy on {len(questions)} SQuAD questions through the endpoint",
            lambda: accuracy(target, questions, model_types, inprocess_runs, deadline),
        )
        if variant == "efs":
            folders, source = _old_strategy_folders(pool.folders)
            old = record(
                "old_strategy",
                "the old sample's strategy, in-process",
                lambda: old_strategy(folders, OLD_STRATEGY_REPEATS, question, context, source, deadline),
            )
            if old:
                results["old_strategy"] = data.pop("old_strategy")
    except Exception as exc:
        data["errors"]["deploy"] = f"{type(exc).__name__}: {exc}"
        say(traceback.format_exc(limit=4))
    finally:
        try:
            adapters.destroy(variant)
        except Exception as exc:
            data["errors"]["destroy"] = f"{type(exc).__name__}: {exc}"
            say(f"    destroy {variant} failed: {exc}")
    data["seconds"] = time.monotonic() - started
    return data


def print_targets(results: dict[str, Any]) -> None:
    for check in results.get("targets", []):
        say(
            f"    [{verdict(check['met']):>12}] {check['variant']}: {check['name']}: {check['value']} "
            f"(goal {check['target']})"
        )


def finish(results: dict[str, Any], out_dir: Path, readmes: Sequence[Path] = READMES) -> Path:
    """Targets, files under ``out_dir``, README sections; returns the results JSON path."""
    results["targets"] = [check.as_dict() for check in evaluate(results)]
    paths = report.write_results(results, out_dir)
    for readme in readmes:
        results_link = os.path.relpath(paths["markdown"], readme.parent)
        method_link = os.path.relpath(REPO_ROOT / "bench" / "README.md", readme.parent)
        section = report.readme_section(results, results_link, method_link)
        if report.update_readme(readme, section):
            say(f"    updated the benchmark section of {readme}")
        elif readme.is_file():
            say(f"    {readme} has no {report.START_MARKER} ... {report.END_MARKER} markers: not updated")
    return paths["json"]


def run_benchmark(
    variants: list[str],
    questions: int = 500,
    warm_requests: int = 200,
    cold_starts: int = 5,
    *,
    catalog: str = "offline",
    out_dir: Path | None = None,
    time_budget_s: float | None = DEFAULT_BUDGET_S,
    readmes: Sequence[Path] = READMES,
) -> Path:
    """Benchmark ``variants`` on the local cloud; returns the path of the results JSON."""
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    if questions < 1 or warm_requests < 1 or cold_starts < 1:
        raise ValueError("questions, warm_requests and cold_starts must be at least 1")
    out_dir = out_dir or RESULTS_DIR
    deadline = Deadline(time_budget_s)
    started = time.monotonic()
    folders = inprocess.model_folders(catalog)
    model_types = sorted(folders)
    pool = inprocess.ModelPool(folders)
    results: dict[str, Any] = {
        "schema": 1,
        "started_at": _now(),
        "machine": report.machine_info(),
        "settings": {
            "variants": list(variants),
            "catalog": catalog,
            "model_types": model_types,
            "questions": questions,
            "warm_requests": warm_requests,
            "cold_starts": cold_starts,
            "concurrency_levels": list(CONCURRENCY_LEVELS),
            "switch_rounds": SWITCH_ROUNDS,
            "s3_repeats": S3_REPEATS,
            "old_strategy_repeats": OLD_STRATEGY_REPEATS,
            "percentiles": "nearest-rank",
            "qa_backend": backend_name(),
            "time_budget_s": time_budget_s,
        },
        "variants": {},
    }
    say(
        f"==> benchmark {', '.join(variants)}: {questions} questions, {warm_requests} warm requests, "
        f"{cold_starts} cold starts per variant (budget {time_budget_s or 0:.0f} s)"
    )
    try:
        with step("default CUDA torch size (PyPI metadata, cached)"):
            results["cuda_torch"] = _cuda_torch()
    except Exception as exc:
        results["cuda_torch"] = {"error": f"{type(exc).__name__}: {exc}"}
        say(f"    no CUDA torch estimate: {exc}")
    squad_questions = squad.load_questions(questions)
    with step(f"in-process accuracy on {len(squad_questions)} questions ({', '.join(model_types)})"):
        runs = _inprocess_accuracy(pool, model_types, squad_questions)
    results["inprocess_accuracy"] = _accuracy_summary(runs)
    results["settings"]["inprocess_model_load_ms"] = dict(pool.load_ms)

    cuda = results["cuda_torch"] if "error" not in results["cuda_torch"] else None
    for index, variant in enumerate(variants, 1):
        say(f"==> variant {variant} ({index}/{len(variants)})")
        results["variants"][variant] = bench_variant(
            variant,
            catalog=catalog,
            pool=pool,
            model_types=model_types,
            questions=squad_questions,
            inprocess_runs=runs,
            warm_requests=warm_requests,
            cold_start_count=cold_starts,
            cuda=cuda,
            deadline=deadline,
            results=results,
        )
        report.write_json(results, out_dir)  # keep what was measured so far

    if "old_strategy" not in results and not deadline.expired():
        question, context = adapters.example_request()
        with step("the old sample's strategy, in-process (no EFS variant in this run)"):
            results["old_strategy"] = old_strategy(
                pool.folders,
                OLD_STRATEGY_REPEATS,
                question,
                context,
                _old_strategy_folders(pool.folders)[1],
                deadline,
            )
    results["finished_at"] = _now()
    results["duration_s"] = time.monotonic() - started
    path = finish(results, out_dir, readmes)
    say("==> targets")
    print_targets(results)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.bench``: the same as ``python -m harness bench``, plus --report-only."""
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__)
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="repeatable; default: all")
    parser.add_argument("--questions", type=int, default=500)
    parser.add_argument("--warm-requests", type=int, default=200)
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--budget-minutes", type=float, default=DEFAULT_BUDGET_S / 60)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild markdown, plots and README from results.json"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        results = json.loads((args.out / report.RESULTS_JSON).read_text())
        print(f"results: {finish(results, args.out)}")
        return 0
    path = run_benchmark(
        args.variant or list(VARIANTS),
        questions=args.questions,
        warm_requests=args.warm_requests,
        cold_starts=args.cold_starts,
        out_dir=args.out,
        time_budget_s=args.budget_minutes * 60,
    )
    print(f"results: {path}")
    return 0
