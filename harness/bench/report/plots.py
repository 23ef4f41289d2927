"""The PNG plots of results.md: one bar or line per engine (catalog), drawn with matplotlib.

``PLOTS`` lists them as name -> (draw, figure size, grid); a draw function gets the results and
its Axes and returns whether it had anything to draw (a plot without data is not written).
matplotlib is imported only when plots are written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.bench import fleet_report
from harness.bench.records import INT8, TORCH
from harness.bench.report.cells import median_of
from harness.bench.report.sections import BREAKDOWN_LABELS
from harness.bench.results import BenchResults
from harness.bench.targets import COLD_START_S, image_goal

ENGINE_COLORS = {TORCH: "tab:blue", "onnx": "tab:orange", INT8: "tab:green"}
OTHER_COLORS = ("tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def _colors(results: BenchResults) -> dict[str, str]:
    """catalog -> its colour: the engine's, or another for a second catalog on the same engine."""
    colors: dict[str, str] = {}
    spare = iter(OTHER_COLORS * 4)
    for catalog in results.catalog_names():
        color = ENGINE_COLORS.get(results.catalog_engine(catalog))
        colors[catalog] = color if color and color not in colors.values() else next(spare)
    return colors


def _plot_cold_start(results: BenchResults, ax: Any) -> bool:
    runs = [r for r in results.all_runs() if r.data.cold_start.median_ms]
    if not runs:
        return False
    labels = [r.label for r in runs]
    left = [0.0] * len(runs)
    for part, label in BREAKDOWN_LABELS.items():
        values = [(r.data.cold_start.median_ms.get(part) or 0.0) / 1000 for r in runs]
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


def _grouped(results: BenchResults) -> tuple[list[str], list[str], float]:
    """(variants, catalogs, bar width) for bars grouped by variant, one bar per catalog."""
    variants, catalogs = results.variants(), results.catalog_names()
    return variants, catalogs, 0.8 / max(1, len(catalogs))


def _plot_warm(results: BenchResults, axes: Any) -> bool:
    variants, catalogs, width = _grouped(results)
    colors = _colors(results)
    drawn = False
    for ax, mt in zip(axes, results.model_types(), strict=False):
        for index, catalog in enumerate(catalogs):
            xs, p50, p95, forward = [], [], [], []
            for position, variant in enumerate(variants):
                run = results.run_of(variant, catalog)
                model = run.data.warm.model(mt) if run else None
                if model is None or not model.end_to_end_ms.p50:
                    continue
                xs.append(position - 0.4 + width * (index + 0.5))
                p50.append(model.end_to_end_ms.p50)
                p95.append(model.end_to_end_ms.p95)
                forward.append(model.inprocess_forward_ms.p50 or 0.0)
            if not xs:
                continue
            drawn = True
            label = results.catalog_label(catalog)
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


def _plot_concurrency(results: BenchResults, axes: Any) -> bool:
    """Per variant (columns): throughput (top) and p95 (bottom) against concurrency, a line per engine."""
    colors = _colors(results)
    variants = results.variants()
    drawn = False
    for column, variant in enumerate(variants):
        top, bottom = axes[column], axes[len(variants) + column]
        for r in results.all_runs(variant=variant):
            levels = r.data.concurrency.levels
            if not levels:
                continue
            xs = [int(k) for k in levels]
            label = results.catalog_label(r.catalog)
            style = {"color": colors[r.catalog], "marker": "o", "label": label}
            top.plot(xs, [c.throughput_rps or 0 for c in levels.values()], **style)
            bottom.plot(xs, [c.latency_ms.p95 or 0 for c in levels.values()], **style)
            drawn = True
        top.set(ylabel="requests/s", title=f"{variant}: throughput, warm")
        bottom.set(xlabel="concurrent clients", ylabel="p95 ms", title=f"{variant}: p95 latency, warm")
        ticks = results.levels()
        for ax in (top, bottom):
            ax.set_xscale("log", base=2)
            ax.set_xticks(ticks, [str(level) for level in ticks])
            ax.minorticks_off()
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize="x-small")
    return drawn


def _plot_old_strategy(results: BenchResults, ax: Any) -> bool:
    old = results.old_strategy.models
    if not old:
        return False
    runs = [r for r in results.all_runs() if r.variant == "efs"] or results.all_runs()
    colors = _colors(results)
    labels, values, bar_colors = [], [], []
    for mt, m in old.items():
        labels.append(f"old sample\n{mt}")
        values.append(m.total_ms.p50 or 0.0)
        bar_colors.append("tab:red")
        for r in runs:
            p50 = r.data.warm.model(mt).end_to_end_ms.p50
            if p50:
                labels.append(f"{r.variant} {results.catalog_label(r.catalog)}\n{mt}")
                values.append(p50)
                bar_colors.append(colors[r.catalog])
    ax.bar(labels, values, color=bar_colors)
    ax.set_yscale("log")
    ax.set_ylabel("ms per request, p50 (log scale)")
    ax.set_title("Loading in every invocation (old sample, torch) vs our warm cache, per engine")
    ax.tick_params(axis="x", labelsize="x-small")
    return True


