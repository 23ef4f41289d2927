"""The measurements, one function per scenario, each returning its record (``records.py``).

Every scenario takes the deployed ``Target`` and a ``Deadline``; loops stop when the deadline
passes and say so (``"truncated": true``) instead of running past the benchmark's time budget.
Nothing here deploys or destroys (``run.py`` does), and the local cloud is only reached through
``adapters``.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.bench import adapters, inprocess, logparse
from harness.bench.client import ApiClient, ApiResult
from harness.bench.records import (
    Accuracy,
    AccuracyModel,
    ColdSample,
    ColdStart,
    Concurrency,
    ConcurrencyLevel,
    Image,
    OldStrategy,
    OldStrategyModel,
    Reference,
    S3Throughput,
    ScaleOut,
    Summary,
    Switching,
    SwitchModel,
    SwitchSample,
    Warm,
    WarmModel,
)
from harness.bench.squad import ACCURACY_TOLERANCE, Question, normalize_answer, reference_score, score
from harness.bench.stats import median, percentile, ratio, throughput
from harness.progress import say

WARMUP_REQUESTS = 5
LOG_WAIT_SECONDS = 10.0
SCALE_OUT_BURSTS = 10  # bursts a concurrency level may send until that many environments run
MB = 1_000_000


@dataclass
class Target:
    """A deployed variant, as the scenarios see it (from ``harness.deploy.Deployment``)."""

    variant: str
    api_url: str
    function_name: str
    outputs: dict[str, Any] = field(default_factory=dict)
    image_tag: str = ""
    image_size_bytes: int = 0

    @classmethod
    def from_deployment(cls, deployment: Any) -> Target:
        return cls(
            variant=deployment.variant,
            api_url=deployment.api_url,
            function_name=deployment.function_name,
            outputs=dict(getattr(deployment, "outputs", {}) or {}),
            image_tag=getattr(deployment, "image_tag", "") or "",
            image_size_bytes=int(getattr(deployment, "image_size_bytes", 0) or 0),
        )

    def client(self) -> ApiClient:
        return ApiClient(self.api_url)


class Deadline:
    """A wall-clock budget; ``None`` seconds means no limit."""

    def __init__(self, seconds: float | None) -> None:
        self.end = None if seconds is None else time.monotonic() + seconds

    def expired(self) -> bool:
        return self.end is not None and time.monotonic() >= self.end

    def remaining(self) -> float | None:
        return None if self.end is None else max(0.0, self.end - time.monotonic())


class Ticker:
    """Progress lines for a long loop: at most one every ``every`` seconds, and the last one."""

    def __init__(self, title: str, total: int, every: float = 10.0) -> None:
        self.title, self.total, self.every = title, total, every
        self.last = time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total or self.total
        now = time.monotonic()
        if done >= total or now - self.last >= self.every:
            self.last = now
            say(f"    {self.title}: {done}/{total}")


def _round(values: Sequence[float], digits: int = 3) -> list[float]:
    return [round(v, digits) for v in values]


def _p50(values: Sequence[float]) -> float | None:
    return percentile(values, 50) if values else None


# --- cold start --------------------------------------------------------------------------------


def _new_environment_log(
    function_name: str, before: dict[str, adapters.LogFile], wait: float
) -> tuple[str | None, logparse.LogSummary]:
    """The log of the environment that appeared since ``before`` (waiting for its init line)."""
    deadline = time.monotonic() + wait
    while True:
        fresh = [log for env_id, log in adapters.env_logs(function_name).items() if env_id not in before]
        if fresh:
            newest = max(fresh, key=lambda log: log.mtime)
            summary = logparse.parse_log(adapters.read_log(newest))
            if summary.has_init or time.monotonic() >= deadline:
                return newest.env_id, summary
        elif time.monotonic() >= deadline:
            return None, logparse.LogSummary()
        time.sleep(0.2)


def _cold_request(target: Target, model_type: str, question: str, context: str) -> ColdSample:
    """Reset the function's environments, send one request, break its latency down."""
    before = adapters.env_logs(target.function_name)
    stopped = adapters.reset_environments(target.function_name)
    with target.client() as client:
        result = client.ask(model_type, question, context)
    env_id, log = _new_environment_log(target.function_name, before, LOG_WAIT_SECONDS)
    breakdown = logparse.cold_start_breakdown(result.latency_ms, result.timings_ms, log)
    return ColdSample(
        status=result.status,
        error=result.error,
        cold=env_id is not None,
        env_id=env_id,
        environments_stopped=stopped,
        timings_ms=result.timings_ms,
        init_ms=log.init_timings_ms,
        eager=log.eager,
        threads=log.threads,
        breakdown_ms=breakdown,
    )


