"""The AWS/Lambda metrics of a function, from the runtime's invocation outcomes and REPORT lines.

``Invocations`` and ``Errors`` (0 or 1 per invocation, so Sum and Average answer as in AWS),
``Throttles`` (a throttled request is not an invocation), ``ConcurrentExecutions`` (the busy
environments at the time; read its Maximum) and ``Duration`` (the REPORT line's, init excluded),
each with the dimension ``FunctionName``.
"""

from __future__ import annotations

import re

from harness.localcloud.cloudwatch.metric import Metric
from harness.localcloud.telemetry import FAILED, THROTTLED, Invocation

NAMESPACE = "AWS/Lambda"
_REPORT_DURATION = re.compile(r"^REPORT RequestId: \S+\tDuration: (?P<ms>[0-9.]+) ms")


def invocation_metrics(invocation: Invocation) -> list[Metric]:
    def metric(name: str, value: float, unit: str = "Count") -> Metric:
        dimensions = (("FunctionName", invocation.function),)
        return Metric(NAMESPACE, name, (value,), invocation.timestamp_ms, unit, dimensions)

    if invocation.outcome == THROTTLED:
        return [metric("Throttles", 1)]
    return [
        metric("Invocations", 1),
        metric("Errors", 1 if invocation.outcome == FAILED else 0),
        metric("ConcurrentExecutions", invocation.concurrent),
    ]


def report_metrics(function: str, message: str, timestamp_ms: int) -> list[Metric]:
    """``Duration`` from a REPORT line; [] for any other line."""
    match = _REPORT_DURATION.match(message)
    if match is None:
        return []
    duration = (float(match.group("ms")),)
    dimensions = (("FunctionName", function),)
    return [Metric(NAMESPACE, "Duration", duration, timestamp_ms, "Milliseconds", dimensions)]
