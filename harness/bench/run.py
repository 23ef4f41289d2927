"""``make bench``: each variant with each catalog (engine) on the local cloud: deploy, measure, destroy.

The matrix is variants x catalogs (default: s3, efs, oci x offline, offline-onnx, offline-int8:
the same models on torch, fp32 ONNX and int8 ONNX), run variant by variant. Per run, in this order:
image size, cold starts, warm latency (with the same engine's in-process forward beside it),
model switching, S3 download throughput (S3 only), concurrency 1/2/4/8, accuracy through the
endpoint, and during the EFS run of the torch catalog the old sample's strategy on the EFS copy
of the models. Before the runs: each catalog's bundle (the files the function serves, ONNX exports
included), the in-process accuracy of every engine on the first 2,000 SQuAD questions (every run
is compared with its engine's answers, and the ONNX engines with torch's) and the CUDA torch size
(cached). After: targets, bench/results/, and the README sections.

The results are one ``results.BenchResults``: each scenario returns its record (``records.py``)
into the run's ``RunRecord``. A scenario that cannot run (a part of the harness missing, no
bucket, ...) is recorded under ``skipped`` with the reason; one that fails is recorded under
``errors``; neither stops the
run, and the stack is destroyed whatever happens. The whole run has a time budget; scenarios
stop early (``truncated``) when it is spent, and runs not started by then are skipped. Results are
saved after each run, so a crash keeps what was measured.
"""

from __future__ import annotations

import argparse
import os
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from harness.bench import adapters, inprocess, options, records, report, squad, torchsize
from harness.bench.fleet import bench_fleet
from harness.bench.fleet_records import FleetPlan, FleetRun
from harness.bench.qa_adapter import QA_CODE
from harness.bench.records import Reference, RunRecord
from harness.bench.results import BenchResults, CudaTorch, EngineParity, InprocessScore, Settings, run_key
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
from harness.bench.soak import records as soak_records
from harness.bench.targets import evaluate, verdict
from harness.paths import REPO_ROOT, VARIANTS
from harness.progress import say, step

RESULTS_DIR = REPO_ROOT / "bench" / "results"
READMES = (REPO_ROOT / "README.md", REPO_ROOT / "bench" / "README.md")
DEFAULT_BUDGET_S = options.DEFAULT_BUDGET_S
CONCURRENCY_LEVELS = (1, 2, 4, 8)
SWITCH_ROUNDS = 20
S3_REPEATS = 3
OLD_STRATEGY_REPEATS = 10
DEFAULT_CATALOGS = options.DEFAULT_CATALOGS
INPROCESS_QUESTIONS = options.INPROCESS_QUESTIONS
TORCH = records.TORCH


def requests_per_level(level: int) -> int:
    """Requests per concurrency level: enough for a p95 (40), and 10 per client above 4."""
    return max(40, 10 * level)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _Recorder:
    """Runs one run's scenarios (a variant with a catalog), keeping results, skips and errors apart.

    ``measure`` returns the scenario's record, stored as the field ``name`` of the run's record
    (or of ``into``: the old strategy's is the results' own).
    """

    def __init__(self, data: RunRecord, deadline: Deadline) -> None:
        self.data = data
        self.deadline = deadline

    def __call__(self, name: str, title: str, measure: Callable[[], Any], into: Any = None) -> Any:
        if self.deadline.expired():
            self.data.skipped[name] = "the benchmark's time budget was spent"
            return None
        try:
            with step(title):
                value = measure()
        except adapters.UnavailableError as exc:
            self.data.skipped[name] = str(exc)
            say(f"    skipped: {exc}")
            return None
        except Exception as exc:
            self.data.errors[name] = f"{type(exc).__name__}: {exc}"
            say(traceback.format_exc(limit=4))
            return None
        setattr(self.data if into is None else into, name, value)
        return value


def _cuda_torch() -> CudaTorch:
    estimate = torchsize.cuda_torch_estimate()
    return CudaTorch(
        torch_version=estimate["torch_version"],
        torch_wheel=estimate["torch"]["filename"],
        wheel_bytes=estimate["wheel_bytes"],
        installed_bytes=estimate["installed_bytes"],
        image_bytes=estimate["image_bytes"],
        packages=1 + len(estimate["cuda_only_packages"]),
        cpu_torch_installed_bytes=torchsize.installed_size("torch"),
        cpu_torch_image_bytes=torchsize.installed_size("torch", trimmed=True),
        fetched_at=estimate["fetched_at"],
        cache=str(torchsize.CACHE_PATH.relative_to(REPO_ROOT)),
    )


