"""Results on disk: JSON, a markdown report, PNG plots, and the README's benchmark section.

Everything here reads the results dict that ``run.py`` builds (see ``bench/README.md`` for its
layout; the matrix of runs through ``records``) and tolerates missing parts: a scenario that was
skipped shows as "-", never as an error. Engines sit side by side: one summary table per catalog
(engine) with the variants as columns, an engines table with the engines as columns, plots with
one bar or line per engine.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.bench import fleet_report, records
from harness.bench.records import INT8, TORCH, Run
from harness.bench.targets import (
    COLD_START_S,
    TargetCheck,
    evaluate,
    image_goal,
    old_strategy_factors,
    verdict,
)

START_MARKER = "<!-- BENCH:START -->"
END_MARKER = "<!-- BENCH:END -->"
RESULTS_JSON = "results.json"
RESULTS_MD = "results.md"
BREAKDOWN_LABELS = {
    "container_start": "container start",
    "init_imports": "init: imports",
    "model_fetch": "model fetch",
    "model_load": "model load",
    "first_inference": "first inference",
    "other": "other (runtime, HTTP)",
}


# --- the machine -------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


BUSY_LOAD_PER_CPU = 0.5  # a 1-minute load average above this share of the CPUs: a busy machine


def machine_info() -> dict[str, Any]:
    """nproc, memory, CPU model and the software that did the measuring."""
    info: dict[str, Any] = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "memory_bytes": _memory_bytes(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    # Other work on a 2-core machine shows in every latency (an earlier run beside a test suite
    # measured imports at 5.6 s instead of 2.0 s); the report says how busy the machine was.
    with contextlib.suppress(OSError, AttributeError):
        info["loadavg_1m_at_start"] = round(os.getloadavg()[0], 2)
    for distribution in ("torch", "onnxruntime"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            info[distribution] = importlib.metadata.version(distribution)
    torch = sys.modules.get("torch")  # threads only if already imported: importing takes seconds
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    return info


def machine_line(machine: dict[str, Any]) -> str:
    memory = machine.get("memory_bytes")
    memory_text = f"{memory / 2**30:.1f} GiB memory" if memory else "memory unknown"
    line = (
        f"{machine.get('nproc', '?')} CPUs ({machine.get('cpu_model', 'unknown')}), {memory_text}, "
        f"{machine.get('os', '')}, Python {machine.get('python', '?')}, torch {machine.get('torch', '?')}"
    )
    if machine.get("onnxruntime"):
        line += f", onnxruntime {machine['onnxruntime']}"
    load = machine.get("loadavg_1m_at_start")
    if load is not None:
        busy = load >= BUSY_LOAD_PER_CPU * (machine.get("nproc") or 1)
        line += f", load average {load:.2f} at the start" + (
            " (busy: other work was running, so the timings are pessimistic)" if busy else ""
        )
    return line


# --- formatting helpers ------------------------------------------------------------------------


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        if isinstance(data, dict) and key in data:
            data = data[key]
        else:
            return None
    return data


def _fmt(value: Any, digits: int = 1, scale: float = 1.0, suffix: str = "") -> str:
    if value is None or isinstance(value, bool):
        return "-"
    try:
        return f"{float(value) * scale:.{digits}f}{suffix}"
    except (TypeError, ValueError):
        return str(value)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _runs(results: dict[str, Any], catalog: str | None = None) -> list[Run]:
    return records.runs(results, catalog=catalog)


def _data(results: dict[str, Any], run: Run, *path: str | int) -> Any:
    return _get(records.data(results, run), *path)


def _model_types(results: dict[str, Any], catalog: str | None = None) -> list[str]:
    engines = _get(results, "catalogs", catalog, "engines") if catalog else None
    if engines:
        return sorted(engines)
    return list(_get(results, "settings", "model_types") or ["nlp1", "nlp2"])


def _levels(results: dict[str, Any]) -> list[int]:
    return list(_get(results, "settings", "concurrency_levels") or [1, 2, 4, 8])


def _em_f1(score: dict[str, Any] | None) -> str:
    if not score:
        return "-"
    return f"{_fmt(score.get('exact_match'), 2)} / {_fmt(score.get('f1'), 2)}"


def _joined(values: Iterable[str]) -> str:
    values = list(values)
    return " / ".join(values) if any(v != "-" for v in values) else "-"


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


# --- markdown ----------------------------------------------------------------------------------


def summary_table(results: dict[str, Any], catalog: str | None = None) -> str:
    """One catalog's runs (variants as columns); the first catalog of the run by default."""
    if catalog is None:
        catalog = next(iter(records.catalogs(results)), None)
    runs = _runs(results, catalog)
    models = _model_types(results, catalog)
    rows: list[list[str]] = []

    def row(label: str, values: Iterable[str]) -> None:
        rows.append([label, *values])

    def per_run(*path: str | int, digits: int = 1, scale: float = 1.0) -> list[str]:
        return [_fmt(_data(results, r, *path), digits, scale) for r in runs]

    row("cold start, median (s)", per_run("cold_start", "median_ms", "total", digits=2, scale=0.001))
    for mt in models:
        row(
            f"warm p50 / p95 / p99, {mt} (ms)",
            [
                " / ".join(
                    _fmt(_data(results, r, "warm", "models", mt, "end_to_end_ms", p))
                    for p in ("p50", "p95", "p99")
                )
                for r in runs
            ],
        )
    for mt in models:
        row(
            f"function inference p50, {mt} (ms)",
            per_run("warm", "models", mt, "function_inference_ms", "p50"),
        )
    for mt in models:
        row(
            f"in-process forward p50, {mt} (ms)",
            per_run("warm", "models", mt, "inprocess_forward_ms", "p50"),
        )
    for mt in models:
        row(f"overhead p50, {mt} (ms)", per_run("warm", "models", mt, "overhead_p50_ms"))
    row("reloads when switching", per_run("switching", "reloads", digits=0))
    levels = _levels(results)
    row(
        f"warm throughput at concurrency {'/'.join(map(str, levels))} (req/s)",
        [
            " / ".join(
                _fmt(_data(results, r, "concurrency", "levels", str(lv), "throughput_rps")) for lv in levels
            )
            for r in runs
        ],
    )
    row(
        f"warm p95 at concurrency {levels[-1]} (ms)",
        per_run("concurrency", "levels", str(levels[-1]), "latency_ms", "p95", digits=0),
    )
    row(
        f"scale-out to {levels[-1]} concurrent requests (s)",
        per_run("concurrency", "levels", str(levels[-1]), "scale_out", "seconds"),
    )
    row(
        "S3 download vs raw GET (MB/s)",
        [
            f"{_fmt(_data(results, r, 's3', 'function_median_mb_s'))} vs "
            f"{_fmt(_data(results, r, 's3', 'raw_median_mb_s'))}"
            if _data(results, r, "s3")
            else "-"
            for r in runs
        ],
    )
    for mt in models:
        row(
            f"EM / F1 {mt}, endpoint",
            [_em_f1(_data(results, r, "accuracy", "models", mt, "endpoint")) for r in runs],
        )
    row(
        f"answers differing from in-process, {' / '.join(models)}",
        [
            _joined(
                _fmt(_data(results, r, "accuracy", "models", mt, "differing_answers"), 0) for mt in models
            )
            for r in runs
        ],
    )
    row("image (MB)", per_run("image", "image_bytes", digits=0, scale=1e-6))
    if TORCH in records.catalog_runtimes(results, catalog or ""):
        row(
            "image with default CUDA torch (GB, est.)",
            per_run("image", "cuda_torch_image_bytes", digits=2, scale=1e-9),
        )
    if results.get("old_strategy") and records.catalog_engine(results, catalog or "") == TORCH:
        row(
            f"old sample's strategy / warm p50, {models[0]} (x)",
            [_fmt(old_strategy_factors(results, r).get(models[0])) for r in runs],
        )
    return _table(["", *(r.variant for r in runs)], rows)


