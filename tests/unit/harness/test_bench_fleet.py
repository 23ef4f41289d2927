"""The fleet scenario's pieces without a cloud: budget sizing from a manifest, GET /models
parsing, its report section, plot and targets on a small fake results dict, and the typed
records on a real results file's fleet section (commit 46f6043's, in data/)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from inference.cache import PER_MODEL_OVERHEAD
from inference.contract import FileDigest, Manifest, ManifestModel

from harness.bench import cost, fleet, fleet_report, fleet_targets, options, report, targets
from harness.bench.client import ApiResult
from harness.bench.fleet_records import ColdStartReads, FleetPhase, FleetRun, PhaseEnvironments
from harness.bench.results import BenchResults
from harness.bench.scenarios import Deadline

MIB = 1024 * 1024
DATA = Path(__file__).parent / "data"
# The fleet section of the results committed in 46f6043 (efs, N = 2, 10, 50 at 2,000 requests),
# and its fleet section as the report rendered it before the records were typed.
RECORDED = DATA / "fleet_46f6043.json"
RECORDED_SECTION = DATA / "fleet_46f6043.md"


def _model(model_type: str, weights: int, eager: bool = False) -> ManifestModel:
    files = (
        FileDigest("config.json", 1_000, "0" * 64),
        FileDigest("model.safetensors", weights, "1" * 64),
    )
    return ManifestModel(model_type, "local/x", "r", f"models/{model_type}", files, eager=eager)


def test_fleet_models_size_the_budget_for_a_share_of_the_fleet() -> None:
    manifest = Manifest(
        {
            "qa-001": _model("qa-001", 60 * MIB),
            "qa-000": _model("qa-000", 80 * MIB, eager=True),
            "qa-002": _model("qa-002", 80 * MIB),
            "qa-003": _model("qa-003", 60 * MIB),
        }
    )
    models = fleet.FleetModels.from_manifest(manifest)
    assert models.model_types == ("qa-000", "qa-001", "qa-002", "qa-003")  # Zipf rank order
    assert models.eager == ("qa-000",)
    assert models.costs["qa-000"] == 80 * MIB + PER_MODEL_OVERHEAD  # the function's own estimate
    assert models.file_bytes["qa-001"] == 60 * MIB + 1_000
    # 80 MiB is above the 8 MiB threshold: ten 8 MiB ranged GETs, plus one for config.json
    assert models.s3_gets["qa-000"] == 11
    # two models of (70 + 16) MiB on average
    assert models.memory_budget_mb(2) == 172
    # never below the largest model
    assert models.memory_budget_mb(1) == 96


def test_plan_sizes_the_cache_for_20_percent_of_the_largest_fleet() -> None:
    assert fleet.FleetPlan(sizes=(2, 10, 50)).capacity_models == 10
    assert fleet.FleetPlan(sizes=(2,)).capacity_models == 1
    with pytest.raises(ValueError):
        fleet.FleetPlan(sizes=())
    with pytest.raises(ValueError):
        fleet.FleetPlan(requests=0)
    assert options.size_list("50,2,10,2") == (2, 10, 50)


def test_cache_hit_from_the_answer_or_from_its_timings() -> None:
    # the answer's own flag wins over the timings
    assert not fleet.served_from_cache(ApiResult(200, 1.0, {"cache_hit": False, "timings_ms": {"load": 0.0}}))
    assert not fleet.served_from_cache(ApiResult(200, 1.0, {"timings_ms": {"fetch": 0.0, "load": 12.0}}))
    assert fleet.served_from_cache(ApiResult(200, 1.0, {"timings_ms": {"fetch": 0.0, "load": 0.0}}))


def test_get_models_polls_and_counters() -> None:
    body = {
        "models": {
            "qa-000": {"loaded": True, "bytes_in_memory": 5, "hits": 7, "misses": 1},
            "qa-001": {"loaded": False, "hits": 0, "misses": 2},
        },
        "memory": {"used_bytes": 100, "budget_bytes": 200, "peak_bytes": 150},
        "disk": {"used_bytes": 300, "budget_bytes": 400},
    }
    poll = fleet.read_poll(body)
    # the environment's own peak counts when it reports one
    assert (poll.used_bytes, poll.budget_bytes, poll.disk_used_bytes, poll.disk_budget_bytes) == (
        150,
        200,
        300,
        400,
    )
    assert poll.loaded == 1
    assert fleet.function_counters(body) == {"hits": 7, "misses": 3}
    empty = fleet.read_poll({"models": ["nlp1"]})
    assert empty.used_bytes is None and empty.loaded == 0


def _phase(
    size: int, p50: float, p99: float, hit_rate: float, ideal: float, errors: int = 0, policy: float = 0.0
) -> dict[str, Any]:
    replayed = {"function_policy": {"hit_rate": policy}, "policy_gap_points": (policy - hit_rate) * 100}
    return (replayed if policy else {}) | {
        "size": size,
        "requests": 2000,
        "ok": 2000 - errors,
        "errors": errors,
        "hit_rate": hit_rate,
        "ideal_lru": {"hit_rate": ideal},
        "ideal_lru_in_models": {"hit_rate": ideal},
        "hit_rate_gap_points": (ideal - hit_rate) * 100,
        "loads_per_minute": 3.0,
        "latency_ms": {"p50": p50, "p95": p99 * 0.8, "p99": p99},
        "load_ms": 400.0,
        "forward_ms": 30.0,
        "p99_goal_ms": 530.0,
        "server_ms_mean": 60.0,
        "memory": {"peak_used_bytes": 900 * MIB, "budget_bytes": 1000 * MIB, "polls": 40},
        "environments": {"started": 1, "init_median_ms": 4000.0, "runtime_durations_ms": {"n": 0}},
        "store_reads": {"bytes_loaded": 10**10, "s3_gets": 0, "per_cold_start": {"bytes": 9 * 10**7}},
    }


def _results() -> dict[str, Any]:
    return {
        "fleet": {
            "efs": {
                "variant": "efs",
                "plan": fleet.FleetPlan().to_json(),
                "budget_mb": 1000,
                "models": {"count": 50, "engine": "torch", "mean_bytes": 8 * 10**7, "total_bytes": 4 * 10**9},
                "function": {"memory_mb": 6000, "ephemeral_storage_mb": 512, "image_bytes": 9 * 10**8},
                "phases": {
                    "2": _phase(2, 40.0, 60.0, 0.999, 0.999),
                    "10": _phase(10, 42.0, 500.0, 0.99, 0.99),
                    "50": _phase(50, 70.0, 520.0, 0.50, 0.56, errors=1, policy=0.66),
                },
                "skipped": {},
                "errors": {},
            }
        }
    }


def _typed() -> BenchResults:
    return BenchResults.from_json(_results())


def test_fleet_targets_on_the_largest_fleet() -> None:
    checks = {c.name: c for c in fleet_targets.fleet_checks(_typed().fleet)}
    assert checks["fleet: 0 errors over Zipf requests"].met is False
    assert checks["fleet: 0 errors over Zipf requests"].value == "1 of 2000 (N = 50)"
    assert checks["fleet: memory within budget"].met is True
    hit_rate = checks["fleet: hit rate vs the offline LRU"]
    assert hit_rate.met is False and hit_rate.value == "50.0% vs LRU 56.0%, its policy 66.0% (N = 50)"
    assert checks["fleet: p99 <= one load + forward + 100 ms"].met is True  # 520 <= 400 + 30 + 100
    growth = checks["fleet: p50 at N = 50 vs N = 2"]
    assert growth.met is False and growth.value == "1.75x"
    assert "fleet: /tmp within budget" not in checks  # EFS has no /tmp copy


@pytest.mark.parametrize(
    ("measured", "lru", "policy", "met"),
    [
        (0.68, 0.56, 0.68, True),  # above the LRU, as its policy predicts
        (0.62, 0.56, 0.68, False),  # above the LRU, but 6 points short of its own policy
        (0.50, 0.56, 0.50, False),  # 6 points under the LRU
        (0.53, 0.56, 0.0, True),  # recorded before the policy: the LRU alone, 3 points under
    ],
)
def test_the_hit_rate_may_beat_the_lru_but_must_match_its_own_policy(
    measured: float, lru: float, policy: float, met: bool
) -> None:
    phase = FleetPhase.from_json(_phase(50, 70.0, 520.0, measured, lru, policy=policy))
    assert fleet_targets.hit_rate_check("efs · fleet", phase, "").met is met


def test_fleet_report_sections_and_plot(tmp_path: Path) -> None:
    typed = _typed()
    section = fleet_report.fleet_section(typed.fleet)
    assert "| 50 | 2000 | 1 | 50.0% | 56.0% / 56.0% | 66.0% | 70 |" in section
    assert "| 2 | 2000 | 0 | 99.9% | 99.9% / 99.9% | - | 40 |" in section  # recorded before the policy
    assert "p50 at N = 50 is 1.75x the p50 at N = 2." in section
    costs = fleet_report.cost_section(typed.fleet)
    assert "| efs | 2048 MB | x86_64 |" in costs and "| efs | 6000 MB | arm64 |" in costs
    assert "On efs, EFS Elastic-throughput reads are" in costs
    markdown = report.markdown_report(typed, ["fleet_scaling.png"])
    assert "## Fleet: Zipf traffic over many models" in markdown and "## Cost per 1M requests" in markdown
    assert "**Cost per 1M requests** (from the fleet scenario)" in report.readme_section(
        typed, "r.md", "m.md"
    )
    assert fleet_report.readme_parts({}) == []
    assert next(c.name for c in targets.evaluate(typed)) == "fleet: 0 errors over Zipf requests"
    plots = report.write_plots(typed, tmp_path)
    assert tmp_path / "fleet_scaling.png" in plots
    assert BenchResults.from_json(typed.to_json()).fleet == typed.fleet  # results.json round trip


def test_a_recorded_fleet_section_loads_and_writes_back_byte_for_byte() -> None:
    text = RECORDED.read_text()
    results = BenchResults.from_json(json.loads(text))
    assert all(isinstance(run, FleetRun) for run in results.fleet.values())
    assert json.dumps({"fleet": results.to_json()["fleet"]}, indent=1) + "\n" == text
    # the report renders the typed records as it rendered the dicts
    assert fleet_report.fleet_section(results.fleet) + "\n" == RECORDED_SECTION.read_text()
    efs = results.fleet["efs"]
    assert efs.p50_growth() == pytest.approx(0.73, abs=0.005)
    workload = cost.workload_from_fleet(efs)
    assert workload is not None
    assert (workload.billed_ms, workload.cold_start_share, workload.init_ms) == (83.48135, 0.0005, 5533.8)
    assert workload.efs_bytes_per_request == pytest.approx(36398477.0485)
    assert workload.stored_bytes == {"ecr": 919827425, "s3": 4028557850, "efs": 4028557850}


def test_a_run_whose_deploy_failed_writes_no_models_and_no_function() -> None:
    run = FleetRun(variant="s3", catalog="fleet", errors={"deploy": "RuntimeError: no"})
    written = run.to_json()
    assert "models" not in written and "function" not in written and written["phases"] == {}
    assert FleetRun.from_json(written) == run
    assert FleetRun.from_json({**written, "models": {}, "function": {}}) == run  # older files
    assert "**s3** (? models on ?, - each on average;" in fleet_report.fleet_section({"s3": run})
    assert cost.workload_from_fleet(run) is None


def test_store_reads_count_loads_and_logged_downloads() -> None:
    manifest = Manifest(
        {"qa-000": _model("qa-000", 80 * MIB, eager=True), "qa-001": _model("qa-001", 4 * MIB)}
    )
    models = fleet.FleetModels.from_manifest(manifest)
    samples = [
        fleet.Sample(0, "qa-000", 200, 5000.0, False, 900.0, 300.0, 30.0),  # the cold start's request
        fleet.Sample(1, "qa-001", 200, 400.0, False, 200.0, 150.0, 30.0),
        fleet.Sample(2, "qa-001", 200, 40.0, True, 0.0, 0.0, 30.0),
        fleet.Sample(3, "qa-001", 503, 10.0, False, 0.0, 0.0, 0.0),
    ]
    # one cold start downloaded qa-000 (eager, 11 GETs); qa-001 was downloaded twice (2 GETs each)
    environments = PhaseEnvironments(started=1, downloads={"qa-000": 1, "qa-001": 2}, downloaded_bytes=123)
    reads = fleet._store_reads(models, samples, environments)
    assert reads.loads == 2
    assert reads.bytes_loaded == models.file_bytes["qa-000"] + models.file_bytes["qa-001"]
    assert (reads.downloads, reads.bytes_downloaded, reads.s3_gets) == (3, 123, 4)
    assert reads.per_cold_start == ColdStartReads(bytes=models.file_bytes["qa-000"], s3_gets=11)
    assert fleet._request_downloads(models, environments) == 2  # the cold start's eager download apart
    assert fleet._load_and_forward(samples) == {
        "load_ms": 775.0,
        "miss_load_ms": 775.0,
        "load_counts_downloads": False,
        "forward_ms": 30.0,
        "p99_goal_ms": 905.0,
    }


def test_on_s3_one_load_is_the_median_of_the_misses_that_downloaded() -> None:
    def miss(fetch_ms: float, load_ms: float) -> fleet.Sample:
        return fleet.Sample(0, "qa-001", 200, fetch_ms + load_ms + 40.0, False, fetch_ms, load_ms, 30.0)

    from_tmp = [miss(0.5, 80.0), miss(0.4, 90.0), miss(0.6, 70.0)]  # /tmp had the files
    downloaded = [miss(300.0, 80.0), miss(320.0, 100.0)]
    terms = fleet._load_and_forward([*from_tmp, *downloaded], downloads=2)
    assert terms["load_ms"] == 400.0 and terms["load_counts_downloads"] is True
    assert terms["miss_load_ms"] == 90.4 and terms["p99_goal_ms"] == 400.0 + 30.0 + fleet.P99_SLACK_MS


class _FailingApi(BaseHTTPRequestHandler):
    """An endpoint whose function always times out (what a loaded machine's cold starts gave)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = json.dumps({"message": "Service Unavailable"}).encode()
        self.send_response(503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def test_a_phase_stops_after_consecutive_failures() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FailingApi)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        samples, polls, _, stopped = fleet._send(url, ["qa-000"] * 100, "q", "c", 1, Deadline(None))
    finally:
        server.shutdown()
        server.server_close()
    assert len(samples) == fleet.MAX_CONSECUTIVE_ERRORS
    assert stopped.startswith(f"{fleet.MAX_CONSECUTIVE_ERRORS} failed requests in a row (last: HTTP 503")
    assert not polls  # no answer, no miss to poll after


def test_environments_started_in_a_phase_and_their_init(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from harness.bench import adapters

    monkeypatch.setattr(adapters, "log_dir", lambda function_name: tmp_path)
    (tmp_path / "old.log").write_text("before the phase\n")
    before = adapters.env_logs("fn")
    init = '{"message": "init timings", "init_ms": {"imports": 4000.0, "total": 5000.0}, "threads": 2}'
    download = '{"message": "model files downloaded", "model_type": "qa-001", "bytes": 10}'
    (tmp_path / "old.log").write_text("before the phase\n" + download + "\n")
    (tmp_path / "good.log").write_text(init + "\n" + download + "\n")
    # a timed-out init: only the runtime's report of the restart
    (tmp_path / "timed-out.log").write_text(
        "REPORT RequestId: x\tInit Duration: 0.11 ms\tDuration: 25000.00 ms\n"
    )
    environments = fleet._environments("fn", before)
    assert environments.started == 2
    assert environments.init_median_ms == 5000.0
    assert environments.downloads == {"qa-001": 2}  # the old environment's new lines count too
    assert environments.downloaded_bytes == 20
