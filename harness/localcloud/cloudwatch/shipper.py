"""The telemetry sink of the gateway: log lines to CloudWatch Logs, metrics to CloudWatch, in moto.

``emit`` only appends the item to a bounded deque (never blocks: when it is full the item is
dropped and counted), so the request path pays a deque append (0.1 us; a ``queue.Queue`` put,
with its lock and condition, cost 5 us). One background thread takes what has gathered every
``flush_seconds`` (1 s: each batch costs two botocore calls, ~9 ms of CPU, whatever its size) and
ships it:
- log lines grouped by (group, stream), in order, with ``put_log_events`` (at most 10,000 events
  or 1 MB per call, messages cut at 256 KB, as CloudWatch Logs allows). moto keeps no sequence
  tokens (AWS stopped requiring them in 2023) but wants each call's events in time order. The
  stream is created the first time; the group only where ``may_create_group`` allows it (as
  Lambda creates a missing ``/aws/lambda/<function>`` group for a function that exists). A
  destroyed function's last lines (its environments drain after Terraform deleted the group)
  are dropped instead: re-creating the group would make the next apply of the stack fail with
  ResourceAlreadyExistsException;
- the metrics those lines carry (EMF documents; the REPORT line's Duration) and the AWS/Lambda
  metrics of each invocation, aggregated per period into Values and Counts, with
  ``put_metric_data`` (1,000 per call, per namespace).
A failed call is logged and its batch dropped: telemetry never takes the data plane down.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from harness.localcloud.cloudwatch.emf import is_emf, parse_emf
from harness.localcloud.cloudwatch.lambda_metrics import invocation_metrics, report_metrics
from harness.localcloud.cloudwatch.metric import Metric, aggregate
from harness.localcloud.telemetry import Invocation, LogLine

log = logging.getLogger(__name__)

QUEUE_ITEMS = 50_000
MAX_BATCH_EVENTS = 10_000
MAX_BATCH_BYTES = 1_048_576
EVENT_OVERHEAD_BYTES = 26  # CloudWatch Logs counts each event's message plus 26 bytes
MAX_MESSAGE_BYTES = 262_144 - EVENT_OVERHEAD_BYTES
MAX_METRICS_PER_CALL = 1_000
LAMBDA_GROUP_PREFIX = "/aws/lambda/"


class CloudWatchShipper:
    def __init__(
        self,
        logs_client: Any,
        cloudwatch_client: Any,
        flush_seconds: float = 1.0,
        may_create_group: Callable[[str], bool] = lambda _group: True,
    ) -> None:
        self._logs = logs_client
        self._may_create_group = may_create_group
        self._cloudwatch = cloudwatch_client
        self._flush_seconds = flush_seconds
        self._items: deque[LogLine | Invocation] = deque()
        self._streams: set[tuple[str, str]] = set()
        self._closed = threading.Event()
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="cloudwatch-shipper", daemon=True)

    def start(self) -> CloudWatchShipper:
        self._thread.start()
        return self

    def emit(self, item: LogLine | Invocation) -> None:
        if len(self._items) < QUEUE_ITEMS:
            self._items.append(item)  # deque appends and pops are atomic: no lock needed
            return
        self.dropped += 1
        if self.dropped % 1000 == 1:
            log.warning("telemetry queue full: %d item(s) dropped so far", self.dropped)

    def close(self, timeout: float = 5.0) -> None:
        """Ship what is queued, then stop the thread."""
        self._closed.set()
        self._thread.join(timeout)

    # ---- the background thread ----

    def _run(self) -> None:
        while True:
            closing = self._closed.wait(self._flush_seconds)
            batch = self._drain()
            if batch:
                try:
                    self.ship(batch)
                except Exception:  # never let the thread die: the next batch may well go through
                    log.exception("shipping %d telemetry item(s) failed", len(batch))
            if closing and not self._items:
                return

    def _drain(self) -> list[LogLine | Invocation]:
        items: list[LogLine | Invocation] = []
        while self._items:
            items.append(self._items.popleft())
        return items

    def ship(self, items: list[LogLine | Invocation]) -> None:
        """Send one batch: log lines per stream, then every metric they and the invocations carry."""
        streams: dict[tuple[str, str], list[LogLine]] = defaultdict(list)
        metrics: list[Metric] = []
        for item in items:
            if isinstance(item, Invocation):
                metrics.extend(invocation_metrics(item))
                continue
            streams[(item.group, item.stream)].append(item)
            if item.group.startswith(LAMBDA_GROUP_PREFIX):
                function = item.group[len(LAMBDA_GROUP_PREFIX) :]
                metrics.extend(report_metrics(function, item.message, item.timestamp_ms))
            if is_emf(item.message):
                metrics.extend(parse_emf(item.message, item.timestamp_ms))
        for (group, stream), lines in streams.items():
            self._put_log_events(group, stream, lines)
        self._put_metrics(metrics)

    def _put_log_events(self, group: str, stream: str, lines: list[LogLine]) -> None:
        events = sorted(
            ({"timestamp": line.timestamp_ms, "message": _cut(line.message)} for line in lines),
            key=lambda event: event["timestamp"],
        )
        for chunk in _chunks(events):
            try:
                self._ensure_stream(group, stream)
                try:
                    self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
                except ClientError as exc:
                    if _code(exc) != "ResourceNotFoundException":
                        raise
                    self._streams.discard((group, stream))  # the group was deleted (a destroy): again
                    self._ensure_stream(group, stream)
                    self._logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=chunk)
            except (BotoCoreError, ClientError) as exc:
                log.warning("put_log_events %s %s: %d event(s) lost: %s", group, stream, len(chunk), exc)

    def _ensure_stream(self, group: str, stream: str) -> None:
        if (group, stream) in self._streams:
            return
        calls = [(self._logs.create_log_stream, {"logGroupName": group, "logStreamName": stream})]
        if self._may_create_group(group):
            calls.insert(0, (self._logs.create_log_group, {"logGroupName": group}))
        for call, kwargs in calls:
            try:
                call(**kwargs)
            except ClientError as exc:
                if _code(exc) != "ResourceAlreadyExistsException":
                    raise  # ResourceNotFoundException: no group and none may be made; lines dropped
        self._streams.add((group, stream))

    def _put_metrics(self, metrics: list[Metric]) -> None:
        by_namespace: dict[str, list[Metric]] = defaultdict(list)
        for metric in aggregate(metrics):
            by_namespace[metric.namespace].append(metric)
        for namespace, items in by_namespace.items():
            for start in range(0, len(items), MAX_METRICS_PER_CALL):
                data = [metric.datum() for metric in items[start : start + MAX_METRICS_PER_CALL]]
                try:
                    self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=data)
                except (BotoCoreError, ClientError) as exc:
                    log.warning("put_metric_data %s: %d metric(s) lost: %s", namespace, len(data), exc)


def _cut(message: str) -> str:
    encoded = message.encode()
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return message
    return encoded[:MAX_MESSAGE_BYTES].decode(errors="ignore")


def _chunks(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split into put_log_events calls within CloudWatch Logs' count and size limits."""
    chunks: list[list[dict[str, Any]]] = [[]]
    size = 0
    for event in events:
        event_size = len(event["message"].encode()) + EVENT_OVERHEAD_BYTES
        if len(chunks[-1]) >= MAX_BATCH_EVENTS or size + event_size > MAX_BATCH_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(event)
        size += event_size
    return [chunk for chunk in chunks if chunk]


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