def cold_starts(
    target: Target, count: int, model_type: str, question: str, context: str, deadline: Deadline
) -> ColdStart:
    """``count`` cold starts: each a fresh environment's first answer, broken down from its logs."""
    samples: list[ColdSample] = []
    tick = Ticker(f"{target.variant} cold starts", count, every=0.0)
    for index in range(count):
        if deadline.expired():
            break
        samples.append(_cold_request(target, model_type, question, context))
        tick(index + 1)
    good = [s for s in samples if s.status == 200 and s.cold]
    parts = (*logparse.BREAKDOWN_PARTS, "total", "model_fetch_raw", "init_total")
    medians: dict[str, float | None] = {}
    for part in parts:
        values = [v for s in good if (v := s.breakdown_ms.get(part)) is not None]
        medians[part] = median(values) if values else None
    totals = [s.breakdown_ms["total"] for s in good]
    threads = Counter(s.threads for s in good if s.threads)
    return ColdStart(
        model_type=model_type,
        requested=count,
        count=len(samples),
        ok=len(good),
        truncated=len(samples) < count,
        median_ms=medians,
        total_ms=Summary.of(totals),
        function_threads=threads.most_common(1)[0][0] if threads else None,
        samples=samples,
    )


# --- warm latency ------------------------------------------------------------------------------


def _warm_up(client: ApiClient, model_type: str, question: str, context: str, count: int) -> None:
    for _ in range(count):
        client.ask(model_type, question, context)


def _served_engine(result: ApiResult) -> str:
    model = result.body.get("model")
    return str(model.get("engine", "")) if isinstance(model, dict) else ""


def warm_latency(
    target: Target,
    pool: inprocess.ModelPool,
    catalog: str,
    model_types: Sequence[str],
    requests: int,
    question: str,
    context: str,
    deadline: Deadline,
    threads: int | None = None,
) -> Warm:
    """Per model: ``requests`` warm requests end to end, then the in-process forward beside them.

    The in-process side runs the catalog's model on the same engine, from the same files, with the
    function's thread count (an ONNX session is created with it: ORT fixes threads per session).
    """
    models: dict[str, WarmModel] = {}
    with target.client() as client:
        for model_type in model_types:
            if deadline.expired():
                break
            _warm_up(client, model_type, question, context, WARMUP_REQUESTS)
            e2e: list[float] = []
            server: list[float] = []
            served: Counter[str] = Counter()
            errors = 0
            tick = Ticker(f"{target.variant} warm {model_type}", requests)
            for index in range(requests):
                if deadline.expired():
                    break
                result = client.ask(model_type, question, context)
                if result.ok:
                    e2e.append(result.latency_ms)
                    server.append(result.timings_ms.get("inference", 0.0))
                    served[_served_engine(result)] += 1
                else:
                    errors += 1
                tick(index + 1)
            local = inprocess.time_forward(
                pool.get(catalog, model_type, threads),
                question,
                context,
                repeats=max(len(e2e), 1),
                threads=threads,
            )
            e2e_p50, forward_p50, answer_p50 = _p50(e2e), _p50(local.forward_ms), _p50(local.answer_ms)
            server_p50 = _p50(server)
            models[model_type] = WarmModel(
                requests=len(e2e),
                errors=errors,
                truncated=len(e2e) + errors < requests,
                engine=pool.engine(catalog, model_type),
                # what the function says answered (its response's model.engine): must be the above
                served_engines=dict(served),
                end_to_end_ms=Summary.of(e2e),
                function_inference_ms=Summary.of(server),
                inprocess_forward_ms=Summary.of(local.forward_ms),
                inprocess_answer_ms=Summary.of(local.answer_ms),
                inprocess_threads=local.threads,
                windows=local.windows,
                # The overhead the issue targets: end to end minus the bare forward, both p50.
                overhead_p50_ms=None if e2e_p50 is None else e2e_p50 - (forward_p50 or 0.0),
                # ... and where it goes: tokenising + decoding, the function outside its inference
                # timer plus the HTTP/gateway/runtime hops.
                tokenize_decode_p50_ms=(answer_p50 or 0.0) - (forward_p50 or 0.0),
                outside_inference_p50_ms=None if e2e_p50 is None else e2e_p50 - (server_p50 or 0.0),
                samples_ms={"end_to_end": _round(e2e), "inprocess_forward": _round(local.forward_ms)},
            )
    return Warm(models=models, threads=threads, truncated=len(models) < len(model_types))