def _inprocess_accuracy(
    pool: inprocess.ModelPool, catalogs: Sequence[str], questions: Sequence[squad.Question]
) -> dict[str, dict[str, inprocess.AccuracyRun]]:
    """catalog -> model_type -> the in-process run of that catalog's engine on ``questions``."""
    runs: dict[str, dict[str, inprocess.AccuracyRun]] = {}
    for catalog in catalogs:
        runs[catalog] = {}
        for model_type in pool.catalogs[catalog].model_types:
            engine = pool.engine(catalog, model_type)
            tick = Ticker(f"in-process accuracy {catalog} {model_type} ({engine})", len(questions))
            runs[catalog][model_type] = inprocess.accuracy(
                pool.get(catalog, model_type), questions, progress=tick
            )
    return runs


def _accuracy_summary(
    pool: inprocess.ModelPool, runs: dict[str, dict[str, inprocess.AccuracyRun]]
) -> dict[str, dict[str, InprocessScore]]:
    """Per catalog and model: EM/F1, and for torch the hf-cache README's figures beside them."""
    out: dict[str, dict[str, InprocessScore]] = {}
    for catalog, by_model in runs.items():
        out[catalog] = {}
        for model_type, run in by_model.items():
            engine = pool.engine(catalog, model_type)
            # The README's figures are torch's (its recipe on the HuggingFace weights).
            reference = squad.reference_score(model_type, run.score.count) if engine == TORCH else None
            matches = run.score.agrees_with(*reference) if reference else None
            out[catalog][model_type] = InprocessScore(
                exact_match=run.score.exact_match,
                f1=run.score.f1,
                count=run.score.count,
                engine=engine,
                seconds=run.seconds,
                reference=Reference(*reference) if reference else None,
                matches_reference=matches,
            )
    return out


def _engine_parity(
    pool: inprocess.ModelPool,
    runs: dict[str, dict[str, inprocess.AccuracyRun]],
    questions: Sequence[squad.Question],
) -> dict[str, EngineParity]:
    """Each non-torch catalog's in-process answers against the torch catalog's, model by model."""
    baseline = next((c for c in runs if pool.catalogs[c].engine == TORCH), None)
    if baseline is None:
        return {}
    out: dict[str, EngineParity] = {}
    for catalog, by_model in runs.items():
        if catalog == baseline:
            continue
        models = {}
        for model_type, run in by_model.items():
            if model_type in runs[baseline]:
                models[model_type] = inprocess.parity(
                    questions,
                    run,
                    runs[baseline][model_type],
                    pool.engine(catalog, model_type),
                    pool.engine(baseline, model_type),
                )
        out[catalog] = EngineParity(against=baseline, models=models)
    return out


def _old_strategy_folders(catalog: str | None, fallback: dict[str, Path]) -> tuple[dict[str, Path], str]:
    """The EFS copy of a torch catalog the function read, else the source weights in the hub cache."""
    # the manifest names the catalog by its file's stem (``offline`` for catalogs/offline.json)
    efs = adapters.efs_model_folders(catalog=Path(catalog).stem, engine=TORCH) if catalog else {}
    if efs and set(fallback) <= set(efs):
        return {mt: efs[mt] for mt in fallback}, "the EFS copy the function reads (.state/efs/...)"
    return fallback, "the offline HuggingFace cache (HF_HUB_CACHE), byte-identical to the published files"


def _is_torch_only(info: inprocess.CatalogModels) -> bool:
    return set(info.engines.values()) == {TORCH}


