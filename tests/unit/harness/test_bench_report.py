"""Report generation from a small fake results file: JSON, markdown, PNGs, README markers, targets.

The fake is written as the JSON ``results.json`` holds and read with ``BenchResults.from_json``,
as ``--report-only`` reads the committed results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.bench import report, targets
from harness.bench.report.machine import machine_line
from harness.bench.results import BenchResults, Machine
from harness.paths import REPO_ROOT

typed = BenchResults.from_json


def _summary(p50: float, p95: float | None = None, p99: float | None = None) -> dict[str, float]:
    return {
        "n": 200,
        "min": p50 * 0.9,
        "median": p50,
        "p50": p50,
        "p95": p95 or p50 * 1.2,
        "p99": p99 or p50 * 1.5,
        "max": p50 * 2,
        "mean": p50,
    }


def _run(
    variant: str,
    catalog: str,
    engine: str,
    cold_total: float,
    overhead: float,
    reloads: int,
    image: int,
    inference: dict[str, float],
    throughput_8: float = 100.0,
) -> dict[str, Any]:
    """One run's results; ``inference``: the function's timings_ms.inference p50 per model."""
    models = {
        mt: {
            "requests": 200,
            "errors": 0,
            "engine": engine,
            "end_to_end_ms": _summary(forward + overhead),
            "function_inference_ms": _summary(inference[mt]),
            "inprocess_forward_ms": _summary(forward),
            "inprocess_answer_ms": _summary(forward + 1),
            "inprocess_threads": 2,
            "overhead_p50_ms": overhead,
            "outside_inference_p50_ms": overhead - 1,
        }
        for mt, forward in (("nlp1", inference["nlp1"] - 1), ("nlp2", inference["nlp2"] - 1))
    }
    return {
        "variant": variant,
        "catalog": catalog,
        "engine": engine,
        "skipped": {},
        "errors": {},
        "deploy_s": 30.0,
        "image": {
            "image_tag": f"lambda-inference/function-{engine}:abc",
            "image_bytes": image,
            **({"cuda_torch_image_bytes": image + 4_000_000_000} if engine == "torch" else {}),
        },
        "cold_start": {
            "requested": 5,
            "ok": 5,
            "median_ms": {
                "container_start": 300.0,
                "init_imports": cold_total * 0.4,
                "model_fetch": 50.0,
                "model_load": 100.0,
                "first_inference": 40.0,
                "other": cold_total * 0.6 - 490.0,
                "total": cold_total,
                "model_fetch_raw": 80.0,
            },
        },
        "warm": {"models": models},
        "switching": {
            "requests": 40,
            "cache_hits": 40 - reloads,
            "reloads": reloads,
            "reloads_from_logs": reloads,
            "per_model": {"nlp1": {"latency_ms": _summary(15.0)}, "nlp2": {"latency_ms": _summary(9.0)}},
        },
        "concurrency": {
            "levels": {
                str(level): {
                    "scale_out": {"requests": level, "errors": 0, "seconds": 2.5 * (level > 1)},
                    "requests": 40,
                    "throughput_rps": throughput_8 / 2 * min(level, 2),
                    "latency_ms": _summary(20.0 * level),
                    "errors": 0,
                    "environments_started": max(0, level - 1),
                    "environments_used": level,
                    "containers_running_after": level,
                }
                for level in (1, 2, 4, 8)
            }
        },
        "accuracy": {
            "models": {
                mt: {
                    "questions": 500,
                    "endpoint": {"exact_match": em, "f1": f1, "count": 500},
                    "inprocess": {"exact_match": em, "f1": f1, "count": 500},
                    "agree": True,
                    "identical": True,
                    "differing_answers": 0,
                }
                for mt, (em, f1) in (("nlp1", (66.6, 72.6)), ("nlp2", (52.4, 60.28)))
            }
        },
    }


def _inprocess(engine: str, scores: dict[str, tuple[float, float]], reference: bool) -> dict[str, Any]:
    return {
        mt: {
            "exact_match": em,
            "f1": f1,
            "count": 2000,
            "engine": engine,
            "reference": {"exact_match": em, "f1": f1} if reference else None,
            "matches_reference": True if reference else None,
        }
        for mt, (em, f1) in scores.items()
    }


TORCH_SCORES = {"nlp1": (60.70, 71.53), "nlp2": (51.70, 62.34)}


@pytest.fixture
def bench_results() -> dict[str, Any]:
    torch_ms = {"nlp1": 13.0, "nlp2": 8.0}
    int8_ms = {"nlp1": 6.0, "nlp2": 5.0}  # 2.17x and 1.6x: the worse model misses 1.8x
    onnx_ms = {"nlp1": 11.0, "nlp2": 7.0}
    runs = {}
    for variant, cold, int8_cold, image in (
        ("s3", 4500.0, 1400.0, 350_000_000),
        ("efs", 3000.0, 1300.0, 350_000_000),
        ("oci", 2500.0, 900.0, 480_000_000),
    ):
        runs[f"{variant}/offline"] = _run(
            variant,
            "offline",
            "torch",
            cold,
            {"s3": 3.0, "efs": 7.5, "oci": 2.0}[variant],
            3 if variant == "oci" else 0,
            {"s3": 1_100_000_000, "efs": 1_000_000_000, "oci": 1_300_000_000}[variant],
            torch_ms,
        )
        runs[f"{variant}/offline-onnx"] = _run(
            variant, "offline-onnx", "onnx", cold * 0.5, 3.0, 0, image + 100_000_000, onnx_ms
        )
        runs[f"{variant}/offline-int8"] = _run(
            variant, "offline-int8", "onnx-int8", int8_cold, 3.0, 0, image, int8_ms, throughput_8=190.0
        )
    runs["s3/offline"]["s3"] = {
        "model_type": "nlp2",
        "model_bytes": 69_000_000,
        "function_median_mb_s": 180.0,
        "raw_median_mb_s": 200.0,
        "function_to_raw": 0.9,
        "eager_at_init_mb_s": {"nlp1": {"median": 150.0}},
    }
    nlp2 = runs["oci/offline-int8"]["accuracy"]["models"]["nlp2"]
    nlp2.update(identical=False, differing_answers=2)
    parity = {
        "offline-onnx": {
            "against": "offline",
            "models": {
                "nlp1": {"identical": 1996, "count": 2000, "identical_share": 0.998},
                "nlp2": {"identical": 1980, "count": 2000, "identical_share": 0.99},
            },
        },
        "offline-int8": {
            "against": "offline",
            "models": {
                "nlp1": {"identical": 1800, "count": 2000, "identical_share": 0.9},
                "nlp2": {"identical": 1850, "count": 2000, "identical_share": 0.925},
            },
        },
    }
    for entry in parity.values():
        for mt, m in entry["models"].items():
            m.update(exact_match_delta=-0.05, f1_delta=-0.04, identical_after_normalisation=m["identical"])
            m["engine"], m["against"] = "x", "torch"
            del mt
    return {
        "schema": 2,
        "started_at": "2026-11-25T10:00:00Z",
        "duration_s": 1800.0,
        "machine": {
            "nproc": 2,
            "cpu_model": "AMD EPYC",
            "memory_bytes": 24 * 2**30,
            "os": "Linux 6",
            "python": "3.11.9",
            "torch": "2.13.0+cpu",
            "onnxruntime": "1.32.0",
        },
        "settings": {
            "variants": ["s3", "efs", "oci"],
            "catalogs": ["offline", "offline-onnx", "offline-int8"],
            "model_types": ["nlp1", "nlp2"],
            "concurrency_levels": [1, 2, 4, 8],
            "questions": 500,
            "inprocess_questions": 2000,
            "warm_requests": 200,
            "cold_starts": 5,
            "qa_backend": "inference.qa + inference.engines",
        },
        "catalogs": {
            "offline": {
                "engine": "torch",
                "engines": {"nlp1": "torch", "nlp2": "torch"},
                "runtimes": ["torch"],
            },
            "offline-onnx": {
                "engine": "onnx",
                "engines": {"nlp1": "onnx", "nlp2": "onnx"},
                "runtimes": ["onnxruntime"],
            },
            "offline-int8": {
                "engine": "onnx-int8",
                "engines": {"nlp1": "onnx-int8", "nlp2": "onnx-int8"},
                "runtimes": ["onnxruntime"],
            },
        },
        "inprocess_accuracy": {
            "offline": _inprocess("torch", TORCH_SCORES, reference=True),
            "offline-onnx": _inprocess("onnx", {"nlp1": (60.70, 71.48), "nlp2": (51.70, 62.30)}, False),
            "offline-int8": _inprocess("onnx-int8", {"nlp1": (60.0, 70.90), "nlp2": (50.9, 61.00)}, False),
        },
        "engine_parity": parity,
        "old_strategy": {
            "files": "hf cache",
            "repeats": 10,
            "catalog": "offline",
            "models": {
                "nlp1": {
                    "total_ms": _summary(400.0),
                    "load_ms": _summary(370.0),
                    "inference_ms": _summary(30.0),
                },
                "nlp2": {
                    "total_ms": _summary(60.0),
                    "load_ms": _summary(50.0),
                    "inference_ms": _summary(10.0),
                },
            },
        },
        "cuda_torch": {
            "torch_version": "2.13.0",
            "installed_bytes": 4_722_802_416,
            "wheel_bytes": 2_730_285_100,
            "packages": 20,
            "cpu_torch_installed_bytes": 698_003_938,
        },
        "runs": runs,
    }


def _by_name(checks: list[targets.TargetCheck], name: str, run: str) -> targets.TargetCheck:
    return next(c for c in checks if c.name == name and c.variant == run)


def test_the_per_run_targets(bench_results: dict[str, Any]) -> None:
    checks = targets.evaluate(typed(bench_results))
    cold = "cold start (median)"
    assert _by_name(checks, cold, "s3 · torch").met is False  # 4.5 s > 4 s
    assert _by_name(checks, cold, "efs · torch").met is True  # 3.0 <= 3.5
    assert _by_name(checks, cold, "oci · torch").met is True
    assert _by_name(checks, cold, "oci · onnx-int8").met is True  # 0.9 <= 1.0
    assert _by_name(checks, cold, "efs · onnx-int8").met is False  # 1.3 > 1.2
    assert _by_name(checks, cold, "s3 · onnx-int8").met is True  # 1.4 <= 1.5
    assert not [c for c in checks if c.name == cold and c.engine == "onnx"]  # fp32: measured, no target
    assert _by_name(checks, "warm overhead p50", "s3 · torch").met is True
    assert _by_name(checks, "warm overhead p50", "efs · torch").met is False  # 7.5 ms
    assert _by_name(checks, "warm overhead p50", "efs · onnx-int8").met is True
    assert _by_name(checks, "reloads when switching cached models", "oci · torch").met is False
    image = "image size"
    assert _by_name(checks, image, "oci · torch").met is False  # 1.3 GB > 1.2 GB
    assert _by_name(checks, image, "efs · torch").met is True
    assert (
        _by_name(checks, image, "s3 · onnx-int8").target,
        _by_name(checks, image, "s3 · onnx-int8").met,
    ) == (
        "<= 400 MB",
        True,
    )
    assert _by_name(checks, image, "s3 · onnx").met is False  # 450 MB, lean: > 400 MB
    assert _by_name(checks, image, "oci · onnx-int8").target == "<= 450 MB"
    assert _by_name(checks, image, "oci · onnx-int8").met is False  # 480 MB
    assert _by_name(checks, image, "oci · onnx").target == "<= 1.20 GB"  # no lean target for fp32 OCI
    # old strategy p50 400 ms (nlp1) vs EFS warm 19.5 ms: 20.5x; nlp2 60 vs 14.5: 4.1x -> the worse counts
    old = _by_name(checks, "warm latency vs the old sample's strategy", "efs · torch")
    assert old.met is False and "nlp1 20.5x" in old.value
    assert [c.variant for c in checks if c.name == old.name] == ["efs · torch"]
    same = "endpoint answers = in-process answers (same engine)"
    assert _by_name(checks, same, "oci · onnx-int8").met is False and "nlp2: 2 of 500 differ" in (
        _by_name(checks, same, "oci · onnx-int8").value
    )
    assert _by_name(checks, same, "oci · torch").met is True
    assert targets.verdict(None) == "not measured"


def test_the_targets_between_engines(bench_results: dict[str, Any]) -> None:
    checks = targets.evaluate(typed(bench_results))
    speedup = _by_name(
        checks, "int8 inference speed-up (function's timings_ms.inference p50)", "efs · onnx-int8 vs torch"
    )
    assert speedup.met is False and speedup.value == "nlp1 2.17x, nlp2 1.60x"  # the worse model counts
    throughput = _by_name(checks, "int8 warm throughput at concurrency 8", "oci · onnx-int8 vs torch")
    assert throughput.met is True and "1.90x" in throughput.value
    ratio = _by_name(checks, "int8 cold start vs the torch catalog's", "oci · onnx-int8 vs torch")
    assert ratio.met is True and "0.36x" in ratio.value  # 0.9 s / 2.5 s
    assert not [c for c in checks if c.name == ratio.name and c.variant.startswith("s3")]  # OCI only
    loss1 = _by_name(checks, "int8 F1 loss vs torch (nlp1)", "in-process")
    loss2 = _by_name(checks, "int8 F1 loss vs torch (nlp2)", "in-process")
    assert (loss1.met, loss2.met) == (True, False)  # 0.63 and 1.34 points
    assert "loss 1.34 on 2000" in loss2.value and "target is on" not in loss2.value
    assert _by_name(checks, "fp32 ONNX EM / F1 = torch's (nlp1)", "in-process").met is True
    assert _by_name(checks, "fp32 ONNX answers identical to torch's (nlp1)", "in-process").met is True
    assert _by_name(checks, "fp32 ONNX answers identical to torch's (nlp2)", "in-process").met is False
    assert _by_name(checks, "in-process accuracy = hf-cache README (nlp1)", "in-process").met is True
    assert not [c for c in checks if "hf-cache README" in c.name and c.engine != "torch"]


def test_answers_served_by_another_engine_are_not_the_same_engine(bench_results: dict[str, Any]) -> None:
    name = "endpoint answers = in-process answers (same engine)"
    warm = bench_results["runs"]["s3/offline-int8"]["warm"]["models"]
    warm["nlp1"]["served_engines"] = {"onnx-int8": 200}
    assert _by_name(targets.evaluate(typed(bench_results)), name, "s3 · onnx-int8").met is True
    warm["nlp2"]["served_engines"] = {"torch": 200}  # e.g. an image from an older catalog
    check = _by_name(targets.evaluate(typed(bench_results)), name, "s3 · onnx-int8")
    assert check.met is False and "nlp2 served by torch (200)" in check.value


def test_fp32_scores_off_by_more_than_a_tenth_miss(bench_results: dict[str, Any]) -> None:
    bench_results["inprocess_accuracy"]["offline-onnx"]["nlp2"]["f1"] = 62.10  # 0.24 below torch
    checks = targets.evaluate(typed(bench_results))
    check = _by_name(checks, "fp32 ONNX EM / F1 = torch's (nlp2)", "in-process")
    assert check.met is False


def test_missing_measurements_are_not_measured() -> None:
    results = {
        "runs": {
            "efs/offline": {"variant": "efs", "catalog": "offline", "skipped": {"cold_start": "no hook"}}
        }
    }
    checks = targets.evaluate(typed(results))
    assert {c.met for c in checks} == {None}
    assert _by_name(checks, "cold start (median)", "efs · torch").value == "not measured"


def test_write_results_writes_json_markdown_and_plots(bench_results: dict[str, Any], tmp_path: Path) -> None:
    paths = report.write_results(typed(bench_results), tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["runs"]["s3/offline"]["cold_start"]["median_ms"]["total"] == 4500.0
    assert {c["name"] for c in saved["targets"]} >= {"cold start (median)", "image size"}
    markdown = (tmp_path / "results.md").read_text()
    assert paths.markdown == tmp_path / "results.md"
    # one summary table per engine, variants as columns
    torch_table = markdown.split("**Engine torch** (catalog `offline`)")[1].split("**Engine onnx**")[0]
    assert "| cold start, median (s) | 4.50 | 3.00 | 2.50 |" in torch_table
    assert "| warm p50 / p95 / p99, nlp1 (ms) | 15.0 / 18.0 / 22.5 |" in torch_table
    assert "| warm throughput at concurrency 1/2/4/8 (req/s) | 50.0 / 100.0 / 100.0 / 100.0 |" in torch_table
    assert "| scale-out to 8 concurrent requests (s) | 2.5 |" in torch_table
    int8_table = markdown.split("**Engine onnx-int8** (catalog `offline-int8`)")[1].split("## Engines")[0]
    assert "| cold start, median (s) | 1.40 | 1.30 | 0.90 |" in int8_table
    assert "| image (MB) | 350 | 350 | 480 |" in int8_table
    assert "CUDA" not in int8_table  # no torch in that image
    # the engines side by side: a column per engine, the variants in each cell
    assert "|  | torch | onnx | onnx-int8 |" in markdown
    cold = "| cold start median, s3 / efs / oci (s) | 4.50 / 3.00 / 2.50 | 2.25 / 1.50 / 1.25 |"
    assert cold + " 1.40 / 1.30 / 0.90 |" in markdown
    assert "| inference speed-up vs torch, nlp1, s3 / efs / oci (x) | 1.00 / 1.00 / 1.00 | " in markdown
    assert "2.17 / 2.17 / 2.17 |" in markdown
    assert "| answers identical to torch's, nlp2 (F1 difference) | - | 99.00% (F1 -0.04) |" in markdown
    assert "NOT met" in markdown and "| met |" in markdown
    assert "## Cold start breakdown" in markdown and "## Concurrency" in markdown
    assert "| oci | onnx-int8 | nlp2 | 500 |" in markdown  # endpoint accuracy, per run
    assert "180.0 vs 200.0" in markdown
    names = {p.name for p in paths.plots}
    assert names == {
        "cold_start.png",
        "warm_latency.png",
        "concurrency.png",
        "engines.png",
        "old_strategy.png",
        "image_size.png",
        "s3_download.png",
    }
    for path in paths.plots:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({path.name})" in markdown


def test_a_skipped_scenario_shows_as_a_dash(bench_results: dict[str, Any], tmp_path: Path) -> None:
    del bench_results["runs"]["oci/offline-int8"]["concurrency"]
    bench_results["runs"]["oci/offline-int8"]["skipped"] = {"concurrency": "time budget"}
    bench_results["runs"]["efs/offline"]["errors"] = {"destroy": "RuntimeError: state locked"}
    for run in bench_results["runs"].values():
        run.pop("s3", None)
    paths = report.write_results(typed(bench_results), tmp_path)
    markdown = paths.markdown.read_text()
    assert "- oci · onnx-int8: concurrency: time budget" in markdown
    assert "## Errors\n\n- efs · torch: destroy: RuntimeError: state locked" in markdown
    assert "s3_download.png" not in {p.name for p in paths.plots}
    check = _by_name(
        [targets.TargetCheck(**c) for c in json.loads(paths.json.read_text())["targets"]],
        "int8 warm throughput at concurrency 8",
        "oci · onnx-int8 vs torch",
    )
    assert check.met is None


def test_a_schema_1_results_file_is_read_as_one_torch_catalog(bench_results: dict[str, Any]) -> None:
    old = {
        "schema": 1,
        "settings": {"catalog": "offline", "model_types": ["nlp1", "nlp2"]},
        "variants": {
            v: {
                k: x
                for k, x in bench_results["runs"][f"{v}/offline"].items()
                if k not in ("variant", "catalog")
            }
            for v in ("s3", "efs", "oci")
        },
        "inprocess_accuracy": bench_results["inprocess_accuracy"]["offline"],
        "targets": [{"name": "stale"}],
    }
    upgraded = typed(old)
    assert upgraded.schema == 2 and not upgraded.targets
    assert [r.label for r in upgraded.all_runs()] == ["s3 · torch", "efs · torch", "oci · torch"]
    checks = targets.evaluate(upgraded)
    assert _by_name(checks, "cold start (median)", "s3 · torch").met is False
    assert "| cold start, median (s) | 4.50 | 3.00 | 2.50 |" in report.summary_table(upgraded)
    assert typed(upgraded.to_json()) == upgraded
    section = report.readme_section(upgraded, "r.md", "m.md")
    assert "**Engine torch** (catalog `offline`)" in section
    assert "Engines side by side" not in section  # one engine: nothing to set beside it


def test_two_catalogs_on_one_engine_are_told_apart() -> None:
    results = {
        "settings": {"catalogs": ["offline-int8", "mine"]},
        "catalogs": {"offline-int8": {"engine": "onnx-int8"}, "mine": {"engine": "onnx-int8"}},
        "runs": {
            "oci/offline-int8": {"variant": "oci", "catalog": "offline-int8"},
            "oci/mine": {"variant": "oci", "catalog": "mine"},
        },
    }
    assert [r.label for r in typed(results).all_runs()] == [
        "oci · onnx-int8 (offline-int8)",
        "oci · onnx-int8 (mine)",
    ]
    assert typed(results).find("oci", "onnx-int8").catalog == "offline-int8"


def test_readme_section_is_replaced_between_markers(bench_results: dict[str, Any], tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Project\n\nIntro.\n\n## Benchmark\n\n"
        "<!-- BENCH:START -->\nold table\n<!-- BENCH:END -->\n\n## Next\nkept\n"
    )
    section = report.readme_section(typed(bench_results), "bench/results/results.md", "bench/README.md")
    assert report.update_readme(readme, section)
    text = readme.read_text()
    assert "old table" not in text
    assert text.startswith("# Project\n\nIntro.\n\n## Benchmark\n\n<!-- BENCH:START -->\n_Generated by")
    assert text.endswith("<!-- BENCH:END -->\n\n## Next\nkept\n")
    assert "2 CPUs (AMD EPYC), 24.0 GiB memory" in text
    assert "**Method:**" in text and "(bench/README.md)" in text
    assert "| cold start, median (s) |" in text and "| target | run |" in text
    assert "**Engine onnx-int8** (catalog `offline-int8`)" in text and "**Engines side by side**" in text
    assert "on 2000 questions" in text
    # a second run replaces its own section, not more
    assert report.update_readme(readme, "new")
    assert readme.read_text().count("<!-- BENCH:START -->") == 1
    assert "<!-- BENCH:START -->\nnew\n<!-- BENCH:END -->" in readme.read_text()


def test_readme_without_markers_is_left_alone(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n")
    assert not report.update_readme(readme, "table")
    assert readme.read_text() == "# no markers\n"
    assert not report.update_readme(tmp_path / "missing.md", "table")


def test_machine_info_describes_this_machine() -> None:
    info = report.machine_info()
    assert info.nproc >= 1
    assert info.memory_bytes > 0
    assert info.cpu_model
    assert "CPUs" in machine_line(info)
    assert "load average" in machine_line(info)


def test_a_busy_machine_is_named_in_the_machine_line() -> None:
    machine = {"nproc": 2, "cpu_model": "x", "memory_bytes": 2**30}
    assert "busy" not in machine_line(Machine.from_json({**machine, "loadavg_1m_at_start": 0.4}))
    assert "busy: other work was running" in machine_line(
        Machine.from_json({**machine, "loadavg_1m_at_start": 1.5})
    )


def test_the_committed_results_load_into_records_and_write_back_unchanged() -> None:
    """``from_json`` / ``to_json`` keep every key and value of bench/results/results.json, in order."""
    path = REPO_ROOT / "bench" / "results" / "results.json"
    text = path.read_text()
    results = BenchResults.load(path)
    assert json.dumps(results.to_json(), indent=1, default=str) + "\n" == text
    assert results.runs["s3/offline"].warm.model("nlp1").end_to_end_ms.p50 is not None
    assert not results.runs["efs/offline"].s3  # no S3 scenario on EFS: an empty record, left out


def test_a_summary_of_no_values_is_written_as_n_zero() -> None:
    from harness.bench.records import ColdStart, Summary

    assert Summary.of([]).to_json() == {"n": 0}
    cold = ColdStart.from_json({"ok": 0, "total_ms": {"n": 0}, "unknown": 1})
    assert cold.total_ms == Summary(n=0) and cold.to_json()["total_ms"] == {"n": 0}
    assert not ColdStart() and cold
