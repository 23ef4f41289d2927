"""Results on disk: JSON, a markdown report, PNG plots, and the README's benchmark section.

Everything here reads the results dict that ``run.py`` builds (see ``bench/README.md`` for its
layout) and tolerates missing parts: a scenario that was skipped shows as "-", never as an error.
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

from harness.bench.targets import COLD_START_S, TargetCheck, evaluate, old_strategy_factors, verdict

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
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        info["torch"] = importlib.metadata.version("torch")
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


def _variants(results: dict[str, Any]) -> list[str]:
    return list(results.get("variants", {}))


def _model_types(results: dict[str, Any]) -> list[str]:
    return list(_get(results, "settings", "model_types") or ["nlp1", "nlp2"])


# --- markdown ----------------------------------------------------------------------------------


def _em_f1(score: dict[str, Any] | None) -> str:
    if not score:
        return "-"
    return f"{_fmt(score.get('exact_match'), 2)} / {_fmt(score.get('f1'), 2)}"


def summary_table(results: dict[str, Any]) -> str:
    variants = _variants(results)
    models = _model_types(results)
    first = models[0]
    rows: list[list[str]] = []

    def row(label: str, values: Iterable[str]) -> None:
        rows.append([label, *values])

    def per_variant(*path: str | int, digits: int = 1, scale: float = 1.0) -> list[str]:
        return [_fmt(_get(results, "variants", v, *path), digits, scale) for v in variants]

    row("cold start, median (s)", per_variant("cold_start", "median_ms", "total", digits=2, scale=0.001))
    for mt in models:
        row(
            f"warm p50 / p95 / p99, {mt} (ms)",
            [
                " / ".join(
                    _fmt(_get(results, "variants", v, "warm", "models", mt, "end_to_end_ms", p))
                    for p in ("p50", "p95", "p99")
                )
                for v in variants
            ],
        )
    for mt in models:
        row(
            f"in-process forward p50, {mt} (ms)",
            per_variant("warm", "models", mt, "inprocess_forward_ms", "p50"),
        )
    for mt in models:
        row(f"overhead p50, {mt} (ms)", per_variant("warm", "models", mt, "overhead_p50_ms"))
    row("reloads when switching", per_variant("switching", "reloads", digits=0))
    levels = _get(results, "settings", "concurrency_levels") or [1, 2, 4, 8]
    row(
        f"warm throughput at concurrency {'/'.join(map(str, levels))} (req/s)",
        [
            " / ".join(
                _fmt(_get(results, "variants", v, "concurrency", "levels", str(lv), "throughput_rps"))
                for lv in levels
            )
            for v in variants
        ],
    )
    row(
        f"warm p95 at concurrency {levels[-1]} (ms)",
        per_variant("concurrency", "levels", str(levels[-1]), "latency_ms", "p95", digits=0),
    )
    row(
        f"scale-out to {levels[-1]} concurrent requests (s)",
        per_variant("concurrency", "levels", str(levels[-1]), "scale_out", "seconds"),
    )
    row(
        "S3 download vs raw GET (MB/s)",
        [
            f"{_fmt(_get(results, 'variants', v, 's3', 'function_median_mb_s'))} vs "
            f"{_fmt(_get(results, 'variants', v, 's3', 'raw_median_mb_s'))}"
            if _get(results, "variants", v, "s3")
            else "-"
            for v in variants
        ],
    )
    for mt in models:
        row(
            f"EM / F1 {mt}, endpoint",
            [_em_f1(_get(results, "variants", v, "accuracy", "models", mt, "endpoint")) for v in variants],
        )
    row("image (GB)", per_variant("image", "image_bytes", digits=2, scale=1e-9))
    row(
        "image with default CUDA torch (GB, est.)",
        per_variant("image", "cuda_torch_image_bytes", digits=2, scale=1e-9),
    )
    row(
        f"old sample's strategy / warm p50, {first} (x)",
        [_fmt(old_strategy_factors(results, v).get(first)) for v in variants],
    )
    return _table(["", *variants], rows)


def targets_table(checks: Iterable[TargetCheck]) -> str:
    return _table(
        ["target", "variant", "goal", "measured", "verdict"],
        [[c.name, c.variant, c.target, c.value, verdict(c.met)] for c in checks],
    )


def _cold_table(results: dict[str, Any]) -> str:
    parts = list(BREAKDOWN_LABELS)
    rows = []
    for v in _variants(results):
        cold = _get(results, "variants", v, "cold_start") or {}
        medians = cold.get("median_ms") or {}
        rows.append(
            [
                v,
                f"{cold.get('ok', 0)}/{cold.get('requested', 0)}",
                *(_fmt(medians.get(p), 0) for p in parts),
                _fmt(medians.get("total"), 0),
                _fmt(medians.get("model_fetch_raw"), 0),
            ]
        )
    return _table(
        ["variant", "cold starts", *(BREAKDOWN_LABELS[p] for p in parts), "total", "fetch incl. overlap"],
        rows,
    )


def _warm_table(results: dict[str, Any]) -> str:
    rows = []
    for v in _variants(results):
        for mt, m in (_get(results, "variants", v, "warm", "models") or {}).items():
            rows.append(
                [
                    v,
                    mt,
                    m.get("requests", 0),
                    *(_fmt(_get(m, "end_to_end_ms", p)) for p in ("p50", "p95", "p99")),
                    _fmt(_get(m, "function_inference_ms", "p50")),
                    _fmt(_get(m, "inprocess_forward_ms", "p50")),
                    _fmt(_get(m, "inprocess_answer_ms", "p50")),
                    _fmt(m.get("overhead_p50_ms")),
                    _fmt(m.get("outside_inference_p50_ms")),
                ]
            )
    return _table(
        [
            "variant",
            "model",
            "requests",
            "e2e p50",
            "e2e p95",
            "e2e p99",
            "function inference p50",
            "in-process forward p50",
            "in-process answer p50",
            "overhead p50",
            "e2e - function inference p50",
        ],
        rows,
    )


def _switching_table(results: dict[str, Any]) -> str:
    rows = []
    for v in _variants(results):
        s = _get(results, "variants", v, "switching")
        if not s:
            continue
        per_model = s.get("per_model", {})
        rows.append(
            [
                v,
                s.get("requests", 0),
                s.get("cache_hits", 0),
                s.get("reloads", 0),
                s.get("reloads_from_logs", "-"),
                ", ".join(f"{mt} {_fmt(_get(m, 'latency_ms', 'p50'))}" for mt, m in per_model.items()),
            ]
        )
    return _table(
        ["variant", "requests", "cache hits", "reloads (timings)", "model loads in logs", "p50 latency (ms)"],
        rows,
    )


def _s3_table(results: dict[str, Any]) -> str:
    rows = []
    for v in _variants(results):
        s = _get(results, "variants", v, "s3")
        if not s:
            continue
        eager = ", ".join(
            f"{mt} {_fmt(_get(e, 'median'))}" for mt, e in (s.get("eager_at_init_mb_s") or {}).items()
        )
        rows.append(
            [
                v,
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
    for v in _variants(results):
        for level, c in (_get(results, "variants", v, "concurrency", "levels") or {}).items():
            rows.append(
                [
                    v,
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
    for v in _variants(results):
        for mt, a in (_get(results, "variants", v, "accuracy", "models") or {}).items():
            ref = a.get("reference") or {}
            rows.append(
                [
                    v,
                    mt,
                    a.get("questions"),
                    f"{_fmt(_get(a, 'endpoint', 'exact_match'), 2)} / {_fmt(_get(a, 'endpoint', 'f1'), 2)}",
                    f"{_fmt(_get(a, 'inprocess', 'exact_match'), 2)} / {_fmt(_get(a, 'inprocess', 'f1'), 2)}",
                    f"{_fmt(ref.get('exact_match'), 2)} / {_fmt(ref.get('f1'), 2)}" if ref else "-",
                    a.get("differing_answers"),
                    verdict(a.get("agree")),
                ]
            )
    return _table(
        [
            "variant",
            "model",
            "questions",
            "endpoint EM / F1",
            "in-process EM / F1",
            "hf-cache README EM / F1",
            "answers differing",
            "agree",
        ],
        rows,
    )


def _image_table(results: dict[str, Any]) -> str:
    rows = []
    for v in _variants(results):
        image = _get(results, "variants", v, "image") or {}
        rows.append(
            [
                v,
                image.get("image_tag") or "-",
                _fmt(image.get("image_bytes"), 2, 1e-9),
                _fmt(image.get("cuda_torch_image_bytes"), 2, 1e-9),
            ]
        )
    cuda = results.get("cuda_torch") or {}
    table = _table(["variant", "image", "size (GB)", "with default CUDA torch (GB, est.)"], rows)
    if cuda.get("installed_bytes"):
        table += (
            f"\n\nDefault torch {cuda.get('torch_version')} from PyPI with its CUDA libraries "
            f"({cuda.get('packages', '?')} packages, {_fmt(cuda.get('wheel_bytes'), 2, 1e-9)} GB of wheels): "
            f"{_fmt(cuda.get('installed_bytes'), 2, 1e-9)} GB installed, "
            f"{_fmt(cuda.get('image_bytes'), 2, 1e-9)} GB after the image's trimming; the CPU build we "
            f"install: {_fmt(cuda.get('cpu_torch_installed_bytes'), 2, 1e-9)} GB, "
            f"{_fmt(cuda.get('cpu_torch_image_bytes'), 2, 1e-9)} GB trimmed. Estimate = image - CPU torch "
            "+ CUDA torch and its CUDA-only packages, both trimmed."
        )
    return table


def _old_strategy_table(results: dict[str, Any]) -> str:
    old = results.get("old_strategy") or {}
    rows = []
    for mt, m in (old.get("models") or {}).items():
        factors = [f"{v} {_fmt(old_strategy_factors(results, v).get(mt))}x" for v in _variants(results)]
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
        f"Model files: {old.get('files', '-')}; {old.get('repeats', '-')} invocations per model.\n\n{table}"
    )


def markdown_report(results: dict[str, Any]) -> str:
    checks = [TargetCheck(**c) for c in results.get("targets", [])] or evaluate(results)
    settings = results.get("settings", {})
    skipped = [
        f"- {v}: {name}: {reason}"
        for v in _variants(results)
        for name, reason in (_get(results, "variants", v, "skipped") or {}).items()
    ]
    sections = [
        "# Benchmark results",
        f"Run {results.get('started_at', '?')} ({_fmt(results.get('duration_s'), 0, 1 / 60)} min) on "
        f"{machine_line(results.get('machine', {}))}.",
        f"Settings: {settings.get('questions')} SQuAD questions, "
        f"{settings.get('warm_requests')} warm requests per model, "
        f"{settings.get('cold_starts')} cold starts per variant, catalog `{settings.get('catalog')}`, "
        f"percentiles {settings.get('percentiles', 'nearest-rank')}, in-process QA code: "
        f"{settings.get('qa_backend', '?')}. Method: [bench/README.md](../README.md).",
        "## Summary",
        summary_table(results),
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
        "## Accuracy (SQuAD v1.1 dev, official normalisation)",
        _accuracy_table(results),
        "## Image size",
        _image_table(results),
        "## The old sample's strategy (load the model in every invocation)",
        _old_strategy_table(results),
        "## Plots",
        "\n".join(
            f"![{Path(name).stem}]({name})" for name in results.get("_plots", [f"{n}.png" for n in PLOTS])
        ),
    ]
    errors = [
        f"- {v}: {name}: {message}"
        for v in _variants(results)
        for name, message in (_get(results, "variants", v, "errors") or {}).items()
    ]
    if skipped:
        sections += ["## Skipped", "\n".join(skipped)]
    if errors:
        sections += ["## Errors", "\n".join(errors)]
    return "\n\n".join(sections) + "\n"


# --- plots -------------------------------------------------------------------------------------


def _plot_cold_start(results: dict[str, Any], ax: Any) -> bool:
    variants = [v for v in _variants(results) if _get(results, "variants", v, "cold_start", "median_ms")]
    if not variants:
        return False
    left = [0.0] * len(variants)
    for part, label in BREAKDOWN_LABELS.items():
        values = [
            (_get(results, "variants", v, "cold_start", "median_ms", part) or 0.0) / 1000 for v in variants
        ]
        ax.barh(variants, values, left=left, label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    for row, variant in enumerate(variants):
        if variant in COLD_START_S:
            ax.plot([COLD_START_S[variant]] * 2, [row - 0.4, row + 0.4], color="black", linestyle="--")
    ax.plot([], [], color="black", linestyle="--", label="target")
    ax.set_xlabel("seconds (median of cold starts)")
    ax.set_title("Cold start: first answer from a fresh environment")
    ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=4)
    return True


def _plot_warm(results: dict[str, Any], ax: Any) -> bool:
    labels, p50, p95, p99, forward = [], [], [], [], []
    for v in _variants(results):
        for mt, m in (_get(results, "variants", v, "warm", "models") or {}).items():
            if not _get(m, "end_to_end_ms", "p50"):
                continue
            labels.append(f"{v}\n{mt}")
            p50.append(m["end_to_end_ms"]["p50"])
            p95.append(m["end_to_end_ms"]["p95"])
            p99.append(m["end_to_end_ms"]["p99"])
            forward.append(_get(m, "inprocess_forward_ms", "p50") or 0.0)
    if not labels:
        return False
    x = range(len(labels))
    width = 0.2
    ax.bar([i - 1.5 * width for i in x], forward, width, label="in-process forward p50")
    ax.bar([i - 0.5 * width for i in x], p50, width, label="end to end p50")
    ax.bar([i + 0.5 * width for i in x], p95, width, label="p95")
    ax.bar([i + 1.5 * width for i in x], p99, width, label="p99")
    ax.set_xticks(list(x), labels)
    ax.set_ylabel("ms")
    ax.set_title("Warm latency")
    ax.legend(fontsize="small")
    return True


def _plot_concurrency(results: dict[str, Any], axes: Any) -> bool:
    drawn = False
    for v in _variants(results):
        levels = _get(results, "variants", v, "concurrency", "levels") or {}
        if not levels:
            continue
        xs = [int(k) for k in levels]
        axes[0].plot(xs, [c.get("throughput_rps") or 0 for c in levels.values()], marker="o", label=v)
        axes[1].plot(xs, [_get(c, "latency_ms", "p95") or 0 for c in levels.values()], marker="o", label=v)
        drawn = True
    if drawn:
        axes[0].set(xlabel="concurrent clients", ylabel="requests/s", title="Throughput, warm environments")
        axes[1].set(xlabel="concurrent clients", ylabel="ms", title="p95 latency, warm environments")
        for ax in axes:
            ax.legend(fontsize="small")
    return drawn


def _plot_old_strategy(results: dict[str, Any], ax: Any) -> bool:
    old = _get(results, "old_strategy", "models") or {}
    if not old:
        return False
    labels, values = [], []
    for mt, m in old.items():
        labels.append(f"old sample\n{mt}")
        values.append(_get(m, "total_ms", "p50") or 0.0)
        for v in _variants(results):
            p50 = _get(results, "variants", v, "warm", "models", mt, "end_to_end_ms", "p50")
            if p50:
                labels.append(f"{v}\n{mt}")
                values.append(p50)
    ax.bar(labels, values, color=["tab:red" if label.startswith("old") else "tab:blue" for label in labels])
    ax.set_yscale("log")
    ax.set_ylabel("ms per request, p50 (log scale)")
    ax.set_title("Loading in every invocation (old sample) vs our warm cache")
    ax.tick_params(axis="x", labelsize="small")
    return True


def _plot_image(results: dict[str, Any], ax: Any) -> bool:
    variants = [v for v in _variants(results) if _get(results, "variants", v, "image", "image_bytes")]
    if not variants:
        return False
    x = range(len(variants))
    ours = [_get(results, "variants", v, "image", "image_bytes") / 1e9 for v in variants]
    cuda = [(_get(results, "variants", v, "image", "cuda_torch_image_bytes") or 0) / 1e9 for v in variants]
    ax.bar([i - 0.2 for i in x], ours, 0.4, label="our image (CPU torch)")
    ax.bar([i + 0.2 for i in x], cuda, 0.4, label="with default CUDA torch (est.)")
    ax.axhline(1.2, color="k", linestyle="--", linewidth=1, label="target 1.2 GB")
    ax.set_xticks(list(x), variants)
    ax.set_ylabel("GB")
    ax.set_title("Image size")
    ax.legend(fontsize="small")
    return True


def _plot_s3(results: dict[str, Any], ax: Any) -> bool:
    variants = [v for v in _variants(results) if _get(results, "variants", v, "s3", "raw_median_mb_s")]
    if not variants:
        return False
    x = range(len(variants))
    ax.bar(
        [i - 0.2 for i in x],
        [_get(results, "variants", v, "s3", "function_median_mb_s") or 0 for v in variants],
        0.4,
        label="function download",
    )
    ax.bar(
        [i + 0.2 for i in x],
        [_get(results, "variants", v, "s3", "raw_median_mb_s") for v in variants],
        0.4,
        label="raw boto3 GET",
    )
    ax.set_xticks(list(x), variants)
    ax.set_ylabel("MB/s (median)")
    ax.set_title("S3 model download")
    ax.legend(fontsize="small")
    return True


PLOTS = {
    "cold_start": (_plot_cold_start, (9, 4.5), 1),
    "warm_latency": (_plot_warm, (10, 4), 1),
    "concurrency": (_plot_concurrency, (10, 4), 2),
    "old_strategy": (_plot_old_strategy, (10, 4), 1),
    "image_size": (_plot_image, (7, 4), 1),
    "s3_download": (_plot_s3, (6, 4), 1),
}


def write_plots(results: dict[str, Any], out_dir: Path) -> list[Path]:
    """One PNG per plot that has data; stale PNGs of plots without data are removed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, (draw, size, columns) in PLOTS.items():
        figure, axes = plt.subplots(1, columns, figsize=size)
        try:
            path = out_dir / f"{name}.png"
            if draw(results, axes):
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
    """results.json alone (what the run saves after each variant)."""
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
    "Each variant is deployed on the local cloud (`make deploy` path), measured, and destroyed. "
    "Latencies are client-side, through the local API Gateway, with one keep-alive HTTP session; "
    "percentiles are nearest-rank. Overhead = end-to-end p50 minus the p50 of the bare in-process forward "
    "pass of the same model on the same input, measured in the same run with the function's thread count. "
    "Cold starts reset the function's environments first and split the first answer with the "
    "function's own init timing line and `timings_ms`. Each concurrency level scales out first and is then "
    "measured on warm environments, which share this machine's cores. "
    "Accuracy is SQuAD v1.1 dev (official normalisation), "
    "through the endpoint and in-process. Details: [bench/README.md]({method_link})."
)


def readme_section(results: dict[str, Any], results_link: str, method_link: str) -> str:
    """The README's benchmark section: when, where, how, the summary and the targets."""
    checks = [TargetCheck(**c) for c in results.get("targets", [])] or evaluate(results)
    return "\n\n".join(
        [
            f"_Generated by `make bench` on {results.get('started_at', '?')}; rewritten by every run._",
            f"**Machine:** {machine_line(results.get('machine', {}))}.",
            f"**Method:** {METHOD.format(method_link=method_link)}",
            summary_table(results),
            targets_table(checks),
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