def bench_run(
    variant: str,
    *,
    catalog: inprocess.CatalogModels,
    pool: inprocess.ModelPool,
    questions: Sequence[squad.Question],
    inprocess_runs: dict[str, inprocess.AccuracyRun],
    warm_requests: int,
    cold_start_count: int,
    cuda: CudaTorch | None,
    deadline: Deadline,
    results: BenchResults,
) -> RunRecord:
    """Deploy ``catalog`` on ``variant``, run every scenario, destroy; the run's part of the results."""
    data = RunRecord(variant=variant, catalog=catalog.name, engine=catalog.engine)
    name = f"{variant} · {catalog.engine}"
    if deadline.expired():
        data.skipped["deploy"] = "the benchmark's time budget was spent"
        data.seconds = 0.0
        return data
    record = _Recorder(data, deadline)
    model_types = catalog.model_types
    question, context = adapters.example_request()
    started = time.monotonic()
    try:
        with step(f"deploy {variant} (catalog {catalog.name}, engine {catalog.engine})"):
            deployment = adapters.deploy(variant, catalog.name)
        data.deploy_s = time.monotonic() - started
        target = Target.from_deployment(deployment)
        data.function_name = target.function_name
        data.api_url = target.api_url
        cpu_torch = cuda.cpu_torch_image_bytes if cuda else None
        estimate = torchsize.cuda_torch_estimate() if cuda and TORCH in catalog.runtimes else None
        record(
            "image",
            f"{name}: image size",
            lambda: image_size(target, estimate, cpu_torch, catalog.runtimes),
        )
        cold = record(
            "cold_start",
            f"{name}: {cold_start_count} cold starts",
            lambda: cold_starts(target, cold_start_count, model_types[0], question, context, deadline),
        )
        threads = cold.function_threads if cold else None
        record(
            "warm",
            f"{name}: warm latency, {warm_requests} requests per model + in-process forward",
            lambda: warm_latency(
                target, pool, catalog.name, model_types, warm_requests, question, context, deadline, threads
            ),
        )
        record(
            "switching",
            f"{name}: model switching ({SWITCH_ROUNDS} rounds of {'/'.join(model_types)})",
            lambda: model_switching(target, model_types, SWITCH_ROUNDS, question, context, deadline),
        )
        if variant == "s3":
            record(
                "s3",
                f"{name}: S3 download vs raw GET ({S3_REPEATS} times)",
                lambda: s3_throughput(target, S3_REPEATS, question, context, deadline),
            )
        record(
            "concurrency",
            f"{name}: concurrency {'/'.join(map(str, CONCURRENCY_LEVELS))}",
            lambda: concurrency(
                target, CONCURRENCY_LEVELS, requests_per_level, model_types[0], question, context, deadline
            ),
        )
        record(
            "accuracy",
            f"{name}: accuracy on {len(questions)} SQuAD questions through the endpoint",
            lambda: accuracy(
                target,
                questions,
                model_types,
                inprocess_runs,
                deadline,
                with_reference=_is_torch_only(catalog),
            ),
        )
        if variant == "efs" and _is_torch_only(catalog) and not results.old_strategy:
            folders, source = _old_strategy_folders(catalog.name, inprocess.model_folders(catalog.name))
            old = record(
                "old_strategy",
                "the old sample's strategy, in-process",
                lambda: old_strategy(folders, OLD_STRATEGY_REPEATS, question, context, source, deadline),
                into=results,
            )
            if old:
                old.catalog = catalog.name
    except Exception as exc:
        data.errors["deploy"] = f"{type(exc).__name__}: {exc}"
        say(traceback.format_exc(limit=4))
    finally:
        try:
            adapters.destroy(variant)
        except Exception as exc:
            data.errors["destroy"] = f"{type(exc).__name__}: {exc}"
            say(f"    destroy {variant} failed: {exc}")
    data.seconds = time.monotonic() - started
    return data


def print_targets(results: BenchResults) -> None:
    for check in results.targets:
        say(
            f"    [{verdict(check.met):>12}] {check.variant}: {check.name}: {check.value} "
            f"(goal {check.target})"
        )


def finish(results: BenchResults, out_dir: Path, readmes: Sequence[Path] = READMES) -> Path:
    """Targets, files under ``out_dir``, README sections; returns the results JSON path."""
    results.targets = evaluate(results)
    written = report.write_results(results, out_dir)
    for readme in readmes:
        results_link = os.path.relpath(written.markdown, readme.parent)
        method_link = os.path.relpath(REPO_ROOT / "bench" / "README.md", readme.parent)
        section = report.readme_section(results, results_link, method_link, soak_records.load(out_dir))
        if report.update_readme(readme, section):
            say(f"    updated the benchmark section of {readme}")
        elif readme.is_file():
            say(f"    {readme} has no {report.START_MARKER} ... {report.END_MARKER} markers: not updated")
    return written.json


def _check_catalogs(catalogs: Sequence[str]) -> list[str]:
    """The catalogs in order, once each; unknown names fail before anything is deployed."""
    from harness.models import load_catalog

    chosen: list[str] = []
    for catalog in catalogs:
        if catalog not in chosen:
            load_catalog(catalog)  # CatalogError (a HarnessError) names the available ones
            chosen.append(catalog)
    if not chosen:
        raise ValueError("no catalog to benchmark")
    return chosen


