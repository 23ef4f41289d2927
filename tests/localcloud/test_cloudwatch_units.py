"""Units of the local CloudWatch path, no Docker: EMF parsing, Lambda's platform lines, the shipper.

The shipper test uses moto in-process (``mock_aws``), the same moto the local cloud serves.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from harness.localcloud.apigw.accesslog import AccessLogEntry, log_group_name, render
from harness.localcloud.cloudwatch.emf import parse_emf
from harness.localcloud.cloudwatch.lambda_metrics import invocation_metrics, report_metrics
from harness.localcloud.cloudwatch.metric import Metric, aggregate
from harness.localcloud.cloudwatch.shipper import CloudWatchShipper, _chunks
from harness.localcloud.deployed import parse_state
from harness.localcloud.runtime.envlog import EnvLog
from harness.localcloud.runtime.platformlog import TAIL_BYTES, PlatformLog, report_line
from harness.localcloud.telemetry import FAILED, INVOKED, THROTTLED, Invocation, LogLine

from .tfstate import StackState

RIE_ID = "11111111-2222-3333-4444-555555555555"
OURS = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def _emf(**members: object) -> str:
    directives = [
        {
            "Namespace": "Inference",
            "Dimensions": [["model_type"], ["model_type", "engine"], []],
            "Metrics": [{"Name": "ModelLoadingTime", "Unit": "Milliseconds"}, {"Name": "ModelCacheHit"}],
        }
    ]
    return json.dumps({"_aws": {"Timestamp": 1700000000000, "CloudWatchMetrics": directives}, **members})


def test_emf_every_metric_times_every_dimension_set() -> None:
    line = _emf(model_type="nlp1", engine="onnx", ModelLoadingTime=12.5, ModelCacheHit=[0, 1])
    metrics = parse_emf(line, 0)
    assert len(metrics) == 6
    assert {(m.name, m.dimensions) for m in metrics} == {
        (name, dims)
        for name in ("ModelLoadingTime", "ModelCacheHit")
        for dims in ((("model_type", "nlp1"),), (("model_type", "nlp1"), ("engine", "onnx")), ())
    }
    loading = next(m for m in metrics if m.name == "ModelLoadingTime" and not m.dimensions)
    assert (loading.values, loading.unit, loading.timestamp_ms) == ((12.5,), "Milliseconds", 1700000000000)
    hits = next(m for m in metrics if m.name == "ModelCacheHit" and not m.dimensions)
    assert hits.values == (0.0, 1.0) and hits.datum()["Values"] == [0.0, 1.0] and hits.unit == "None"


@pytest.mark.parametrize(
    ("line", "count"),
    [
        ("not json", 0),
        ('{"_aws": 3}', 0),
        (_emf(model_type="nlp1", ModelLoadingTime=1, ModelCacheHit=1), 4),  # no engine: that set skipped
        (_emf(model_type=7, engine="x", ModelLoadingTime=1), 1),  # non-string dimension: only []
        (_emf(model_type="a", engine="b", ModelLoadingTime="fast", ModelCacheHit=True), 0),  # not numbers
    ],
)
def test_emf_skips_what_cloudwatch_drops(line: str, count: int) -> None:
    assert len(parse_emf(line, 0)) == count


def test_emf_unknown_unit_is_sent_as_none() -> None:
    line = json.dumps(
        {
            "_aws": {
                "CloudWatchMetrics": [
                    {"Namespace": "N", "Dimensions": [[]], "Metrics": [{"Name": "M", "Unit": "Parsecs"}]}
                ]
            },
            "M": 1,
        }
    )
    (metric,) = parse_emf(line, 42)
    assert metric.timestamp_ms == 42 and metric.datum()["Unit"] == "None"


def test_lambda_metrics() -> None:
    names = lambda items: {(m.name, m.values) for m in items}  # noqa: E731
    assert names(invocation_metrics(Invocation("f", 1, INVOKED, 2))) == {
        ("Invocations", (1.0,)),
        ("Errors", (0.0,)),
        ("ConcurrentExecutions", (2.0,)),
    }
    assert ("Errors", (1.0,)) in names(invocation_metrics(Invocation("f", 1, FAILED, 1)))
    assert names(invocation_metrics(Invocation("f", 1, THROTTLED, 0))) == {("Throttles", (1.0,))}
    (duration,) = report_metrics("f", report_line("id", 12.345, 128, 40, None), 5)
    assert (duration.name, duration.values, duration.unit) == ("Duration", (12.35,), "Milliseconds")
    assert report_metrics("f", "END RequestId: id", 5) == []


class _Sink:
    def __init__(self) -> None:
        self.items: list[LogLine | Invocation] = []

    def emit(self, item: LogLine | Invocation) -> None:
        self.items.append(item)


def _platform(tmp_path: Path, sink: _Sink, peak: int | None = 40 * 2**20) -> PlatformLog:
    return PlatformLog(
        "fn", "2026/12/02/[$LATEST]" + "0" * 32, 128, EnvLog(tmp_path / "env.log"), sink, lambda: peak
    )


def _rie(text: str) -> bytes:
    return f"02 Dec 2026 03:22:49,374 [INFO] (rapid) {text}\n".encode()


def test_platform_lines_rewritten_as_lambda_writes_them(tmp_path: Path) -> None:
    sink = _Sink()
    log = _platform(tmp_path, sink)
    log.expect(OURS, keep_tail=True)
    # stdout and stderr interleaved as Docker delivers them, a line split across two writes
    log.write(f"START RequestId: {RIE_ID} Version: $LATEST\n".encode())
    log.write(_rie("INIT REPORT(durationMs: 99.165000)") + _rie(f"INVOKE START(requestId: {RIE_ID})"))
    log.write(f"[INFO]\t2026-12-02T03:22:49Z\t{RIE_ID}\thel".encode())
    log.write(f"lo\nEND RequestId: {RIE_ID}\n".encode())
    log.write(_rie("INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.828000ms)"))
    log.write(
        f"REPORT RequestId: {RIE_ID}\tInit Duration: 0.07 ms\tDuration: 101.65 ms\t"
        "Billed Duration: 102 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t\n".encode()
    )
    messages = [item.message for item in sink.items if isinstance(item, LogLine)]
    assert messages == [
        f"START RequestId: {OURS} Version: $LATEST",
        f"[INFO]\t2026-12-02T03:22:49Z\t{OURS}\thello",
        f"END RequestId: {OURS}",
        f"REPORT RequestId: {OURS}\tDuration: 1.83 ms\tBilled Duration: 101 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 40 MB\tInit Duration: 99.17 ms",
    ]
    assert {item.group for item in sink.items} == {"/aws/lambda/fn"}
    assert "(rapid) INIT REPORT" in (tmp_path / "env.log").read_text()  # the file keeps everything
    tail = log.tail(OURS, timeout=0).decode()
    assert tail.startswith("START RequestId: " + OURS) and tail.endswith("Init Duration: 99.17 ms\n")


def test_warm_report_without_debug_lines_and_unknown_memory(tmp_path: Path) -> None:
    sink = _Sink()
    log = _platform(tmp_path, sink, peak=None)
    for index, request_id in enumerate((OURS, "second")):
        rie_id = f"{index}" * 8 + RIE_ID[8:]
        log.expect(request_id)
        log.write(f"START RequestId: {rie_id} Version: $LATEST\nEND RequestId: {rie_id}\n".encode())
        init = "Init Duration: 0.07 ms\t" if index == 0 else ""  # the RIE's made-up figure
        log.write(f"REPORT RequestId: {rie_id}\t{init}Duration: 5.00 ms\tBilled Duration: 5 ms\t\n".encode())
    reports = [i.message for i in sink.items if isinstance(i, LogLine) and i.message.startswith("REPORT")]
    assert reports[0].endswith("Init Duration: 5.00 ms") and "Duration: 0.00 ms" in reports[0]  # all init
    assert reports[1] == (
        "REPORT RequestId: second\tDuration: 5.00 ms\tBilled Duration: 5 ms\tMemory Size: 128 MB"
        "\tMax Memory Used: 128 MB"
    )


def test_tail_is_the_last_4_kb_and_waits_for_the_report(tmp_path: Path) -> None:
    log = _platform(tmp_path, _Sink())
    log.expect(OURS, keep_tail=True)
    log.write(f"START RequestId: {RIE_ID} Version: $LATEST\n".encode())
    log.write(b"".join(f"line {i:04d} {'x' * 50}\n".encode() for i in range(300)))
    got: list[bytes] = []
    waiter = threading.Thread(target=lambda: got.append(log.tail(OURS, timeout=5)))
    waiter.start()
    time.sleep(0.2)
    assert not got, "the tail waits for REPORT"
    log.write(f"END RequestId: {RIE_ID}\nREPORT RequestId: {RIE_ID}\tDuration: 1.00 ms\t\n".encode())
    waiter.join(5)
    (tail,) = got
    assert len(tail) == TAIL_BYTES and b"line 0299" in tail and tail.endswith(b"Init Duration: 1.00 ms\n")
    assert log.tail("never-announced", timeout=0) == b""


def test_chunks_respect_cloudwatch_logs_limits() -> None:
    events = [{"timestamp": i, "message": "x" * 1000} for i in range(2500)]
    chunks = _chunks(events)
    assert [len(c) for c in chunks] == [1022, 1022, 456]  # 1 MB per call, 26 bytes counted per event
    assert len(_chunks([{"timestamp": i, "message": ""} for i in range(10_001)])) == 2


@mock_aws
def test_shipper_puts_logs_and_metrics() -> None:
    logs, cloudwatch = boto3.client("logs", "us-east-1"), boto3.client("cloudwatch", "us-east-1")
    shipper = CloudWatchShipper(logs, cloudwatch, flush_seconds=0.05).start()
    stream = "2026/12/02/[$LATEST]" + "f" * 32
    now = int(time.time() * 1000)
    for offset, message in (
        (2, "second"),
        (1, "first"),
        (3, _emf(model_type="nlp1", engine="torch", ModelCacheHit=1)),
    ):
        shipper.emit(LogLine("/aws/lambda/fn", stream, now + offset, message))
    shipper.emit(Invocation("fn", now, INVOKED, 1))
    shipper.close()
    events = logs.get_log_events(logGroupName="/aws/lambda/fn", logStreamName=stream)["events"]
    assert [e["message"] for e in events][:2] == ["first", "second"]  # in time order, as CloudWatch wants
    listed = {(m["Namespace"], m["MetricName"]) for m in cloudwatch.list_metrics()["Metrics"]}
    assert {("Inference", "ModelCacheHit"), ("AWS/Lambda", "Invocations"), ("AWS/Lambda", "Errors")} <= listed
    logs.delete_log_group(logGroupName="/aws/lambda/fn")  # a destroy: the next line recreates it
    again = CloudWatchShipper(logs, cloudwatch, flush_seconds=0.05)
    again._streams.add(("/aws/lambda/fn", stream))
    again.ship([LogLine("/aws/lambda/fn", stream, now, "after destroy")])
    events = logs.get_log_events(logGroupName="/aws/lambda/fn", logStreamName=stream)["events"]
    assert [e["message"] for e in events] == ["after destroy"]


def test_full_queue_drops_instead_of_blocking() -> None:
    shipper = CloudWatchShipper(None, None)  # never started: nothing drains the queue
    started = time.monotonic()
    for _ in range(50_010):
        shipper.emit(Invocation("fn", 0, INVOKED, 1))
    assert shipper.dropped == 10 and time.monotonic() - started < 5


def test_access_log_render_and_destination() -> None:
    entry = AccessLogEntry("rid=", 1764645769.5, "10.0.0.1", "POST", "/develop/run", "HTTP/1.1", "curl/8")
    entry.route_key, entry.status, entry.integration_error = "POST /run", 502, 'said "no"\\n'
    line = render(
        '{"id":"$context.requestId","route":"$context.routeKey","s":"$context.status",'
        '"err":"$context.integrationErrorMessage","lat":"$context.integrationLatency",'
        '"t":"$context.requestTime","x":"$context.nothing"}',
        entry,
    )
    assert json.loads(line) == {
        "id": "rid=",
        "route": "POST /run",
        "s": "502",
        "err": 'said "no"\\n',
        "lat": "-",
        "t": "02/Dec/2025:03:22:49 +0000",
        "x": "-",
    }
    assert (
        log_group_name("arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/x:*")
        == "/aws/apigateway/x"
    )
    assert log_group_name("arn:aws:firehose:us-east-1:123456789012:deliverystream/x") is None
    state = (
        StackState()
        .http_api("a1")
        .stage("a1", "develop", ("arn:aws:logs:r:1:log-group:/g", "$context.status"))
    )
    (stage,) = parse_state(json.loads(json.dumps({"resources": state.resources}))).stages
    assert (stage.access_log_destination, stage.access_log_format) == (
        "arn:aws:logs:r:1:log-group:/g",
        "$context.status",
    )


def test_metrics_aggregate_into_values_and_counts() -> None:
    now = 1_700_000_000_000  # 20 s into a minute: all of the first 200 fall in one period
    items = [m for i in range(200) for m in invocation_metrics(Invocation("f", now + i, INVOKED, 1 + i % 2))]
    merged = {m.name: m for m in aggregate(items)}
    assert merged["Invocations"].datum()["Values"] == [1.0] and merged["Invocations"].datum()["Counts"] == [
        200.0
    ]
    assert dict(
        zip(merged["ConcurrentExecutions"].values, merged["ConcurrentExecutions"].counts, strict=True)
    ) == {
        1.0: 100.0,
        2.0: 100.0,
    }
    spread = [Metric("N", "M", (float(i),), now) for i in range(200)] + [
        Metric("N", "M", (1.0,), now + 60_000)
    ]
    assert [len(m.values) for m in aggregate(spread)] == [150, 50, 1]  # 150 per datum; next minute apart