def _catalog_heading(results: dict[str, Any], catalog: str) -> str:
    return f"**Engine {records.catalog_label(results, catalog)}** (catalog `{catalog}`)"


def summary_tables(results: dict[str, Any]) -> str:
    """One summary table per catalog (engine), each headed by its engine and catalog."""
    parts = []
    for catalog in records.catalogs(results):
        if _runs(results, catalog):
            parts += [_catalog_heading(results, catalog), summary_table(results, catalog)]
    return "\n\n".join(parts) if parts else summary_table(results)


def engines_table(results: dict[str, Any]) -> str:
    """The engines side by side (columns); a cell lists the variants in run order (s3 / efs / oci)."""
    catalogs = records.catalogs(results)
    if not catalogs:
        return ""
    variants = records.variants(results)
    models = _model_types(results)
    torch_catalog = records.catalog_for_engine(results, TORCH)
    by_variant = " / ".join(variants)
    rows: list[list[str]] = []

    def per_variant(catalog: str, *path: str | int, digits: int = 1, scale: float = 1.0) -> str:
        cells = []
        for variant in variants:
            run = next(iter(records.runs(results, catalog=catalog, variant=variant)), None)
            cells.append(_fmt(_data(results, run, *path), digits, scale) if run else "-")
        return _joined(cells)

    for mt in models:
        rows.append(
            [
                f"in-process forward p50, {mt} (ms, median of the runs)",
                *(
                    _fmt(
                        _median(
                            [
                                _data(results, r, "warm", "models", mt, "inprocess_forward_ms", "p50")
                                for r in _runs(results, c)
                            ]
                        )
                    )
                    for c in catalogs
                ),
            ]
        )
    for mt in models:
        rows.append(
            [
                f"function inference p50, {mt}, {by_variant} (ms)",
                *(per_variant(c, "warm", "models", mt, "function_inference_ms", "p50") for c in catalogs),
            ]
        )
    if torch_catalog and len(catalogs) > 1:
        for mt in models:
            cells = []
            for c in catalogs:
                speedups = []
                for variant in variants:
                    ours = next(iter(records.runs(results, catalog=c, variant=variant)), None)
                    theirs = next(iter(records.runs(results, catalog=torch_catalog, variant=variant)), None)
                    a = (
                        _data(results, ours, "warm", "models", mt, "function_inference_ms", "p50")
                        if ours
                        else None
                    )
                    b = (
                        _data(results, theirs, "warm", "models", mt, "function_inference_ms", "p50")
                        if theirs
                        else None
                    )
                    speedups.append(_fmt(b / a, 2) if a and b else "-")
                cells.append(_joined(speedups))
            rows.append([f"inference speed-up vs torch, {mt}, {by_variant} (x)", *cells])
    rows.append(
        [
            f"cold start median, {by_variant} (s)",
            *(per_variant(c, "cold_start", "median_ms", "total", digits=2, scale=0.001) for c in catalogs),
        ]
    )
    for mt in models:
        rows.append(
            [
                f"warm p50, {mt}, {by_variant} (ms)",
                *(per_variant(c, "warm", "models", mt, "end_to_end_ms", "p50") for c in catalogs),
            ]
        )
    last = str(_levels(results)[-1])
    rows.append(
        [
            f"warm throughput at concurrency {last}, {by_variant} (req/s)",
            *(per_variant(c, "concurrency", "levels", last, "throughput_rps") for c in catalogs),
        ]
    )
    rows.append(
        [
            f"image, {by_variant} (MB)",
            *(per_variant(c, "image", "image_bytes", digits=0, scale=1e-6) for c in catalogs),
        ]
    )
    for mt in models:
        rows.append(
            [
                f"in-process EM / F1, {mt}",
                *(_em_f1(_get(results, "inprocess_accuracy", c, mt)) for c in catalogs),
            ]
        )
    for mt in models if results.get("engine_parity") else ():
        cells = []
        for c in catalogs:
            same = _get(results, "engine_parity", c, "models", mt)
            cells.append(
                "-" if not same else f"{same['identical_share'] * 100:.2f}% (F1 {same['f1_delta']:+.2f})"
            )
        rows.append([f"answers identical to torch's, {mt} (F1 difference)", *cells])
    counts = {_get(results, "inprocess_accuracy", c, mt, "count") for c in catalogs for mt in models}
    counts.discard(None)
    note = (
        f" In-process accuracy on the first {', '.join(map(str, sorted(counts)))} SQuAD v1.1 dev questions."
        if counts
        else ""
    )
    table = _table(["", *(records.catalog_label(results, c) for c in catalogs)], rows)
    return table + f"\n\nCells with several values: {by_variant}.{note}"