def _accuracy_catalogs(catalog_names: Sequence[str]) -> list[str]:
    """The run's catalogs, then every engine catalog of the default matrix not among them.

    In-process accuracy is the cheap part of a run (~1.5 min per engine for 2,000 questions here),
    and the engines' accuracy targets compare each ONNX engine with torch: a subset run
    (``BENCH_CATALOGS=offline,offline-int8``, to stay within the time budget) still measures the
    fp32 ONNX parity and the int8 loss on the same questions, in the same run.
    """
    return list(catalog_names) + [c for c in DEFAULT_CATALOGS if c not in catalog_names]


def run_benchmark(
    variants: list[str],
    questions: int = 500,
    warm_requests: int = 200,
    cold_starts: int = 5,
    *,
    catalogs: Sequence[str] = DEFAULT_CATALOGS,
    inprocess_questions: int = INPROCESS_QUESTIONS,
    out_dir: Path | None = None,
    time_budget_s: float | None = DEFAULT_BUDGET_S,
    readmes: Sequence[Path] = READMES,
    fleet_plan: FleetPlan | None = None,
) -> Path:
    """Benchmark every variant x catalog on the local cloud; returns the path of the results JSON.

    ``questions`` go through each run's endpoint; in-process, each catalog's engine answers
    ``max(questions, inprocess_questions)`` (the engines' accuracy targets are on 2,000). Then,
    with a ``fleet_plan``, the fleet scenario on each variant.
    """
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or not variants:
        raise ValueError(f"unknown variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    if questions < 1 or warm_requests < 1 or cold_starts < 1 or inprocess_questions < 1:
        raise ValueError("questions, in-process questions, warm_requests and cold_starts must be at least 1")
    catalog_names = _check_catalogs(catalogs)
    accuracy_catalogs = _accuracy_catalogs(catalog_names)
    out_dir = out_dir or RESULTS_DIR
    deadline = Deadline(time_budget_s)
    started = time.monotonic()
    infos: dict[str, inprocess.CatalogModels] = {}
    for catalog in accuracy_catalogs:
        with step(f"bundle of catalog {catalog} (the files the function serves; ONNX exports cached)"):
            infos[catalog] = inprocess.catalog_models(catalog)
    pool = inprocess.ModelPool(infos)
    model_types = sorted({mt for info in infos.values() for mt in info.model_types})
    accuracy_questions = max(questions, inprocess_questions)
    results = BenchResults(
        started_at=_now(),
        machine=report.machine_info(),
        settings=Settings(
            variants=list(variants),
            catalogs=catalog_names,
            model_types=model_types,
            questions=questions,
            inprocess_questions=accuracy_questions,
            warm_requests=warm_requests,
            cold_starts=cold_starts,
            concurrency_levels=list(CONCURRENCY_LEVELS),
            switch_rounds=SWITCH_ROUNDS,
            s3_repeats=S3_REPEATS,
            old_strategy_repeats=OLD_STRATEGY_REPEATS,
            percentiles="nearest-rank",
            qa_backend=QA_CODE,
            time_budget_s=time_budget_s,
        ),
        catalogs={name: info.info() for name, info in infos.items()},
    )
    matrix = [(v, c) for v in variants for c in catalog_names]
    say(
        f"==> benchmark {len(matrix)} runs ({', '.join(variants)} x {', '.join(catalog_names)}): "
        f"{questions} questions through each endpoint and {accuracy_questions} in-process, "
        f"{warm_requests} warm requests, {cold_starts} cold starts per run "
        f"(budget {time_budget_s or 0:.0f} s)"
    )
    try:
        with step("default CUDA torch size (PyPI metadata, cached)"):
            results.cuda_torch = _cuda_torch()
    except Exception as exc:
        results.cuda_torch = CudaTorch(error=f"{type(exc).__name__}: {exc}")
        say(f"    no CUDA torch estimate: {exc}")
    squad_questions = squad.load_questions(accuracy_questions)
    endpoint_questions = squad_questions[:questions]
    with step(f"in-process accuracy on {len(squad_questions)} questions ({', '.join(accuracy_catalogs)})"):
        runs = _inprocess_accuracy(pool, accuracy_catalogs, squad_questions)
    results.inprocess_accuracy = _accuracy_summary(pool, runs)
    results.engine_parity = _engine_parity(pool, runs, squad_questions)
    results.settings.inprocess_model_load_ms = pool.load_ms

    cuda = results.cuda_torch if results.cuda_torch.error is None else None
    for index, (variant, catalog) in enumerate(matrix, 1):
        say(f"==> run {index}/{len(matrix)}: {variant} with catalog {catalog} ({infos[catalog].engine})")
        results.runs[run_key(variant, catalog)] = bench_run(
            variant,
            catalog=infos[catalog],
            pool=pool,
            questions=endpoint_questions,
            inprocess_runs=runs[catalog],
            warm_requests=warm_requests,
            cold_start_count=cold_starts,
            cuda=cuda,
            deadline=deadline,
            results=results,
        )
        report.write_json(results, out_dir)  # keep what was measured so far

    if not results.old_strategy and not deadline.expired():
        question, context = adapters.example_request()
        torch_catalog = next((c for c in catalog_names if _is_torch_only(infos[c])), catalog_names[0])
        folders, source = _old_strategy_folders(None, inprocess.model_folders(torch_catalog))
        with step("the old sample's strategy, in-process (no EFS run of a torch catalog)"):
            results.old_strategy = old_strategy(
                folders, OLD_STRATEGY_REPEATS, question, context, source, deadline
            )
            results.old_strategy.catalog = torch_catalog
    if fleet_plan is not None:
        run_fleets(results, variants, fleet_plan, deadline, out_dir)
    results.finished_at = _now()
    results.duration_s = time.monotonic() - started
    path = finish(results, out_dir, readmes)
    say("==> targets")
    print_targets(results)
    return path


def run_fleets(
    results: BenchResults, variants: Sequence[str], plan: FleetPlan, deadline: Deadline, out_dir: Path
) -> None:
    """The fleet scenario on each variant, into ``results.fleet``, saved after each phase."""
    results.settings.fleet = plan

    def save(run: FleetRun) -> None:
        results.fleet[run.variant] = run
        report.write_json(results, out_dir)

    for variant in variants:
        save(bench_fleet(variant, plan, deadline, save))


def run_fleet_only(
    variants: Sequence[str],
    plan: FleetPlan,
    out_dir: Path,
    time_budget_s: float | None = DEFAULT_BUDGET_S,
    readmes: Sequence[Path] = READMES,
) -> Path:
    """Only the fleet scenario, merged into ``out_dir``'s results.json (its other runs kept)."""
    existing = out_dir / report.RESULTS_JSON
    if existing.is_file():
        results = BenchResults.load(existing)
    else:
        results = BenchResults(started_at=_now(), machine=report.machine_info())
    run_fleets(results, variants, plan, Deadline(time_budget_s), out_dir)
    path = finish(results, out_dir, readmes)
    say("==> targets")
    print_targets(results)
    return path


def _fleet_plan(args: argparse.Namespace) -> FleetPlan:
    return FleetPlan(sizes=args.fleet_sizes, requests=args.fleet_requests, concurrency=args.fleet_concurrency)


def run_from_args(args: argparse.Namespace, out_dir: Path | None = None) -> Path:
    """``run_benchmark`` (or only the fleet scenario) with the options of ``options.add_arguments``."""
    if args.fleet_only:
        variants = args.variant or list(VARIANTS)
        return run_fleet_only(variants, _fleet_plan(args), out_dir or RESULTS_DIR, args.budget_minutes * 60)
    return run_benchmark(
        args.variant or list(VARIANTS),
        questions=args.questions,
        warm_requests=args.warm_requests,
        cold_starts=args.cold_starts,
        catalogs=options.catalog_list(args.catalog),
        inprocess_questions=args.inprocess_questions,
        out_dir=out_dir,
        time_budget_s=args.budget_minutes * 60,
        fleet_plan=None if args.no_fleet else _fleet_plan(args),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.bench``: the same as ``python -m harness bench``, plus --out and --report-only."""
    parser = argparse.ArgumentParser(prog="python -m harness.bench", description=__doc__)
    options.add_arguments(parser)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--report-only", action="store_true", help="rebuild markdown, plots and README from results.json"
    )
    args = parser.parse_args(argv)
    if args.report_only:
        print(f"results: {finish(BenchResults.load(args.out / report.RESULTS_JSON), args.out)}")
        return 0
    print(f"results: {run_from_args(args, args.out)}")
    return 0