def _plot_image(results: BenchResults, ax: Any) -> bool:
    variants, catalogs, width = _grouped(results)
    colors = _colors(results)
    drawn = False
    for index, catalog in enumerate(catalogs):
        xs, sizes, goals = [], [], []
        for position, variant in enumerate(variants):
            run = results.run_of(variant, catalog)
            size = run.data.image.image_bytes if run else None
            if not size:
                continue
            xs.append(position - 0.4 + width * (index + 0.5))
            sizes.append(size / 1e6)
            goals.append(image_goal(results, run) / 1e6)
        if not xs:
            continue
        drawn = True
        ax.bar(xs, sizes, width, color=colors[catalog], label=results.catalog_label(catalog))
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


def _plot_s3(results: BenchResults, ax: Any) -> bool:
    runs = [r for r in results.all_runs() if r.data.s3.raw_median_mb_s]
    if not runs:
        return False
    x = range(len(runs))
    ax.bar(
        [i - 0.2 for i in x],
        [r.data.s3.function_median_mb_s or 0 for r in runs],
        0.4,
        label="function download",
    )
    ax.bar([i + 0.2 for i in x], [r.data.s3.raw_median_mb_s for r in runs], 0.4, label="raw boto3 GET")
    ax.set_xticks(list(x), [r.label for r in runs])
    ax.set_ylabel("MB/s (median)")
    ax.set_title("S3 model download")
    ax.legend(fontsize="small")
    return True


def _f1(results: BenchResults, catalog: str, model_type: str) -> float | None:
    score = results.inprocess_score(catalog, model_type)
    return None if score is None else score.f1


def _plot_engines(results: BenchResults, axes: Any) -> bool:
    """In-process, per model: the bare forward p50 and the F1 of each engine, side by side."""
    catalogs = results.catalog_names()
    models = results.model_types()
    colors = _colors(results)
    width = 0.8 / max(1, len(catalogs))
    drawn = False
    lowest = 100.0
    for index, catalog in enumerate(catalogs):
        xs = [position - 0.4 + width * (index + 0.5) for position in range(len(models))]
        runs = results.all_runs(catalog=catalog)
        forward = [
            median_of(r.data.warm.model(mt).inprocess_forward_ms.p50 for r in runs) or 0.0 for mt in models
        ]
        f1 = [_f1(results, catalog, mt) or 0.0 for mt in models]
        if not any(forward) and not any(f1):
            continue
        drawn = True
        label = results.catalog_label(catalog)
        axes[0].bar_label(axes[0].bar(xs, forward, width, color=colors[catalog], label=label), fmt="%.1f")
        axes[1].bar_label(axes[1].bar(xs, f1, width, color=colors[catalog], label=label), fmt="%.2f")
        lowest = min([*(v for v in f1 if v), lowest])
    if not drawn:
        return False
    axes[1].set_ylim(max(0.0, lowest - 10.0), 100.0)  # F1 differences of a point stay visible
    first = results.inprocess_score(catalogs[0], models[0]) if models else None
    count = None if first is None else first.count
    for ax in axes:
        ax.set_xticks(range(len(models)), models)
        ax.legend(fontsize="small")
    axes[0].set(ylabel="ms", title="In-process forward p50 (function's threads)")
    axes[1].set(ylabel="F1", title=f"In-process F1, SQuAD v1.1 dev ({count or '?'} questions)")
    return True


def _rows(results: BenchResults) -> int:
    return max(1, len(results.all_runs()))


def _columns(results: BenchResults) -> int:
    return max(1, len(results.variants()))


PLOTS: dict[str, tuple[Any, Any, Any]] = {
    # name: (draw, figure size, (rows, columns)); size and grid may be functions of the results.
    # A 1x1 grid draws on one Axes; any other on the flat list of them, row by row.
    "cold_start": (_plot_cold_start, lambda r: (10, 2.5 + 0.45 * _rows(r)), (1, 1)),
    "warm_latency": (_plot_warm, (12, 4.5), lambda r: (1, max(1, len(r.model_types())))),
    "concurrency": (_plot_concurrency, lambda r: (4.5 * _columns(r), 7), lambda r: (2, _columns(r))),
    "engines": (_plot_engines, (11, 4), (1, 2)),
    "old_strategy": (_plot_old_strategy, (11, 4.5), (1, 1)),
    "image_size": (_plot_image, (8, 4), (1, 1)),
    "s3_download": (_plot_s3, (8, 4), (1, 1)),
    "fleet_scaling": (
        lambda r, axes: fleet_report.plot_scaling(r.fleet, axes),
        lambda r: (5 * fleet_report.plot_columns(r.fleet), 4),
        lambda r: (1, fleet_report.plot_columns(r.fleet)),
    ),
}


def write_plots(results: BenchResults, out_dir: Path) -> list[Path]:
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
