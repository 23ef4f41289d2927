"""Report generation from a small fake results dict: JSON, markdown, PNGs, README markers, targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.bench import report, targets


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


def _variant(cold_total: float, overhead: float, reloads: int, image: int) -> dict[str, Any]:
    models = {
        mt: {
            "requests": 200,
            "errors": 0,
            "end_to_end_ms": _summary(forward + overhead),
            "function_inference_ms": _summary(forward + 1),
            "inprocess_forward_ms": _summary(forward),
            "inprocess_answer_ms": _summary(forward + 1),
            "overhead_p50_ms": overhead,
            "outside_inference_p50_ms": overhead - 1,
        }
        for mt, forward in (("nlp1", 12.0), ("nlp2", 7.0))
    }
    return {
        "skipped": {},
        "errors": {},
        "deploy_s": 30.0,
        "image": {
            "image_tag": "lambda-inference/function:abc",
            "image_bytes": image,
            "cuda_torch_image_bytes": image + 4_000_000_000,
        },
        "cold_start": {
            "requested": 5,
            "ok": 5,
            "median_ms": {
                "container_start": 500.0,
                "init_imports": 900.0,
                "model_fetch": 200.0,
                "model_load": 150.0,
                "first_inference": 40.0,
                "other": cold_total - 1790.0,
                "total": cold_total,
                "model_fetch_raw": 400.0,
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
                    "throughput_rps": 50.0 * min(level, 2),
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
                "nlp1": {
                    "questions": 500,
                    "endpoint": {"exact_match": 66.6, "f1": 72.6, "count": 500},
                    "inprocess": {"exact_match": 66.6, "f1": 72.6, "count": 500},
                    "reference": {"exact_match": 66.6, "f1": 72.6},
                    "agree": True,
                    "differing_answers": 0,
                },
                "nlp2": {
                    "questions": 500,
                    "endpoint": {"exact_match": 52.0, "f1": 60.0, "count": 500},
                    "inprocess": {"exact_match": 52.4, "f1": 60.28, "count": 500},
                    "reference": {"exact_match": 52.4, "f1": 60.28},
                    "agree": True,
                    "differing_answers": 2,
                },
            }
        },
    }


@pytest.fixture
def bench_results() -> dict[str, Any]:
    s3 = _variant(cold_total=4500.0, overhead=3.0, reloads=0, image=1_100_000_000)
    s3["s3"] = {
        "model_type": "nlp2",
        "model_bytes": 69_000_000,
        "function_median_mb_s": 180.0,
        "raw_median_mb_s": 200.0,
        "function_to_raw": 0.9,
        "eager_at_init_mb_s": {"nlp1": {"median": 150.0}},
    }
    return {
        "schema": 1,
        "started_at": "2026-11-25T10:00:00Z",
        "duration_s": 1800.0,
        "machine": {
            "nproc": 2,
            "cpu_model": "AMD EPYC",
            "memory_bytes": 24 * 2**30,
            "os": "Linux 6",
            "python": "3.11.9",
            "torch": "2.13.0+cpu",
        },
        "settings": {
            "model_types": ["nlp1", "nlp2"],
            "concurrency_levels": [1, 2, 4, 8],
            "questions": 500,
            "warm_requests": 200,
            "cold_starts": 5,
            "catalog": "offline",
            "qa_backend": "inference.qa",
        },
        "inprocess_accuracy": {
            "nlp1": {
                "exact_match": 66.6,
                "f1": 72.6,
                "count": 500,
                "reference": {"exact_match": 66.6, "f1": 72.6},
                "matches_reference": True,
            },
            "nlp2": {
                "exact_match": 52.4,
                "f1": 60.28,
                "count": 500,
                "reference": {"exact_match": 52.4, "f1": 60.28},
                "matches_reference": True,
            },
        },
        "old_strategy": {
            "files": "hf cache",
            "repeats": 10,
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
        "variants": {
            "s3": s3,
            "efs": _variant(cold_total=3000.0, overhead=7.5, reloads=0, image=1_000_000_000),
            "oci": _variant(cold_total=2500.0, overhead=2.0, reloads=3, image=1_300_000_000),
        },
    }


def _by_name(checks: list[targets.TargetCheck], name: str, variant: str) -> targets.TargetCheck:
    return next(c for c in checks if c.name == name and c.variant == variant)


def test_targets_met_and_not_met(bench_results: dict[str, Any]) -> None:
    checks = targets.evaluate(bench_results)
    assert _by_name(checks, "cold start (median)", "s3").met is False  # 4.5 s > 4 s
    assert _by_name(checks, "cold start (median)", "efs").met is True  # 3.0 <= 3.5
    assert _by_name(checks, "cold start (median)", "oci").met is True
    assert _by_name(checks, "warm overhead p50", "s3").met is True
    assert _by_name(checks, "warm overhead p50", "efs").met is False  # 7.5 ms
    assert _by_name(checks, "reloads when switching cached models", "oci").met is False
    assert _by_name(checks, "image size", "oci").met is False  # 1.3 GB
    assert _by_name(checks, "image size", "efs").met is True
    # old strategy p50 400 ms (nlp1) vs EFS warm 19.5 ms: 20.5x; nlp2 60 vs 14.5: 4.1x -> the worse counts
    old = _by_name(checks, "warm latency vs the old sample's strategy", "efs")
    assert old.met is False
    assert "nlp1 20.5x" in old.value
    assert _by_name(checks, "in-process accuracy = hf-cache README (nlp1)", "in-process").met is True
    assert targets.verdict(None) == "not measured"


def test_missing_measurements_are_not_measured() -> None:
    checks = targets.evaluate({"variants": {"efs": {"skipped": {"cold_start": "no reset hook"}}}})
    assert {c.met for c in checks} == {None}
    assert _by_name(checks, "cold start (median)", "efs").value == "not measured"


def test_write_results_writes_json_markdown_and_plots(bench_results: dict[str, Any], tmp_path: Path) -> None:
    paths = report.write_results(bench_results, tmp_path)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["variants"]["s3"]["cold_start"]["median_ms"]["total"] == 4500.0
    assert {c["name"] for c in saved["targets"]} >= {"cold start (median)", "image size"}
    markdown = (tmp_path / "results.md").read_text()
    assert paths["markdown"] == tmp_path / "results.md"
    assert "| cold start, median (s) | 4.50 | 3.00 | 2.50 |" in markdown
    assert "| warm p50 / p95 / p99, nlp1 (ms) | 15.0 / 18.0 / 22.5 |" in markdown
    assert "NOT met" in markdown and "| met |" in markdown
    assert "## Cold start breakdown" in markdown and "## Concurrency" in markdown
    assert "180.0 vs 200.0" in markdown
    assert "| warm throughput at concurrency 1/2/4/8 (req/s) | 50.0 / 100.0 / 100.0 / 100.0 |" in markdown
    assert "| scale-out to 8 concurrent requests (s) | 2.5 |" in markdown
    names = {p.name for p in paths["plots"]}
    assert names == {
        "cold_start.png",
        "warm_latency.png",
        "concurrency.png",
        "old_strategy.png",
        "image_size.png",
        "s3_download.png",
    }
    for path in paths["plots"]:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({path.name})" in markdown


def test_a_skipped_scenario_shows_as_a_dash(bench_results: dict[str, Any], tmp_path: Path) -> None:
    del bench_results["variants"]["oci"]["concurrency"]
    del bench_results["variants"]["s3"]["s3"]
    bench_results["variants"]["oci"]["skipped"] = {"concurrency": "time budget"}
    bench_results["variants"]["efs"]["errors"] = {"destroy": "RuntimeError: state locked"}
    for variant in bench_results["variants"].values():
        variant.pop("s3", None)
    paths = report.write_results(bench_results, tmp_path)
    markdown = paths["markdown"].read_text()
    assert "- oci: concurrency: time budget" in markdown
    assert "## Errors\n\n- efs: destroy: RuntimeError: state locked" in markdown
    assert "s3_download.png" not in {p.name for p in paths["plots"]}


def test_readme_section_is_replaced_between_markers(bench_results: dict[str, Any], tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# Project\n\nIntro.\n\n## Benchmark\n\n"
        "<!-- BENCH:START -->\nold table\n<!-- BENCH:END -->\n\n## Next\nkept\n"
    )
    section = report.readme_section(bench_results, "bench/results/results.md", "bench/README.md")
    assert report.update_readme(readme, section)
    text = readme.read_text()
    assert "old table" not in text
    assert text.startswith("# Project\n\nIntro.\n\n## Benchmark\n\n<!-- BENCH:START -->\n_Generated by")
    assert text.endswith("<!-- BENCH:END -->\n\n## Next\nkept\n")
    assert "2 CPUs (AMD EPYC), 24.0 GiB memory" in text
    assert "**Method:**" in text and "(bench/README.md)" in text
    assert "| cold start, median (s) |" in text and "| target | variant |" in text
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
    assert info["nproc"] >= 1
    assert info["memory_bytes"] > 0
    assert info["cpu_model"]
    assert "CPUs" in report.machine_line(info)
    assert "load average" in report.machine_line(info)


def test_a_busy_machine_is_named_in_the_machine_line() -> None:
    machine = {"nproc": 2, "cpu_model": "x", "memory_bytes": 2**30}
    assert "busy" not in report.machine_line({**machine, "loadavg_1m_at_start": 0.4})
    assert "busy: other work was running" in report.machine_line({**machine, "loadavg_1m_at_start": 1.5})
