"""CloudWatch as AWS users know it: Lambda's log streams and platform lines, LogType=Tail, EMF and
AWS/Lambda metrics, read back with boto3 and the AWS CLI against the local endpoint."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness.localcloud.cloudwatch.reader import event_order, lambda_logs, tail_logs
from tests.awscli import aws_cli as run_aws_cli

from .conftest import Cloud
from .tfstate import StackState, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

STREAM_NAME = re.compile(r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$")
REPORT = re.compile(
    r"^REPORT RequestId: (?P<id>[0-9a-f-]{36})\tDuration: (?P<duration>\d+\.\d{2}) ms"
    r"\tBilled Duration: (?P<billed>\d+) ms\tMemory Size: (?P<size>\d+) MB"
    r"\tMax Memory Used: (?P<used>\d+) MB(?:\tInit Duration: (?P<init>\d+\.\d{2}) ms)?$"
)
WAIT = 20  # seconds for lines and metrics to reach CloudWatch (they ship every second)


def aws_cli(cloud: Cloud, *args: str) -> str:
    return run_aws_cli(cloud.url, *args)


def _cli_invoke(cloud: Cloud, function: str, payload: str, *options: str) -> tuple[dict[str, Any], Path]:
    """``aws lambda invoke``: what it prints, and the file it wrote the function's answer to."""
    out = Path(cloud.settings.state_dir) / f"cli-{function}.json"
    printed = aws_cli(
        cloud, "lambda", "invoke", "--function-name", function, "--payload", payload, *options, str(out)
    )
    return json.loads(printed), out


def _deploy(cloud: Cloud, function: str, **kwargs: Any) -> None:
    cloud.deploy(f"cw-{function}", StackState().function(function, cloud.image_uri, memory=128, **kwargs))


def _invoke(cloud: Cloud, function: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    answer = cloud.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event), **kwargs)
    answer["Body"] = answer["Payload"].read()
    return answer


def _messages(cloud: Cloud, function: str) -> list[str]:
    logs = cloud.client("logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in sorted(events, key=event_order)]


def _reports(cloud: Cloud, function: str, count: int) -> list[re.Match[str]]:
    found: list[re.Match[str]] = []

    def enough() -> bool:
        found[:] = [m for line in _messages(cloud, function) if (m := REPORT.match(line))]
        return len(found) >= count

    cloud.wait_for(enough, WAIT, f"{count} REPORT line(s) of {function} in CloudWatch Logs")
    return found


def _statistic(cloud: Cloud, namespace: str, name: str, dimensions: list[dict[str, str]], stat: str) -> float:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    points = cloud.client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=name,
        Dimensions=dimensions,
        StartTime=now - timedelta(minutes=10),
        EndTime=now + timedelta(minutes=1),
        Period=3600,
        Statistics=[stat],
    )["Datapoints"]
    return (
        sum(point[stat] for point in points) if stat == "Sum" else max((p[stat] for p in points), default=0)
    )


def test_lambda_log_stream_and_platform_lines(deployed: Cloud) -> None:
    _deploy(deployed, "cw-logs")
    first = _invoke(deployed, "cw-logs", {"marker": "cw-first"})
    second = _invoke(deployed, "cw-logs", {"marker": "cw-second"})
    ids = [answer["ResponseMetadata"]["RequestId"] for answer in (first, second)]
    reports = _reports(deployed, "cw-logs", 2)
    streams = deployed.client("logs").describe_log_streams(logGroupName="/aws/lambda/cw-logs")["logStreams"]
    assert len(streams) == 1 and STREAM_NAME.match(streams[0]["logStreamName"]), streams
    assert json.loads(first["Body"])["stream"] == streams[0]["logStreamName"]  # what the function was told
    messages = _messages(deployed, "cw-logs")
    for request_id in ids:  # the Invoke API's request id, in Lambda's order of platform lines
        start = messages.index(f"START RequestId: {request_id} Version: $LATEST")
        end = messages.index(f"END RequestId: {request_id}")
        assert (
            start
            < end
            < next(i for i, m in enumerate(messages) if m.startswith(f"REPORT RequestId: {request_id}"))
        )
    assert "handler: action=echo marker=cw-first" in messages
    assert not any("(rapid)" in m for m in messages), "the RIE's debug lines are not Lambda's"
    cold, warm = reports
    assert [cold["id"], warm["id"]] == ids
    assert cold["init"] is not None and warm["init"] is None, "Init Duration on the cold start only"
    for report in reports:
        assert report["size"] == "128" and 1 <= int(report["used"]) <= 128
        assert int(report["billed"]) >= float(report["duration"])
    # the same lines through the AWS CLI
    found = json.loads(
        aws_cli(
            deployed,
            "logs",
            "filter-log-events",
            "--log-group-name",
            "/aws/lambda/cw-logs",
            "--filter-pattern",
            "REPORT",
        )
    )["events"]
    assert len(found) == 2 and all(REPORT.match(event["message"]) for event in found)
    printed = lambda_logs(deployed.client("logs"), "cw-logs")  # what `make logs` prints
    assert f"==> /aws/lambda/cw-logs / {streams[0]['logStreamName']} <==" in printed
    assert printed.count("REPORT RequestId: ") == 2


