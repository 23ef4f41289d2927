"""``make soak``: deploy (or reuse) a stack, load it steadily for minutes, sample, judge, destroy.

Not a timed test: a run of ``SOAK_MINUTES`` (10) at ``CONCURRENCY`` (8) over the catalog's
models (the offline catalog's two), with the host sampled every ~10 s (``sampler``). At the end
``soak.json`` and ``soak.png`` go into the results folder, the targets are printed with PASS or
FAIL, and when that folder holds the benchmark's results.json its results.md and the README's
benchmark section are rendered again with the soak's section. The deploy is the benchmark's
(``adapters.deploy``: every step skips itself when unchanged, so a deployed stack is reused as
it is); a stack the soak deployed is destroyed at the end, one it found is left running.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path

from harness.bench import adapters
from harness.bench.report.cells import PERCENTILES, fmt
from harness.bench.scenarios import Target, scale_out
from harness.bench.soak import options, records, report, summary
from harness.bench.soak.load import Load
from harness.bench.soak.options import SAMPLE_INTERVAL_S
from harness.bench.soak.records import SoakRecord
from harness.bench.soak.sampler import Host, Sampler
from harness.paths import VARIANTS
from harness.progress import say, step

DEFAULT_VARIANT = options.DEFAULT_VARIANT
DEFAULT_CATALOG = options.DEFAULT_CATALOG
DEFAULT_MINUTES = options.DEFAULT_MINUTES
DEFAULT_CONCURRENCY = options.DEFAULT_CONCURRENCY


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _model_types(catalog: str) -> list[str]:
    from harness.models import load_catalog

    return sorted(load_catalog(catalog).models)


def ramp(target: Target, record: SoakRecord, question: str, context: str) -> None:
    """Scale out one environment at a time to the soak's concurrency, before its clock starts.

    Eight torch cold starts at once on two shared cores each took over the function's 25 s
    timeout (init ~25 s, ``Sandbox.Timedout``, 502), and each retry cold-started again: the first
    short soak answered 21 of 208 requests with 502 and never reached 8 warm environments. On
    Lambda every environment has its own CPU; here they share the host's. Level k sends bursts of
    k requests until k environments run, so at most one cold start runs at a time. The soak is
    about the steady state; the scale-out is the benchmark's concurrency scenario.
    """
    started = time.monotonic()
    for level in range(1, record.concurrency + 1):
        model_type = record.model_types[level % len(record.model_types)]
        burst, _, running = scale_out(target, level, model_type, question, context)
        record.ramp_requests += len(burst)
        record.ramp_errors += sum(not result.ok for result in burst)
        record.ramp_environments = running
    record.ramp_s = time.monotonic() - started


def soak_target(
    target: Target, record: SoakRecord, seconds: float, interval_s: float = SAMPLE_INTERVAL_S
) -> SoakRecord:
    """Load ``target`` for ``seconds`` while sampling its local cloud; the record filled in."""
    from harness.docker_engine import engine_client
    from harness.localcloud.config import Settings

    settings = Settings.from_env()
    question, context = adapters.example_request()
    ramp(target, record, question, context)
    load = Load(target.client, record.model_types, question, context, record.concurrency)
    host = Host(settings, target.function_name, engine_client(timeout=30))
    sampler = Sampler(host, load.progress, interval_s)
    record.function_name = target.function_name
    record.sample_interval_s = interval_s
    record.log_cap_bytes = 2 * settings.log_max_bytes if settings.log_max_bytes else None
    started = time.monotonic()
    sampler.start(started)
    try:
        outcomes = load.run(started, seconds)
    finally:
        samples = sampler.stop()
    record.seconds = time.monotonic() - started
    return summary.fill(record, samples, outcomes)


def run_soak(
    variant: str = DEFAULT_VARIANT,
    catalog: str = DEFAULT_CATALOG,
    seconds: float = DEFAULT_MINUTES * 60,
    concurrency: int = DEFAULT_CONCURRENCY,
    interval_s: float = SAMPLE_INTERVAL_S,
    out_dir: Path | None = None,
    readmes: Sequence[Path] | None = None,
) -> SoakRecord:
    """The whole soak; results into ``out_dir`` (bench/results), the README's section when the
    results are the repository's (``readmes`` None: the benchmark's READMEs for its results folder)."""
    from harness.bench import report as bench_report
    from harness.bench.run import READMES, RESULTS_DIR

    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    if seconds <= 0 or concurrency < 1 or interval_s <= 0:
        raise ValueError("the soak needs positive seconds, interval and concurrency")
    out_dir = out_dir or RESULTS_DIR
    if readmes is None:
        readmes = READMES if out_dir.resolve() == RESULTS_DIR.resolve() else ()
    record = SoakRecord(
        started_at=_now(),
        machine=bench_report.machine_info(),
        variant=variant,
        catalog=catalog,
        model_types=_model_types(catalog),
        concurrency=concurrency,
        planned_s=seconds,
    )
    record.deployed_by_soak = not adapters.is_deployed(variant)
    try:
        with step(f"deploy {variant} (catalog {catalog})" + ("" if record.deployed_by_soak else ": reused")):
            target = Target.from_deployment(adapters.deploy(variant, catalog))
        with step(
            f"soak {variant}: {concurrency} clients over {', '.join(record.model_types)} "
            f"for {seconds / 60:.1f} min, a sample every {interval_s:.0f} s"
        ):
            soak_target(target, record, seconds, interval_s)
    finally:
        if record.deployed_by_soak:
            adapters.destroy(variant)
    record.finished_at = _now()
    _write(record, out_dir, readmes)
    return record


def _write(record: SoakRecord, out_dir: Path, readmes: Sequence[Path]) -> None:
    """soak.json and soak.png; results.md and the READMEs again when the benchmark's results are there."""
    from harness.bench import report as bench_report
    from harness.bench.results import BenchResults
    from harness.bench.run import finish

    say(f"    wrote {records.write(record, out_dir)}")
    plot = report.write_plot(record, out_dir)
    if plot:
        say(f"    wrote {plot}")
    results = out_dir / bench_report.RESULTS_JSON
    if results.is_file():
        finish(BenchResults.load(results), out_dir, readmes)
        say(f"    rendered {out_dir / bench_report.RESULTS_MD} with the soak's section")
    else:
        say(f"    no {results}: results.md and the README are not rendered (run `make bench` first)")