# --- model switching ---------------------------------------------------------------------------


def _log_counters(function_name: str) -> tuple[Counter[str], Counter[str]]:
    loads: Counter[str] = Counter()
    misses: Counter[str] = Counter()
    for log in adapters.env_logs(function_name).values():
        summary = logparse.parse_log(adapters.read_log(log))
        loads.update(summary.model_loads)
        misses.update(summary.cache_misses)
    return loads, misses


def _is_reload(result: ApiResult) -> bool:
    """A request that had to fetch or load its model (the function reports 0.0 for a cache hit)."""
    timings = result.timings_ms
    return timings.get("load", 0.0) > 0.0 or timings.get("fetch", 0.0) > 0.0


def model_switching(
    target: Target, model_types: Sequence[str], rounds: int, question: str, context: str, deadline: Deadline
) -> Switching:
    """Alternate the models ``rounds`` times after each was loaded once; count reloads."""
    sequence: list[SwitchSample] = []
    with target.client() as client:
        initial = {mt: _is_reload(client.ask(mt, question, context)) for mt in model_types}
        models_before = client.models().body.get("models", {})
        loads_before, misses_before = _log_counters(target.function_name)
        for index in range(rounds * len(model_types)):
            if deadline.expired():
                break
            model_type = model_types[index % len(model_types)]
            result = client.ask(model_type, question, context)
            sequence.append(
                SwitchSample(
                    model_type=model_type,
                    status=result.status,
                    latency_ms=round(result.latency_ms, 3),
                    reload=_is_reload(result),
                    timings_ms=result.timings_ms,
                )
            )
        models_after = client.models().body.get("models", {})
    loads_after, misses_after = _log_counters(target.function_name)
    per_model = {}
    for model_type in model_types:
        mine = [s for s in sequence if s.model_type == model_type and s.status == 200]
        per_model[model_type] = SwitchModel(
            requests=len(mine),
            reloads=sum(s.reload for s in mine),
            latency_ms=Summary.of([s.latency_ms for s in mine]),
        )
    answered = [s for s in sequence if s.status == 200]
    return Switching(
        rounds=rounds,
        requests=len(sequence),
        errors=len(sequence) - len(answered),
        reloads=sum(s.reload for s in answered),
        cache_hits=sum(not s.reload for s in answered),
        reloads_from_logs=sum((loads_after - loads_before).values()),
        cache_misses_from_logs=sum((misses_after - misses_before).values()),
        loaded_on_first_request=initial,
        models_before=models_before,
        models_after=models_after,
        per_model=per_model,
        truncated=len(sequence) < rounds * len(model_types),
        sequence=sequence,
    )


