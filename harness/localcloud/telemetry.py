"""What the data plane reports for CloudWatch: log lines and invocation outcomes, as plain values.

The runtime and the API front produce these and hand them to a ``Telemetry`` sink they were given;
they never talk to CloudWatch themselves. ``emit`` must not block (the sink queues), because it is
called on the request path. ``cloudwatch.shipper`` is the sink the gateway wires in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

INVOKED, FAILED, THROTTLED = "invoked", "failed", "throttled"


@dataclass(frozen=True)
class LogLine:
    """One line of a log stream: a Lambda environment's output or an API stage's access log."""

    group: str
    stream: str
    timestamp_ms: int
    message: str


@dataclass(frozen=True)
class Invocation:
    """One invocation's outcome (``INVOKED``, ``FAILED`` or ``THROTTLED``) for AWS/Lambda metrics."""

    function: str
    timestamp_ms: int
    outcome: str
    concurrent: int  # environments of the function busy at the time, this one included


class Telemetry(Protocol):
    def emit(self, item: LogLine | Invocation) -> None: ...


class NoTelemetry:
    """The sink for runtimes nobody listens to (unit tests, tools): drops everything."""

    def emit(self, item: LogLine | Invocation) -> None:
        return None


def lambda_log_group(function: str) -> str:
    return f"/aws/lambda/{function}"