def test_follow_prints_new_lines_as_they_arrive_and_since_leaves_older_ones_out(deployed: Cloud) -> None:
    """``make logs FOLLOW=1 SINCE=...``: what ``aws logs tail --since --follow`` (v2) prints."""
    _deploy(deployed, "cw-follow")
    _invoke(deployed, "cw-follow", {"marker": "before-since"})
    _reports(deployed, "cw-follow", 1)
    since = int(time.time() * 1000) + 1
    time.sleep(0.05)
    lines: list[str] = []
    stop = threading.Event()
    follower = threading.Thread(
        target=tail_logs,
        args=(deployed.client("logs"), "cw-follow"),
        kwargs={
            "start_ms": since,
            "follow": True,
            "emit": lines.append,
            "keep_going": lambda: not stop.is_set(),
        },
        daemon=True,
    )
    follower.start()
    try:
        request_id = _invoke(deployed, "cw-follow", {"marker": "while-following"})["ResponseMetadata"][
            "RequestId"
        ]
        deployed.wait_for(
            lambda: any(f"REPORT RequestId: {request_id}" in line for line in lines),
            WAIT,
            "the followed REPORT line",
        )
    finally:
        stop.set()
        follower.join(10)
    assert not follower.is_alive()
    assert any(line.endswith("handler: action=echo marker=while-following") for line in lines)
    assert not any("before-since" in line for line in lines)
    assert len(lines) == len(set(lines)), "each event printed once"
    assert all(
        re.match(r"^\d{4}-\d{2}-\d{2}T[\d:.]+\+00:00 \d{4}/\d{2}/\d{2}/\[\$LATEST\]", line) for line in lines
    )


def test_log_type_tail(deployed: Cloud) -> None:
    _deploy(deployed, "cw-tail")
    answer = _invoke(deployed, "cw-tail", {"marker": "tail-me"}, LogType="Tail")
    tail = base64.b64decode(answer["LogResult"]).decode()
    request_id = answer["ResponseMetadata"]["RequestId"]
    assert tail.startswith(f"START RequestId: {request_id}") and "marker=tail-me" in tail
    assert REPORT.match(tail.splitlines()[-1]) and f"REPORT RequestId: {request_id}" in tail
    assert "LogResult" not in _invoke(deployed, "cw-tail", {})  # only when asked
    noisy = _invoke(deployed, "cw-tail", {"action": "noise", "lines": 200}, LogType="Tail")
    tail_bytes = base64.b64decode(noisy["LogResult"])
    assert len(tail_bytes) == 4096 and b"noise line 00199" in tail_bytes
    assert tail_bytes.decode(errors="replace").splitlines()[-1].startswith("REPORT RequestId: ")
    answered, _ = _cli_invoke(deployed, "cw-tail", '{"marker": "cli-tail"}', "--log-type", "Tail")
    assert "marker=cli-tail" in base64.b64decode(answered["LogResult"]).decode()
    assert "REPORT RequestId: " in base64.b64decode(answered["LogResult"]).decode()