# --- S3 download throughput --------------------------------------------------------------------


def _published_manifest(s3: Any, bucket: str) -> tuple[str, Any]:
    """(key prefix, Manifest) of the manifest published in ``bucket`` (the shallowest one)."""
    from inference.contract import MANIFEST_NAME, Manifest

    keys: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].rsplit("/", 1)[-1] == MANIFEST_NAME]
    if not keys:
        raise adapters.UnavailableError(f"no {MANIFEST_NAME} in s3://{bucket}")
    key = min(keys, key=lambda k: (k.count("/"), k))
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return key[: -len(MANIFEST_NAME)], Manifest.from_json(body)


def _raw_get_seconds(s3: Any, bucket: str, keys: Sequence[str]) -> tuple[float, int]:
    started = time.perf_counter()
    total = 0
    for key in keys:
        total += len(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    return time.perf_counter() - started, total


def s3_throughput(
    target: Target, repeats: int, question: str, context: str, deadline: Deadline
) -> S3Throughput:
    """The function's model download rate against a plain boto3 GET of the same objects.

    The function side: in a fresh environment, the first request for a lazy model downloads it
    (``timings_ms.fetch``); eager models are downloaded at init (the init line's ``eager``), while
    the imports run beside them. The raw side: boto3 ``get_object`` of the same files, read to the
    end, from this host through the same endpoint (the gateway in front of moto).
    """
    bucket = target.outputs.get("model_bucket")
    if not bucket:
        raise adapters.UnavailableError("the deployment has no model_bucket output")
    s3 = adapters.s3_client()
    prefix, manifest = _published_manifest(s3, bucket)
    lazy = sorted(m for m, spec in manifest.models.items() if not spec.eager)
    model_type = lazy[0] if lazy else sorted(manifest.models)[0]
    model = manifest.models[model_type]
    keys = [f"{prefix}{model.folder}/{f.name}" for f in model.files]
    raw_rates: list[float] = []
    function_rates: list[float] = []
    eager_rates: dict[str, list[float]] = {}
    for _ in range(repeats):
        if deadline.expired():
            break
        seconds, size = _raw_get_seconds(s3, bucket, keys)
        raw_rates.append(size / MB / seconds)
        sample = _cold_request(target, model_type, question, context)
        fetch_ms = sample.timings_ms.get("fetch", 0.0)
        if sample.status == 200 and fetch_ms > 0:
            function_rates.append(model.size / MB / (fetch_ms / 1000.0))
        for eager_type, timing in (sample.eager or {}).items():
            eager_fetch = timing.get("fetch") if isinstance(timing, dict) else None
            if eager_type in manifest.models and eager_fetch:
                size_mb = manifest.models[eager_type].size / MB
                eager_rates.setdefault(eager_type, []).append(size_mb / (eager_fetch / 1000.0))
    raw_median = median(raw_rates) if raw_rates else None
    function_median = median(function_rates) if function_rates else None
    return S3Throughput(
        bucket=bucket,
        model_type=model_type,
        model_bytes=model.size,
        files=len(keys),
        raw_get_mb_s=Summary.of(raw_rates),
        function_mb_s=Summary.of(function_rates),
        eager_at_init_mb_s={mt: Summary.of(v) for mt, v in eager_rates.items()},
        raw_median_mb_s=raw_median,
        function_median_mb_s=function_median,
        function_to_raw=ratio(function_median, raw_median),
        repeats=len(raw_rates),
        truncated=len(raw_rates) < repeats,
    )


# --- concurrency -------------------------------------------------------------------------------


def _parallel(
    target: Target, workers: int, total: int, model_type: str, question: str, context: str
) -> tuple[list[ApiResult], float]:
    """``total`` requests from ``workers`` threads (each its own session), started together."""
    barrier = threading.Barrier(workers)
    share = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]

    def work(count: int) -> list[ApiResult]:
        with target.client() as client:
            barrier.wait()
            return [client.ask(model_type, question, context) for _ in range(count)]

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bench") as executor:
        started = time.perf_counter()
        futures = [executor.submit(work, n) for n in share]
        results = [r for f in futures for r in f.result()]
        seconds = time.perf_counter() - started
    return results, seconds


