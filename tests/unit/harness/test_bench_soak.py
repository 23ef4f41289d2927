"""The soak's arithmetic (windows, flatness, slopes, percentiles, targets), its record, its report,
and its load and sampler against real parts: an HTTP server on 127.0.0.1, a process of our own."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.bench.client import ApiClient
from harness.bench.soak import probes, summary
from harness.bench.soak import records as soak_records
from harness.bench.soak import report as soak_report
from harness.bench.soak.load import Load, Outcome
from harness.bench.soak.records import Flatness, Sample, SoakRecord, Windows
from harness.bench.soak.sampler import Host, Sampler, env_id_of
from harness.localcloud import processes
from harness.localcloud.config import Settings

MB = 1_000_000


# --- windows and flatness ------------------------------------------------------------------------


def test_windows_of_a_ten_minute_soak_are_its_second_and_last_minute() -> None:
    span = summary.windows(600)
    assert (span.warmup_s, span.first, span.last) == (60, (60, 120), (540, 600))


def test_windows_of_a_short_soak_shrink_to_fit() -> None:
    # 90 s: warm-up 90 / 5 = 18 s, each window (90 - 18) / 2 = 36 s
    span = summary.windows(90)
    assert (span.warmup_s, span.first, span.last) == (18, (18, 54), (54, 90))
    with pytest.raises(ValueError):
        summary.windows(0)


SPAN = Windows(warmup_s=10, first=(10, 40), last=(70, 100))


def test_flatness_compares_the_medians_of_the_two_windows() -> None:
    points = [
        (0, 500.0),  # warm-up: left out
        (10, 100.0),
        (20, 104.0),
        (30, 300.0),  # first window: median of 100, 104, 300 = 104
        (40, 999.0),  # the first window's end is excluded, and it is not in the last either
        (70, 110.0),
        (80, 112.0),
        (90, 111.0),
        (100, 50.0),  # last window, end included: median of 110, 112, 111, 50 = (110 + 111) / 2
    ]
    flat = summary.flatness(points, SPAN)
    assert (flat.first, flat.last, flat.first_samples, flat.last_samples) == (104, 110.5, 3, 4)
    assert flat.change == pytest.approx(110.5 / 104 - 1)  # +6.25%
    assert flat.flat is True


def test_flatness_fails_past_ten_percent_and_passes_any_decrease() -> None:
    grown = summary.flatness([(10, 100.0), (80, 110.5)], SPAN)
    assert grown.change == pytest.approx(0.105) and grown.flat is False
    at_limit = summary.flatness([(10, 100.0), (80, 110.0)], SPAN)
    assert at_limit.flat is True
    shrunk = summary.flatness([(10, 100.0), (80, 40.0)], SPAN)
    assert shrunk.change == pytest.approx(-0.6) and shrunk.flat is True


def test_flatness_without_a_sample_in_a_window_is_not_measured() -> None:
    flat = summary.flatness([(10, 100.0), (20, 100.0)], SPAN)
    assert flat == Flatness(first_samples=2, last_samples=0)
    assert flat.flat is None


# --- growth --------------------------------------------------------------------------------------


def test_slope_is_the_least_squares_fit_per_minute() -> None:
    # 1,000 bytes every 10 s: 6,000 per minute; a noisy middle point does not move a symmetric fit
    assert summary.slope_per_minute([(0, 0), (10, 1000), (20, 2000)]) == pytest.approx(6000)
    assert summary.slope_per_minute([(0, 0), (10, 4000), (20, 2000)]) == pytest.approx(6000)
    assert summary.slope_per_minute([(0, 5.0)]) is None
    assert summary.slope_per_minute([(3, 5.0), (3, 9.0)]) is None


def test_growth_fits_only_after_the_warm_up() -> None:
    points = [(0, 0.0), (10, 90_000.0), (20, 100_000.0), (30, 100_000.0), (40, 100_000.0)]
    growth = summary.growth(points, warmup_s=20)
    assert (growth.first_bytes, growth.last_bytes, growth.max_bytes) == (0, 100_000, 100_000)
    assert growth.per_minute_bytes == pytest.approx(0.0)  # capped: flat once warm


def test_moto_bytes_per_request_is_the_slope_against_requests() -> None:
    samples = [Sample(t_s=t, requests=r, moto_rss_bytes=m) for t, r, m in ((0, 0, 1000), (10, 100, 6000))]
    assert summary.bytes_per_request(samples) == pytest.approx(50.0)


# --- the whole record ----------------------------------------------------------------------------


def _samples(env_growth: float = 1.0) -> list[Sample]:
    """A 100 s soak sampled every 10 s: two environments, b ending before the last window."""
    out = []
    for t in range(0, 101, 10):
        envs = {"a" * 32: int(300 * MB * (env_growth if t >= 80 else 1.0))}
        if t <= 50:
            envs["b" * 32] = 200 * MB
        out.append(
            Sample(
                t_s=float(t),
                requests=10 * t,
                gateway_rss_bytes=80 * MB,
                moto_rss_bytes=400 * MB + 5000 * 10 * t,
                environments=envs,
                env_logs={"a" * 32: 1000 * t},
                logs_bytes=1000 * t,
                service_logs={"gateway": 100 * t},
                service_logs_bytes=100 * t,
                state_bytes=500 * MB + 1100 * t,
            )
        )
    return out


def _outcomes() -> list[Outcome]:
    # 20 answers after the warm-up (t >= 20) with latencies 1..20 ms, one 502 among them, and a
    # slow cold answer during the warm-up that the percentiles leave out
    out = [Outcome(t_s=1.0, model_type="nlp1", status=200, latency_ms=9000.0)]
    for i in range(1, 21):
        status = 502 if i == 7 else 200
        out.append(
            Outcome(
                t_s=20.0 + i,
                model_type="nlp1" if i % 2 else "nlp2",
                status=status,
                latency_ms=float(i),
                error="HTTP 502 : Internal Server Error" if status != 200 else "",
            )
        )
    return out


def _filled(env_growth: float = 1.0) -> SoakRecord:
    record = SoakRecord(variant="efs", catalog="offline", concurrency=8, seconds=100.0)
    record.log_cap_bytes = 2 * 65536
    return summary.fill(record, _samples(env_growth), _outcomes())


def test_fill_counts_percentiles_and_targets() -> None:
    record = _filled()
    assert record.windows.first == (20, 60) and record.windows.last == (60, 100)
    assert (record.requests, record.errors) == (21, 1)
    assert record.error_kinds == {"HTTP 502 : Internal Server Error": 1}
    assert record.requests_per_model == {"nlp1": 11, "nlp2": 10}
    # 19 ok answers after the warm-up, 1..20 ms without 7; nearest rank: p50 = 10th = 11,
    # p95 = ceil(18.05) = 19th = 20, p99 = 19th = 20
    assert (record.latency_ms.n, record.latency_ms.p50, record.latency_ms.p95, record.latency_ms.p99) == (
        19,
        11.0,
        20.0,
        20.0,
    )
    assert record.throughput_rps == pytest.approx(19 / 80)
    assert record.gateway_memory.change == 0 and record.gateway_memory.flat
    # b left before the last window: seen, not judged
    assert record.environments_seen == 2
    assert record.environment_memory["b" * 32].flat is None
    assert record.worst_environment == "a" * 32
    assert record.logs.per_minute_bytes == pytest.approx(60_000)
    assert record.state.per_minute_bytes == pytest.approx(66_000)
    assert record.moto_bytes_per_request == pytest.approx(5000.0)
    assert (record.largest_env_log_bytes, record.largest_service_log_bytes) == (100_000, 10_000)
    verdicts = {check.name.split(" ")[0]: check.met for check in record.targets}
    assert verdicts == {
        "errors": False,
        "gateway": True,
        "environments'": True,
        "log": True,  # 100,000 and 10,000 bytes <= 131,072
        "state": True,  # 66,000 - 60,000 - 6,000 bytes/min: nothing else grows
    }
    state = next(c for c in record.targets if c.name.startswith("state"))
    assert state.value.startswith("0.0 MB/min")
    assert not record.passed


def test_a_log_past_its_cap_or_other_growth_fails() -> None:
    samples = _samples()
    samples[-1].service_logs = {"gateway": 200_000}  # past 2 x 65,536
    for sample in samples:
        sample.state_bytes = (sample.state_bytes or 0) + 30_000 * int(sample.t_s)  # 1.8 MB/min more
    record = SoakRecord(variant="efs", catalog="offline", concurrency=8, seconds=100.0, log_cap_bytes=131_072)
    record = summary.fill(record, samples, _outcomes())
    verdicts = {check.name.split(" ")[0]: check.met for check in record.targets}
    assert (verdicts["log"], verdicts["state"]) == (False, False)


def test_an_environment_that_grows_fails_its_target() -> None:
    # a's median: 300 MB in [20, 60), and (300, 300, 345, 345, 345) MB in [60, 100]: +15%
    record = _filled(env_growth=1.15)
    check = next(c for c in record.targets if c.name.startswith("environments'"))
    assert check.met is False
    assert "+15.0%" in check.value


def test_the_record_round_trips_through_soak_json(tmp_path: Path) -> None:
    record = _filled()
    path = soak_records.write(record, tmp_path)
    assert path.name == "soak.json"
    again = soak_records.load(tmp_path)
    assert again == record
    assert soak_records.load(tmp_path / "none") is None


def test_the_report_renders_the_section_the_readme_part_and_the_plot(tmp_path: Path) -> None:
    record = _filled()
    section = "\n\n".join(soak_report.markdown_sections(record))
    assert section.startswith("## Soak")
    assert "| errors | efs · offline | 0 | 1 of 21 | NOT met |" in section
    assert "11.0 / 20.0 / 20.0" in section
    assert soak_report.markdown_sections(None) == [] and soak_report.readme_parts(None) == []
    assert "**Soak**" in soak_report.readme_parts(record)[0]
    plot = soak_report.write_plot(record, tmp_path)
    assert plot is not None and plot.stat().st_size > 10_000


def test_results_md_carries_the_soak_json_beside_it(tmp_path: Path) -> None:
    from harness.bench import report
    from harness.bench.results import BenchResults

    soak_records.write(_filled(), tmp_path)
    written = report.write_results(BenchResults(started_at="2026-12-02T00:00:00Z"), tmp_path)
    assert "## Soak" in written.markdown.read_text()


# --- probes, load and sampler against real parts -------------------------------------------------


def test_tree_size_counts_files_and_does_not_follow_symlinks(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x" * 1000)
    (tmp_path / "g").write_bytes(b"y" * 24)
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"z" * 5000)
    (tmp_path / "cache").symlink_to(outside)
    assert probes.tree_size(tmp_path) == 1024
    assert probes.tree_size(tmp_path / "missing") is None


def test_memory_from_the_engine_stats_takes_the_inactive_cache_out() -> None:
    v1 = {"memory_stats": {"usage": 500, "stats": {"total_inactive_file": 120}}}
    v2 = {"memory_stats": {"usage": 500, "stats": {"inactive_file": 20}}}
    assert (probes.stats_memory(v1), probes.stats_memory(v2), probes.stats_memory({})) == (380, 480, None)


def test_env_id_of_a_live_and_a_rotated_stream() -> None:
    assert env_id_of(Path("abc.log")) == env_id_of(Path("abc.log.1")) == "abc"


class _Api(BaseHTTPRequestHandler):
    """nlp1 answers 200, nlp2 answers 502, as the local API Gateway would."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        status = 200 if body["model_type"] == "nlp1" else 502
        payload = json.dumps({"answer": "1886"} if status == 200 else {"message": "Internal Server Error"})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload.encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def soak_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def test_load_keeps_every_client_busy_over_both_models(soak_api: str) -> None:
    import time

    load = Load(lambda: ApiClient(soak_api), ["nlp1", "nlp2"], "q?", "c.", concurrency=3)
    outcomes = load.run(time.monotonic(), 0.5)
    answered, errors = load.progress()
    assert answered == len(outcomes) > 10
    by_model = {mt: [o for o in outcomes if o.model_type == mt] for mt in ("nlp1", "nlp2")}
    assert all(o.ok for o in by_model["nlp1"]) and not any(o.ok for o in by_model["nlp2"])
    assert errors == len(by_model["nlp2"])
    assert abs(len(by_model["nlp1"]) - len(by_model["nlp2"])) <= 3  # each client alternates
    with pytest.raises(ValueError):
        Load(lambda: ApiClient(soak_api), [], "q", "c", 1)