def test_function_error_and_bad_log_type(deployed: Cloud) -> None:
    _deploy(deployed, "cw-error")
    failed = _invoke(deployed, "cw-error", {"action": "raise"}, LogType="Tail")
    assert failed["FunctionError"] == "Unhandled"
    assert failed["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"
    assert "requested failure" in base64.b64decode(failed["LogResult"]).decode()
    cli, out = _cli_invoke(deployed, "cw-error", '{"action": "raise"}')
    assert cli["FunctionError"] == "Unhandled" and json.loads(out.read_text())["errorType"] == "RuntimeError"
    lam = deployed.client("lambda")
    with pytest.raises(lam.exceptions.InvalidParameterValueException):
        lam.invoke(FunctionName="cw-error", LogType="Everything")


def test_emf_lines_become_metrics(deployed: Cloud) -> None:
    _deploy(deployed, "cw-emf")
    directives = [
        {
            "Namespace": "LocalCloudTest",
            "Dimensions": [["model_type"], ["model_type", "engine"]],
            "Metrics": [
                {"Name": "ModelLoadingTime", "Unit": "Milliseconds"},
                {"Name": "ModelCacheHit", "Unit": "Count"},
            ],
        },
        {"Namespace": "LocalCloudTest/Other", "Dimensions": [[]], "Metrics": [{"Name": "Windows"}]},
    ]
    members = {
        "model_type": "nlp1",
        "engine": "onnx",
        "ModelLoadingTime": 12.5,
        "ModelCacheHit": [0, 1, 1],
        "Windows": 3,
    }
    for _ in range(2):
        _invoke(deployed, "cw-emf", {"action": "emf", "directives": directives, "members": members})
    by_model = [{"Name": "model_type", "Value": "nlp1"}]
    by_model_engine = [*by_model, {"Name": "engine", "Value": "onnx"}]
    deployed.wait_for(
        lambda: _statistic(deployed, "LocalCloudTest", "ModelCacheHit", by_model_engine, "Sum") == 4,
        WAIT,
        "the EMF metrics in CloudWatch",
    )
    listed = json.loads(aws_cli(deployed, "cloudwatch", "list-metrics", "--namespace", "LocalCloudTest"))[
        "Metrics"
    ]
    dimension_sets = {
        (metric["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in metric["Dimensions"])))
        for metric in listed
    }
    for name in ("ModelLoadingTime", "ModelCacheHit"):
        assert (name, (("model_type", "nlp1"),)) in dimension_sets
        assert (name, (("engine", "onnx"), ("model_type", "nlp1"))) in dimension_sets
    assert _statistic(deployed, "LocalCloudTest", "ModelLoadingTime", by_model, "Average") == 12.5
    assert _statistic(deployed, "LocalCloudTest/Other", "Windows", [], "Sum") == 6


def test_aws_lambda_metrics(deployed: Cloud) -> None:
    _deploy(deployed, "cw-metrics")
    _deploy(deployed, "cw-throttled", reserved=0)
    for event in ({}, {}, {"action": "raise"}):
        _invoke(deployed, "cw-metrics", event)
    lam = deployed.client("lambda")
    with pytest.raises(lam.exceptions.TooManyRequestsException):
        lam.invoke(FunctionName="cw-throttled")
    of = [{"Name": "FunctionName", "Value": "cw-metrics"}]
    deployed.wait_for(
        lambda: _statistic(deployed, "AWS/Lambda", "Invocations", of, "Sum") == 3, WAIT, "Invocations = 3"
    )
    assert _statistic(deployed, "AWS/Lambda", "Errors", of, "Sum") == 1
    assert _statistic(deployed, "AWS/Lambda", "ConcurrentExecutions", of, "Maximum") >= 1
    deployed.wait_for(
        lambda: _statistic(deployed, "AWS/Lambda", "Duration", of, "SampleCount") == 3, WAIT, "3 Durations"
    )
    throttled = [{"Name": "FunctionName", "Value": "cw-throttled"}]
    deployed.wait_for(
        lambda: _statistic(deployed, "AWS/Lambda", "Throttles", throttled, "Sum") == 1, WAIT, "Throttles = 1"
    )
    cli = json.loads(
        aws_cli(
            deployed,
            "cloudwatch",
            "get-metric-statistics",
            "--namespace",
            "AWS/Lambda",
            "--metric-name",
            "Invocations",
            "--dimensions",
            "Name=FunctionName,Value=cw-metrics",
            "--start-time",
            "2000-01-01T00:00:00Z",
            "--end-time",
            "2100-01-01T00:00:00Z",
            "--period",
            "86400",
            "--statistics",
            "Sum",
        )
    )
    assert sum(point["Sum"] for point in cli["Datapoints"]) == 3


# The stack's format (modules/inference_api, access_log_settings), as Terraform's jsonencode writes it.
ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "requestTime": "$context.requestTime",
        "sourceIp": "$context.identity.sourceIp",
        "httpMethod": "$context.httpMethod",
        "routeKey": "$context.routeKey",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "integrationLatency": "$context.integrationLatency",
        "integrationError": "$context.integrationErrorMessage",
    },
    separators=(",", ":"),
)


def test_api_access_logs_in_the_stages_format(deployed: Cloud) -> None:
    group_arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/apigateway/cw-api"
    stack = StackState().function("cw-api-fn", deployed.image_uri, memory=128)
    deployed.deploy(
        "cw-api",
        simple_api(
            stack,
            "cwapi",
            "cw-api-fn",
            stage="develop",
            routes=("POST /run",),
            access_log=(group_arn, ACCESS_LOG_FORMAT),
        ),
    )
    ok = deployed.api("POST", "cwapi", "/develop/run", json={"action": "echo"})
    failed = deployed.api("POST", "cwapi", "/develop/run", json={"action": "raise"})
    missing = deployed.api("GET", "cwapi", "/develop/nowhere")
    assert (ok.status_code, failed.status_code, missing.status_code) == (200, 502, 404)
    lines: list[dict[str, str]] = []

    def three() -> bool:
        logs = deployed.client("logs")
        try:
            events = logs.filter_log_events(logGroupName="/aws/apigateway/cw-api")["events"]
        except logs.exceptions.ResourceNotFoundException:
            return False
        lines[:] = [json.loads(e["message"]) for e in sorted(events, key=lambda e: e["timestamp"])]
        return len(lines) == 3

    deployed.wait_for(three, WAIT, "three access log lines")
    by_id = {line["requestId"]: line for line in lines}
    first = by_id[ok.headers["apigw-requestid"]]
    assert (first["httpMethod"], first["routeKey"], first["status"]) == ("POST", "POST /run", "200")
    assert first["responseLength"] == str(len(ok.content)) and first["integrationError"] == "-"
    assert re.match(r"^\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$", first["requestTime"])
    assert first["sourceIp"] == "127.0.0.1" and int(first["integrationLatency"]) >= 0
    statuses = sorted(line["status"] for line in lines)
    assert statuses == ["200", "404", "502"]
    assert next(line for line in lines if line["status"] == "404")["routeKey"] == "-"
    assert next(line for line in lines if line["status"] == "502")["integrationError"] != "-"