def scale_out(
    target: Target, level: int, model_type: str, question: str, context: str
) -> tuple[list[ApiResult], float, int | None]:
    """Bursts of ``level`` requests at once until ``level`` environments run (at most SCALE_OUT_BURSTS).

    One burst is not always enough: a warm environment answers in ~20 ms, so a request that
    leaves a few ms after the others can be served by an environment that has just finished.
    Returns the burst results, the seconds until the environments ran, and how many ran then.
    """
    results: list[ApiResult] = []
    started = time.perf_counter()
    running = None
    for _ in range(SCALE_OUT_BURSTS):
        burst, _ = _parallel(target, level, level, model_type, question, context)
        results += burst
        running = adapters.count_containers(target.function_name)
        if running is None or running >= level:
            break
    return results, time.perf_counter() - started, running


def concurrency(
    target: Target,
    levels: Sequence[int],
    requests_per_level: Callable[[int], int],
    model_type: str,
    question: str,
    context: str,
    deadline: Deadline,
) -> Concurrency:
    """For each level: scale out, then throughput and latency once the environments are warm.

    A level first sends ``level`` requests at once: that burst starts whatever environments the
    level needs (cold starts, seconds each), and is reported on its own as the scale-out. The
    throughput and percentiles that follow are the steady state of ``level`` clients on warm
    environments; mixed into one figure, the cold starts hid it (40 requests at concurrency 2
    "ran at" 4 req/s because one of them was a 2.5 s cold start).
    """
    out: dict[str, ConcurrencyLevel] = {}
    with target.client() as client:
        _warm_up(client, model_type, question, context, 1)
    for level in levels:
        if deadline.expired():
            break
        total = requests_per_level(level)
        before = adapters.env_logs(target.function_name)
        burst, burst_seconds, running = scale_out(target, level, model_type, question, context)
        results, seconds = _parallel(target, level, total, model_type, question, context)
        after = adapters.env_logs(target.function_name)
        started = sorted(set(after) - set(before))
        used = sorted(e for e, log in after.items() if e not in before or log.size != before[e].size)
        ok = [r.latency_ms for r in results if r.ok]
        statuses = Counter(r.status for r in results)
        burst_ok = [r.latency_ms for r in burst if r.ok]
        level_out = out[str(level)] = ConcurrencyLevel(
            concurrency=level,
            scale_out=ScaleOut(
                requests=len(burst),
                errors=len(burst) - len(burst_ok),
                seconds=burst_seconds,
                latency_ms=Summary.of(burst_ok),
                environments_running=running,
            ),
            requests=len(results),
            errors=len(results) - len(ok),
            statuses={str(k): v for k, v in sorted(statuses.items())},
            seconds=seconds,
            throughput_rps=throughput(len(ok), seconds),
            latency_ms=Summary.of(ok),
            environments_started=len(started),
            environments_used=len(used),
            containers_running_after=adapters.count_containers(target.function_name),
        )
        say(
            f"    {target.variant} concurrency {level}: scale-out {burst_seconds:.1f} s "
            f"({len(started)} environment(s) started), then {level_out.throughput_rps or 0:.1f} req/s, "
            f"p95 {level_out.latency_ms.p95 or 0:.0f} ms"
        )
    return Concurrency(model_type=model_type, levels=out, truncated=len(out) < len(levels))


# --- accuracy ----------------------------------------------------------------------------------