def print_targets(record: SoakRecord) -> None:
    latency = " / ".join(fmt(getattr(record.latency_ms, p)) for p in PERCENTILES)
    say(f"==> soak: {record.requests} requests, {record.errors} errors, p50 / p95 / p99 {latency} ms")
    growth = ", ".join(
        f"{name} {fmt(g.per_minute_bytes, 2, 1e-6)} MB/min"
        for name, g in (("logs/", record.logs), ("services/", record.service_logs), ("state", record.state))
    )
    moto = fmt(record.moto_bytes_per_request, 1, 1e-3)
    say(f"    growth after the warm-up: {growth}; moto {moto} KB per request (its CloudWatch data)")
    for check in record.targets:
        state = {True: "PASS", False: "FAIL", None: "NOT MEASURED"}[check.met]
        say(f"    [{state:>12}] {check.name}: {check.value} (goal {check.target})")


def run_from_args(args: argparse.Namespace) -> int:
    """``run_soak`` with the options of ``options.add_arguments``; 1 when a target is not met."""
    record = run_soak(
        args.variant, args.catalog, options.seconds(args), args.concurrency, args.interval, args.out
    )
    print_targets(record)
    return 0 if record.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m harness.bench.soak``: the same as ``python -m harness soak``."""
    parser = argparse.ArgumentParser(prog="python -m harness.bench.soak", description=__doc__)
    options.add_arguments(parser)
    return run_from_args(parser.parse_args(argv))