def _several_engines(results: dict[str, Any]) -> bool:
    return len(records.catalogs(results)) > 1


def targets_table(checks: Iterable[TargetCheck]) -> str:
    return _table(
        ["target", "run", "goal", "measured", "verdict"],
        [[c.name, c.variant, c.target, c.value, verdict(c.met)] for c in checks],
    )


def _cold_table(results: dict[str, Any]) -> str:
    parts = list(BREAKDOWN_LABELS)
    rows = []
    for r in _runs(results):
        cold = _data(results, r, "cold_start") or {}
        medians = cold.get("median_ms") or {}
        rows.append(
            [
                r.variant,
                r.engine,
                f"{cold.get('ok', 0)}/{cold.get('requested', 0)}",
                *(_fmt(medians.get(p), 0) for p in parts),
                _fmt(medians.get("total"), 0),
                _fmt(medians.get("model_fetch_raw"), 0),
            ]
        )
    return _table(
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


def _warm_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        for mt, m in (_data(results, r, "warm", "models") or {}).items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    mt,
                    m.get("requests", 0),
                    *(_fmt(_get(m, "end_to_end_ms", p)) for p in ("p50", "p95", "p99")),
                    _fmt(_get(m, "function_inference_ms", "p50")),
                    _fmt(_get(m, "inprocess_forward_ms", "p50")),
                    _fmt(_get(m, "inprocess_answer_ms", "p50")),
                    _fmt(m.get("inprocess_threads"), 0),
                    _fmt(m.get("overhead_p50_ms")),
                    _fmt(m.get("outside_inference_p50_ms")),
                ]
            )
    return _table(
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


def _switching_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        s = _data(results, r, "switching")
        if not s:
            continue
        per_model = s.get("per_model", {})
        rows.append(
            [
                r.variant,
                r.engine,
                s.get("requests", 0),
                s.get("cache_hits", 0),
                s.get("reloads", 0),
                s.get("reloads_from_logs", "-"),
                ", ".join(f"{mt} {_fmt(_get(m, 'latency_ms', 'p50'))}" for mt, m in per_model.items()),
            ]
        )
    return _table(
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


def _s3_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        s = _data(results, r, "s3")
        if not s:
            continue
        eager = ", ".join(
            f"{mt} {_fmt(_get(e, 'median'))}" for mt, e in (s.get("eager_at_init_mb_s") or {}).items()
        )
        rows.append(
            [
                r.variant,
                r.engine,
                s.get("model_type"),
                _fmt(s.get("model_bytes"), 1, 1e-6),
                _fmt(s.get("function_median_mb_s")),
                _fmt(s.get("raw_median_mb_s")),
                _fmt(s.get("function_to_raw"), 2),
                eager or "-",
            ]
        )
    return _table(
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


def _concurrency_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        for level, c in (_data(results, r, "concurrency", "levels") or {}).items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    level,
                    _fmt(_get(c, "scale_out", "seconds")),
                    c.get("environments_started"),
                    c.get("requests"),
                    _fmt(c.get("throughput_rps")),
                    _fmt(_get(c, "latency_ms", "p50"), 0),
                    _fmt(_get(c, "latency_ms", "p95"), 0),
                    (c.get("errors") or 0) + (_get(c, "scale_out", "errors") or 0),
                    c.get("environments_used"),
                    "-" if c.get("containers_running_after") is None else c["containers_running_after"],
                ]
            )
    return _table(
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


def _accuracy_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        for mt, a in (_data(results, r, "accuracy", "models") or {}).items():
            rows.append(
                [
                    r.variant,
                    r.engine,
                    mt,
                    a.get("questions"),
                    _em_f1(a.get("endpoint")),
                    _em_f1(a.get("inprocess")),
                    a.get("differing_answers"),
                    verdict(a.get("identical", a.get("differing_answers") == 0)),
                ]
            )
    return _table(
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


def _inprocess_table(results: dict[str, Any]) -> str:
    rows = []
    for catalog in records.catalogs(results):
        parity = _get(results, "engine_parity", catalog) or {}
        for mt, a in (_get(results, "inprocess_accuracy", catalog) or {}).items():
            ref = a.get("reference") or {}
            same = _get(parity, "models", mt) or {}
            rows.append(
                [
                    records.catalog_label(results, catalog),
                    f"`{catalog}`",
                    mt,
                    a.get("count"),
                    _em_f1(a),
                    _em_f1(ref) if ref else "-",
                    "-" if not same else f"{same['exact_match_delta']:+.2f} / {same['f1_delta']:+.2f}",
                    "-" if not same else f"{same['identical']} ({same['identical_share'] * 100:.2f}%)",
                    _fmt(a.get("seconds"), 0),
                ]
            )
    against = {p.get("against") for p in (results.get("engine_parity") or {}).values()} - {None}
    return _table(
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


def _image_table(results: dict[str, Any]) -> str:
    rows = []
    for r in _runs(results):
        image = _data(results, r, "image") or {}
        rows.append(
            [
                r.variant,
                r.engine,
                image.get("image_tag") or "-",
                ", ".join(image.get("runtimes") or sorted(records.catalog_runtimes(results, r.catalog))),
                _fmt(image.get("image_bytes"), 0, 1e-6),
                f"<= {image_goal(results, r) / 1e6:.0f}",
                _fmt(image.get("cuda_torch_image_bytes"), 2, 1e-9),
            ]
        )
    cuda = results.get("cuda_torch") or {}
    table = _table(
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
    if cuda.get("installed_bytes"):
        table += (
            f"\n\nDefault torch {cuda.get('torch_version')} from PyPI with its CUDA libraries "
            f"({cuda.get('packages', '?')} packages, {_fmt(cuda.get('wheel_bytes'), 2, 1e-9)} GB of wheels): "
            f"{_fmt(cuda.get('installed_bytes'), 2, 1e-9)} GB installed, "
            f"{_fmt(cuda.get('image_bytes'), 2, 1e-9)} GB after the image's trimming; the CPU build we "
            f"install: {_fmt(cuda.get('cpu_torch_installed_bytes'), 2, 1e-9)} GB, "
            f"{_fmt(cuda.get('cpu_torch_image_bytes'), 2, 1e-9)} GB trimmed. Estimate = image - CPU torch "
            "+ CUDA torch and its CUDA-only packages, both trimmed (images with torch only)."
        )
    return table


def _old_strategy_table(results: dict[str, Any]) -> str:
    old = results.get("old_strategy") or {}
    rows = []
    for mt, m in (old.get("models") or {}).items():
        factors = [f"{r.label} {_fmt(old_strategy_factors(results, r).get(mt))}x" for r in _runs(results)]
        rows.append(
            [
                mt,
                _fmt(_get(m, "total_ms", "p50"), 0),
                _fmt(_get(m, "load_ms", "p50"), 0),
                _fmt(_get(m, "inference_ms", "p50"), 0),
                ", ".join(factors) or "-",
            ]
        )
    table = _table(
        ["model", "per request p50 (ms)", "load p50 (ms)", "inference p50 (ms)", "slower than our warm p50"],
        rows,
    )
    return (
        f"Model files: {old.get('files', '-')} (torch weights, as the sample loaded them); "
        f"{old.get('repeats', '-')} invocations per model.\n\n{table}"
    )


def _settings_line(results: dict[str, Any]) -> str:
    settings = results.get("settings", {})
    catalogs = ", ".join(f"`{c}` ({records.catalog_label(results, c)})" for c in records.catalogs(results))
    return (
        f"Settings: {settings.get('questions')} SQuAD questions through each endpoint and "
        f"{settings.get('inprocess_questions', settings.get('questions'))} in-process per engine, "
        f"{settings.get('warm_requests')} warm requests per model, "
        f"{settings.get('cold_starts')} cold starts per run, "
        f"variants {', '.join(records.variants(results))}, "
        f"catalogs {catalogs or '-'}, percentiles {settings.get('percentiles', 'nearest-rank')}, "
        f"in-process QA code: {settings.get('qa_backend', '?')}. Method: [bench/README.md](../README.md)."
    )


def _problems(results: dict[str, Any], kind: str) -> list[str]:
    return [
        f"- {r.label}: {name}: {text}"
        for r in _runs(results)
        for name, text in (_data(results, r, kind) or {}).items()
    ]


def markdown_report(results: dict[str, Any]) -> str:
    checks = [TargetCheck(**c) for c in results.get("targets", [])] or evaluate(results)
    sections = [
        "# Benchmark results",
        f"Run {results.get('started_at', '?')} ({_fmt(results.get('duration_s'), 0, 1 / 60)} min) on "
        f"{machine_line(results.get('machine', {}))}.",
        _settings_line(results),
        "## Summary, one table per engine",
        summary_tables(results),
        "## Engines side by side",
        engines_table(results) if _several_engines(results) else "One catalog (engine) in this run.",
        "## Targets",
        targets_table(checks),
        "## Cold start breakdown (median ms)",
        _cold_table(results),
        "## Warm latency (ms)",
        _warm_table(results),
        "## Model switching",
        _switching_table(results),
        "## S3 download throughput",
        _s3_table(results),
        "## Concurrency",
        _concurrency_table(results),
        "## Accuracy through the endpoint (SQuAD v1.1 dev, official normalisation)",
        _accuracy_table(results),
        "## Accuracy in-process, per engine",
        _inprocess_table(results),
        "## Image size",
        _image_table(results),
        "## The old sample's strategy (load the model in every invocation)",
        _old_strategy_table(results),
        *fleet_report.markdown_sections(results.get("fleet") or {}),
        "## Plots",
        "\n".join(
            f"![{Path(name).stem}]({name})" for name in results.get("_plots", [f"{n}.png" for n in PLOTS])
        ),
    ]
    skipped, errors = _problems(results, "skipped"), _problems(results, "errors")
    if skipped:
        sections += ["## Skipped", "\n".join(skipped)]
    if errors:
        sections += ["## Errors", "\n".join(errors)]
    return "\n\n".join(sections) + "\n"


# --- plots -------------------------------------------------------------------------------------

ENGINE_COLORS = {TORCH: "tab:blue", "onnx": "tab:orange", INT8: "tab:green"}
OTHER_COLORS = ("tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def _colors(results: dict[str, Any]) -> dict[str, str]:
    """catalog -> its colour: the engine's, or another for a second catalog on the same engine."""
    colors: dict[str, str] = {}
    spare = iter(OTHER_COLORS * 4)
    for catalog in records.catalogs(results):
        color = ENGINE_COLORS.get(records.catalog_engine(results, catalog))
        colors[catalog] = color if color and color not in colors.values() else next(spare)
    return colors


def _plot_cold_start(results: dict[str, Any], ax: Any) -> bool:
    runs = [r for r in _runs(results) if _data(results, r, "cold_start", "median_ms")]
    if not runs:
        return False
    labels = [r.label for r in runs]
    left = [0.0] * len(runs)
    for part, label in BREAKDOWN_LABELS.items():
        values = [(_data(results, r, "cold_start", "median_ms", part) or 0.0) / 1000 for r in runs]
        ax.barh(labels, values, left=left, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for row, run in enumerate(runs):
        goal = COLD_START_S.get(run.engine, {}).get(run.variant)
        if goal is not None:
            ax.plot([goal] * 2, [row - 0.4, row + 0.4], color="black", linestyle="--")
    ax.plot([], [], color="black", linestyle="--", label="target")
    ax.invert_yaxis()  # the first run on top
    ax.set_xlabel("seconds (median of cold starts)")
    ax.set_title("Cold start by variant and engine: first answer from a fresh environment")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4)
    return True


def _grouped(results: dict[str, Any]) -> tuple[list[str], list[str], float]:
    """(variants, catalogs, bar width) for bars grouped by variant, one bar per catalog."""
    variants, catalogs = records.variants(results), records.catalogs(results)
    return variants, catalogs, 0.8 / max(1, len(catalogs))


def _run_of(results: dict[str, Any], variant: str, catalog: str) -> Run | None:
    return next(iter(records.runs(results, catalog=catalog, variant=variant)), None)


def _plot_warm(results: dict[str, Any], axes: Any) -> bool:
    variants, catalogs, width = _grouped(results)
    colors = _colors(results)
    drawn = False
    for ax, mt in zip(axes, _model_types(results), strict=False):
        for index, catalog in enumerate(catalogs):
            xs, p50, p95, forward = [], [], [], []
            for position, variant in enumerate(variants):
                run = _run_of(results, variant, catalog)
                summary = _data(results, run, "warm", "models", mt, "end_to_end_ms") if run else None
                if not summary or not summary.get("p50"):
                    continue
                xs.append(position - 0.4 + width * (index + 0.5))
                p50.append(summary["p50"])
                p95.append(summary["p95"])
                forward.append(
                    _data(results, run, "warm", "models", mt, "inprocess_forward_ms", "p50") or 0.0
                )
            if not xs:
                continue
            drawn = True
            label = records.catalog_label(results, catalog)
            ax.bar(
                xs,
                p50,
                width,
                color=colors[catalog],
                label=f"{label}: end to end p50 (whisker: p95)",
                yerr=[[0] * len(xs), [b - a for a, b in zip(p50, p95, strict=True)]],
                capsize=3,
            )
            ax.bar(xs, forward, width * 0.5, color="black", alpha=0.35)
        from matplotlib.patches import Patch

        handles, _ = ax.get_legend_handles_labels()
        handles.append(Patch(color="black", alpha=0.35, label="in-process forward p50 (same engine)"))
        ax.set_xticks(range(len(variants)), variants)
        ax.set_ylabel("ms")
        ax.set_title(f"Warm latency, {mt}")
        ax.legend(handles=handles, fontsize="x-small")
    return drawn


def _plot_concurrency(results: dict[str, Any], axes: Any) -> bool:
    """Per variant (columns): throughput (top) and p95 (bottom) against concurrency, a line per engine."""
    colors = _colors(results)
    variants = records.variants(results)
    drawn = False
    for column, variant in enumerate(variants):
        top, bottom = axes[column], axes[len(variants) + column]
        for r in records.runs(results, variant=variant):
            levels = _data(results, r, "concurrency", "levels") or {}
            if not levels:
                continue
            xs = [int(k) for k in levels]
            label = records.catalog_label(results, r.catalog)
            style = {"color": colors[r.catalog], "marker": "o", "label": label}
            top.plot(xs, [c.get("throughput_rps") or 0 for c in levels.values()], **style)
            bottom.plot(xs, [_get(c, "latency_ms", "p95") or 0 for c in levels.values()], **style)
            drawn = True
        top.set(ylabel="requests/s", title=f"{variant}: throughput, warm")
        bottom.set(xlabel="concurrent clients", ylabel="p95 ms", title=f"{variant}: p95 latency, warm")
        levels = _levels(results)
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(levels, [str(level) for level in levels])
            ax.minorticks_off()
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="x-small")
    return drawn


def _plot_old_strategy(results: dict[str, Any], ax: Any) -> bool:
    old = _get(results, "old_strategy", "models") or {}
    if not old:
        return False
    runs = [r for r in _runs(results) if r.variant == "efs"] or _runs(results)
    colors = _colors(results)
    labels, values, bar_colors = [], [], []
    for mt, m in old.items():
        labels.append(f"old sample\n{mt}")
        values.append(_get(m, "total_ms", "p50") or 0.0)
        bar_colors.append("tab:red")
        for r in runs:
            p50 = _data(results, r, "warm", "models", mt, "end_to_end_ms", "p50")
            if p50:
                labels.append(f"{r.variant} {records.catalog_label(results, r.catalog)}\n{mt}")
                values.append(p50)
                bar_colors.append(colors[r.catalog])
    ax.bar(labels, values, color=bar_colors)
    ax.set_yscale("log")
    ax.set_ylabel("ms per request, p50 (log scale)")
    ax.set_title("Loading in every invocation (old sample, torch) vs our warm cache, per engine")
    ax.tick_params(axis="x", labelsize="x-small")
    return True


def _plot_image(results: dict[str, Any], ax: Any) -> bool:
    variants, catalogs, width = _grouped(results)
    colors = _colors(results)
    drawn = False
    for index, catalog in enumerate(catalogs):
        xs, sizes, goals = [], [], []
        for position, variant in enumerate(variants):
            run = _run_of(results, variant, catalog)
            size = _data(results, run, "image", "image_bytes") if run else None
            if not size:
                continue
            xs.append(position - 0.4 + width * (index + 0.5))
            sizes.append(size / 1e6)
            goals.append(image_goal(results, run) / 1e6)
        if not xs:
            continue
        drawn = True
        ax.bar(xs, sizes, width, color=colors[catalog], label=records.catalog_label(results, catalog))
        for x, goal in zip(xs, goals, strict=True):
            ax.plot([x - width / 2, x + width / 2], [goal, goal], color="black", linestyle="--", linewidth=1)
    if not drawn:
        return False
    ax.plot([], [], color="black", linestyle="--", linewidth=1, label="target of that image")
    ax.set_xticks(range(len(variants)), variants)
    ax.set_ylabel("MB")
    ax.set_title("Image size per variant and engine")
    ax.legend(fontsize="small")
    return True


def _plot_s3(results: dict[str, Any], ax: Any) -> bool:
    runs = [r for r in _runs(results) if _data(results, r, "s3", "raw_median_mb_s")]
    if not runs:
        return False
    x = range(len(runs))
    ax.bar(
        [i - 0.2 for i in x],
        [_data(results, r, "s3", "function_median_mb_s") or 0 for r in runs],
        0.4,
        label="function download",
    )
    ax.bar(
        [i + 0.2 for i in x],
        [_data(results, r, "s3", "raw_median_mb_s") for r in runs],
        0.4,
        label="raw boto3 GET",
    )
    ax.set_xticks(list(x), [r.label for r in runs])
    ax.set_ylabel("MB/s (median)")
    ax.set_title("S3 model download")
    ax.legend(fontsize="small")
    return True


def _plot_engines(results: dict[str, Any], axes: Any) -> bool:
    """In-process, per model: the bare forward p50 and the F1 of each engine, side by side."""
    catalogs = records.catalogs(results)
    models = _model_types(results)
    colors = _colors(results)
    width = 0.8 / max(1, len(catalogs))
    drawn = False
    lowest = 100.0
    for index, catalog in enumerate(catalogs):
        xs = [position - 0.4 + width * (index + 0.5) for position in range(len(models))]
        forward = [
            _median(
                [
                    _data(results, r, "warm", "models", mt, "inprocess_forward_ms", "p50")
                    for r in _runs(results, catalog)
                ]
            )
            or 0.0
            for mt in models
        ]
        f1 = [_get(results, "inprocess_accuracy", catalog, mt, "f1") or 0.0 for mt in models]
        if not any(forward) and not any(f1):
            continue
        drawn = True
        label = records.catalog_label(results, catalog)
        axes[0].bar_label(axes[0].bar(xs, forward, width, color=colors[catalog], label=label), fmt="%.1f")
        axes[1].bar_label(axes[1].bar(xs, f1, width, color=colors[catalog], label=label), fmt="%.2f")
        lowest = min([*(v for v in f1 if v), lowest])
    if not drawn:
        return False
    axes[1].set_ylim(max(0.0, lowest - 10.0), 100.0)  # F1 differences of a point stay visible
    count = next(
        (_get(results, "inprocess_accuracy", c, mt, "count") for c in catalogs for mt in models), None
    )
    for ax in axes:
        ax.set_xticks(range(len(models)), models)
        ax.legend(fontsize="small")
    axes[0].set(ylabel="ms", title="In-process forward p50 (function's threads)")
    axes[1].set(ylabel="F1", title=f"In-process F1, SQuAD v1.1 dev ({count or '?'} questions)")
    return True


def _rows(results: dict[str, Any]) -> int:
    return max(1, len(_runs(results)))


def _columns(results: dict[str, Any]) -> int:
    return max(1, len(records.variants(results)))


PLOTS: dict[str, tuple[Any, Any, Any]] = {
    # name: (draw, figure size, (rows, columns)); size and grid may be functions of the results.
    # A 1x1 grid draws on one Axes; any other on the flat list of them, row by row.
    "cold_start": (_plot_cold_start, lambda r: (10, 2.5 + 0.45 * _rows(r)), (1, 1)),
    "warm_latency": (_plot_warm, (12, 4.5), lambda r: (1, max(1, len(_model_types(r))))),
    "concurrency": (_plot_concurrency, lambda r: (4.5 * _columns(r), 7), lambda r: (2, _columns(r))),
    "engines": (_plot_engines, (11, 4), (1, 2)),
    "old_strategy": (_plot_old_strategy, (11, 4.5), (1, 1)),
    "image_size": (_plot_image, (8, 4), (1, 1)),
    "s3_download": (_plot_s3, (8, 4), (1, 1)),
    "fleet_scaling": (
        lambda r, axes: fleet_report.plot_scaling(r.get("fleet") or {}, axes),
        lambda r: (5 * fleet_report.plot_columns(r.get("fleet") or {}), 4),
        lambda r: (1, fleet_report.plot_columns(r.get("fleet") or {})),
    ),
}


def write_plots(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per plot that has data; stale PNGs of plots without data are removed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, (draw, size, grid) in PLOTS.items():
        one_axis = grid == (1, 1)
        size = size(results) if callable(size) else size
        rows, columns = grid(results) if callable(grid) else grid
        figure, axes = plt.subplots(rows, columns, figsize=size, squeeze=False)
        try:
            path = out_dir / f"{name}.png"
            if draw(results, axes[0][0] if one_axis else list(axes.flat)):
                figure.tight_layout()
                figure.savefig(path, dpi=100)
                written.append(path)
            elif path.exists():
                path.unlink()
        finally:
            plt.close(figure)
    return written


# --- files -------------------------------------------------------------------------------------


def write_json(results: dict[str, Any], out_dir: Path) -> Path:
    """results.json alone (what the run saves after each run)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / RESULTS_JSON
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")
    return path


def write_results(results: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """results.json, results.md and the plots into ``out_dir``; returns their paths."""
    if "targets" not in results:
        results = {**results, "targets": [c.as_dict() for c in evaluate(results)]}
    json_path = write_json(results, out_dir)
    plots = write_plots(results, out_dir)
    md_path = out_dir / RESULTS_MD
    md_path.write_text(markdown_report({**results, "_plots": [p.name for p in plots]}))
    return {"json": json_path, "markdown": md_path, "plots": plots}


METHOD = (
    "Each variant is deployed on the local cloud (`make deploy` path) once per catalog, i.e. per engine "
    "(torch, fp32 ONNX, int8 ONNX: the same two models), measured, and destroyed. "
    "Latencies are client-side, through the local API Gateway, with one keep-alive HTTP session; "
    "percentiles are nearest-rank. Overhead = end-to-end p50 minus the p50 of the bare in-process forward "
    "pass of the same model on the same engine and input, measured in the same run with the function's "
    "thread count. Cold starts reset the function's environments first and split the first answer with the "
    "function's own init timing line and `timings_ms`. Each concurrency level scales out first and is then "
    "measured on warm environments, which share this machine's cores. "
    "Accuracy is SQuAD v1.1 dev (official normalisation): through each endpoint, compared with the same "
    "engine's in-process answers, and in-process per engine on {inprocess} questions, where the ONNX "
    "engines are compared with torch. Details: [bench/README.md]({method_link})."
)


def readme_section(results: dict[str, Any], results_link: str, method_link: str) -> str:
    """The README's benchmark section: when, where, how, a table per engine, the engines, the targets."""
    checks = [TargetCheck(**c) for c in results.get("targets", [])] or evaluate(results)
    inprocess = _get(results, "settings", "inprocess_questions") or _get(results, "settings", "questions")
    return "\n\n".join(
        [
            f"_Generated by `make bench` on {results.get('started_at', '?')}; rewritten by every run._",
            f"**Machine:** {machine_line(results.get('machine', {}))}.",
            f"**Method:** {METHOD.format(method_link=method_link, inprocess=inprocess or '?')}",
            summary_tables(results),
            *(["**Engines side by side**", engines_table(results)] if _several_engines(results) else []),
            targets_table(checks),
            *fleet_report.readme_parts(results.get("fleet") or {}),
            f"All tables, plots and raw numbers: [{results_link}]({results_link}).",
        ]
    )


def replace_between_markers(text: str, section: str) -> str | None:
    """``text`` with everything between the BENCH markers replaced; None when a marker is missing."""
    pattern = re.compile(re.escape(START_MARKER) + r".*?" + re.escape(END_MARKER), re.DOTALL)
    if not pattern.search(text):
        return None
    return pattern.sub(lambda _: f"{START_MARKER}\n{section.strip()}\n{END_MARKER}", text, count=1)


def update_readme(path: Path, section: str) -> bool:
    """Rewrite the benchmark section of the README at ``path``; False if it has no markers."""
    if not path.is_file():
        return False
    updated = replace_between_markers(path.read_text(), section)
    if updated is None:
        return False
    path.write_text(updated)
    return True