class _NoContainers:
    class containers:  # noqa: N801 - the docker client's attribute
        @staticmethod
        def list(**_: object) -> list[object]:
            return []


def test_the_sampler_reads_a_recorded_process_and_the_state_folder(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    (settings.logs_dir / "fn").mkdir(parents=True)
    (settings.logs_dir / "fn" / "e1.log").write_bytes(b"x" * 300)
    (settings.logs_dir / "fn" / "e1.log.1").write_bytes(b"x" * 700)
    record = processes.start(
        "gateway", [sys.executable, "-c", "import time; time.sleep(30)"], {}, settings.services_dir
    )
    try:
        sampler = Sampler(Host(settings, "fn", _NoContainers()), lambda: (5, 1), interval_s=0.05)
        import time

        sampler.start(time.monotonic())
        time.sleep(0.2)
        samples = sampler.stop()
    finally:
        processes.stop(record)
    assert len(samples) >= 3
    last = samples[-1]
    assert (last.requests, last.errors) == (5, 1)
    assert last.gateway_rss_bytes and 1 * MB < last.gateway_rss_bytes < 200 * MB  # a Python asleep
    assert last.moto_rss_bytes is None  # no moto recorded
    assert last.env_logs == {"e1": 1000}
    assert "gateway" in last.service_logs and last.service_logs_bytes == sum(last.service_logs.values())
    assert last.logs_bytes == 1000
    assert last.state_bytes is not None and last.state_bytes >= 1000
    assert [s.t_s for s in samples] == sorted(s.t_s for s in samples)


def test_the_command_line_defaults_and_the_seconds_override() -> None:
    from harness.bench.soak import options
    from harness.cli import build_parser

    defaults = build_parser().parse_args(["soak"])
    assert (defaults.variant, defaults.catalog, defaults.concurrency) == ("efs", "offline", 8)
    assert options.seconds(defaults) == 600
    short = build_parser().parse_args(["soak", "--variant", "s3", "--minutes", "1.5", "--seconds", "45"])
    assert (short.variant, options.seconds(short)) == ("s3", 45)