def accuracy(
    target: Target,
    questions: Sequence[Question],
    model_types: Sequence[str],
    inprocess_runs: dict[str, inprocess.AccuracyRun],
    deadline: Deadline,
    with_reference: bool = True,
) -> Accuracy:
    """EM/F1 through the endpoint beside the same engine's in-process answers to the same questions.

    ``identical``: every answer is the in-process one (the same code on the same files gives
    that); ``agree``: EM and F1 within ACCURACY_TOLERANCE. ``with_reference``: also compare the
    in-process figures with ../shared/hf-cache/README.md (its numbers are torch's).
    """
    out: dict[str, AccuracyModel] = {}
    with target.client() as client:
        for model_type in model_types:
            predictions: dict[str, str] = {}
            errors = 0
            tick = Ticker(f"{target.variant} accuracy {model_type}", len(questions))
            for index, question in enumerate(questions):
                if deadline.expired():
                    break
                result = client.ask(model_type, question.question, question.context)
                predictions[question.id] = result.answer if result.ok else ""
                errors += not result.ok
                tick(index + 1)
            answered = [q for q in questions if q.id in predictions]
            local = inprocess_runs[model_type]
            endpoint_score = score(answered, predictions)
            local_score = score(answered, local.predictions)
            differing = [q.id for q in answered if predictions[q.id] != local.predictions.get(q.id)]
            differing_normalized = [
                q.id
                for q in answered
                if normalize_answer(predictions[q.id]) != normalize_answer(local.predictions.get(q.id, ""))
            ]
            reference = reference_score(model_type, len(answered)) if with_reference else None
            agree = endpoint_score.agrees_with(local_score.exact_match, local_score.f1)
            matches = None if reference is None else local_score.agrees_with(*reference)
            out[model_type] = AccuracyModel(
                questions=len(answered),
                errors=errors,
                endpoint=endpoint_score,
                inprocess=local_score,
                reference=None if reference is None else Reference(*reference),
                agree=agree,
                identical=bool(answered) and not differing,
                matches_reference=matches,
                differing_answers=len(differing),
                differing_after_normalisation=len(differing_normalized),
                differing_ids=differing[:20],
                truncated=len(answered) < len(questions),
            )
    return Accuracy(models=out, tolerance_points=ACCURACY_TOLERANCE)


# --- image size --------------------------------------------------------------------------------


def image_size(
    target: Target,
    cuda_estimate: dict[str, Any] | None,
    cpu_torch_bytes: int | None,
    runtimes: Sequence[str] = ("torch",),
) -> Image:
    """The image's size; for an image with torch, what PyPI's default CUDA torch would have made it."""
    from harness.bench.torchsize import cuda_image_size

    out = Image(image_tag=target.image_tag, image_bytes=target.image_size_bytes, runtimes=sorted(runtimes))
    if "torch" in runtimes and cuda_estimate and target.image_size_bytes and cpu_torch_bytes:
        out.cuda_torch_image_bytes = cuda_image_size(target.image_size_bytes, cuda_estimate, cpu_torch_bytes)
    return out


# --- the old sample's strategy -----------------------------------------------------------------


def old_strategy(
    folders: dict[str, Path], repeats: int, question: str, context: str, source: str, deadline: Deadline
) -> OldStrategy:
    """Per model: the old EFS handler's per-invocation load + answer, in-process, ``repeats`` times."""
    models: dict[str, OldStrategyModel] = {}
    for model_type, folder in sorted(folders.items()):
        if deadline.expired():
            break
        calls = inprocess.time_old_strategy(folder, question, context, repeats)
        models[model_type] = OldStrategyModel(
            folder=str(folder),
            answer=calls[-1].answer if calls else "",
            total_ms=Summary.of([c.total_ms for c in calls]),
            load_ms=Summary.of([c.load_ms for c in calls]),
            inference_ms=Summary.of([c.inference_ms for c in calls]),
        )
        say(f"    old strategy {model_type}: p50 {models[model_type].total_ms.p50 or 0:.0f} ms per request")
    return OldStrategy(files=source, repeats=repeats, models=models)
