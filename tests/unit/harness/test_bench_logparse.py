"""Environment logs -> init timings, cache hits/loads, and the cold-start breakdown."""

from __future__ import annotations

import json

import pytest

from harness.bench import logparse

INIT_LINE = {
    "level": "INFO",
    "location": "initialise:77",
    "message": "init timings",
    "timestamp": "2026-11-25 09:40:00,000+0000",
    "service": "inference",
    "store": "s3",
    "init_ms": {
        "module_imports": 180.0,
        "manifest": 12.0,
        "eager_fetch": 900.0,
        "imports": 700.0,
        "eager_loads": 150.0,
        "total": 1250.0,
    },
    "eager": {"nlp1": {"fetch": 900.0, "load": 150.0}},
    "threads": 2,
    "memory_budget_mb": 2400,
}


def _answered(model_type: str, cache_hit: bool, timings_ms: dict[str, float]) -> str:
    """The function's log line for one answered question."""
    line = {"message": "question answered", "model_type": model_type, "cache_hit": cache_hit}
    return json.dumps({**line, "timings_ms": timings_ms})


def _log_text() -> str:
    lines = [
        "[localcloud] 2026-11-25T09:40:00Z cold start in 0.85 s (container lambda-inference-x-fn-abc)",
        "[localcloud] 2026-11-25T09:40:00Z invoke 1234 (cold, environment abc)",
        "START RequestId: 1234 Version: $LATEST",
        json.dumps(INIT_LINE),
        json.dumps({"message": "model loaded", "model_type": "nlp1", "fetch_ms": 900.0, "load_ms": 150.0}),
        _answered("nlp1", True, {"fetch": 0.0, "load": 0.0, "inference": 40.0}),
        json.dumps({"message": "model loaded", "model_type": "nlp2", "fetch_ms": 300.0, "load_ms": 90.0}),
        _answered("nlp2", False, {"fetch": 300.0, "load": 90.0, "inference": 30.0}),
        json.dumps({"message": "eager model failed to load at init", "model_type": "nlp3", "error": "x"}),
        "END RequestId: 1234",
        "REPORT RequestId: 1234\tInit Duration: 0.21 ms\tDuration: 1500.50 ms\tBilled Duration: 1501 ms",
        "not json {",
    ]
    return "\n".join(lines) + "\n"


def test_parse_log_reads_every_source() -> None:
    summary = logparse.parse_log(_log_text())
    assert summary.container_start_ms == pytest.approx(850.0)
    assert summary.has_init
    assert summary.init_timings_ms["eager_fetch"] == 900.0
    assert summary.eager == {"nlp1": {"fetch": 900.0, "load": 150.0}}
    assert summary.threads == 2
    assert summary.runtime_init_ms == pytest.approx(0.21)
    assert summary.request_durations_ms == [1500.50]
    assert summary.model_loads == {"nlp1": 1, "nlp2": 1}  # the failed load does not count
    assert summary.cache_hits == {"nlp1": 1}
    assert summary.cache_misses == {"nlp2": 1}


def test_init_phases_group_the_function_fields() -> None:
    summary = logparse.parse_log(_log_text())
    assert summary.init_phases_ms == {"imports": 880.0, "fetch": 912.0, "load": 150.0, "total": 1250.0}
    assert summary.init_total_ms == 1250.0  # the function's own total, not the RIE's 0.21 ms


def test_init_total_falls_back_to_phases_then_runtime() -> None:
    summary = logparse.LogSummary(init_timings_ms={"imports": 100.0, "load": 50.0, "custom": 5.0})
    assert summary.init_phases_ms == {"imports": 100.0, "load": 50.0, "other": 5.0}
    assert summary.init_total_ms == 155.0
    assert logparse.LogSummary(runtime_init_ms=42.0).init_total_ms == 42.0
    assert logparse.LogSummary().init_total_ms is None


def test_an_init_line_named_differently_is_still_found() -> None:
    line = json.dumps({"message": "Init complete", "timings_ms": {"imports": 10, "load": 5, "total": 20}})
    summary = logparse.parse_log(f"prefix {line}\n")
    assert summary.init_total_ms == 20
    assert summary.init_phases_ms["imports"] == 10


def test_breakdown_adds_up_to_the_client_latency() -> None:
    summary = logparse.parse_log(_log_text())
    timings = {"fetch": 0.0, "load": 0.0, "inference": 40.0}
    parts = logparse.cold_start_breakdown(2500.0, timings, summary)
    assert parts["container_start"] == pytest.approx(850.0)
    assert parts["init_imports"] == 880.0
    assert parts["model_load"] == 150.0
    # init 1250 = imports 880 + loads 150 + 220 the fetch did not hide behind the imports
    assert parts["model_fetch"] == pytest.approx(220.0)
    assert parts["model_fetch_raw"] == pytest.approx(912.0)
    assert parts["first_inference"] == 40.0
    assert sum(parts[p] for p in logparse.BREAKDOWN_PARTS) == pytest.approx(2500.0)
    assert parts["other"] == pytest.approx(2500.0 - 850.0 - 1250.0 - 40.0)


def test_breakdown_adds_the_request_fetch_and_load() -> None:
    summary = logparse.parse_log(_log_text())
    parts = logparse.cold_start_breakdown(3000.0, {"fetch": 300.0, "load": 90.0, "inference": 30.0}, summary)
    assert parts["model_fetch"] == pytest.approx(520.0)
    assert parts["model_load"] == pytest.approx(240.0)
    assert sum(parts[p] for p in logparse.BREAKDOWN_PARTS) == pytest.approx(3000.0)


def test_breakdown_without_logs_puts_the_unknown_in_other() -> None:
    parts = logparse.cold_start_breakdown(
        900.0, {"fetch": 0.0, "load": 0.0, "inference": 25.0}, logparse.LogSummary()
    )
    assert parts["container_start"] is None
    assert parts["init_imports"] is None
    assert parts["first_inference"] == 25.0
    assert parts["other"] == pytest.approx(875.0)


def test_s3_downloads_are_counted_per_model_and_not_as_loads() -> None:
    line = '{"level": "INFO", "message": "model files downloaded", "model_type": "qa-003", "bytes": 1234}'
    summary = logparse.parse_log("\n".join([line, line]))
    assert summary.downloads == {"qa-003": 2}
    assert summary.downloaded_bytes == 2468
    assert not summary.model_loads
