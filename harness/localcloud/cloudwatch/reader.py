"""A function's log group as CloudWatch Logs holds it, for ``make logs`` (``deploy.print_logs``).

It reads what ``aws logs filter-log-events`` reads, through the same endpoint, so the harness and
the AWS CLI show the same lines. The local cloud's own notes (cold or warm, why an environment
ended) are not Lambda's and stay in ``.state/logs`` (``python -m harness.localcloud logs``).

``tail_logs`` is ``aws logs tail [--since] [--follow]``: that command exists only in AWS CLI v2,
which is not on PyPI (the v1 CLI the tests install has ``filter-log-events`` only), so ``make logs
FOLLOW=1 SINCE=10m`` does its job with the same API calls v2 makes: FilterLogEvents from a start
time, repeated from the newest timestamp seen, each event printed once.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from harness.errors import HarnessError
from harness.localcloud.telemetry import lambda_log_group

#: ``aws logs tail --since`` units.
_SINCE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_SINCE = re.compile(r"^(\d+)([smhdw])$")
DEFAULT_SINCE = "10m"  # what `aws logs tail` shows when not told
POLL_SECONDS = 1.0  # the local shipper sends every second; v2's tail polls about as often


def since_ms(since: str, now: float | None = None) -> int:
    """``10m`` -> the epoch milliseconds ten minutes ago (``aws logs tail --since`` durations)."""
    match = _SINCE.match(since.strip())
    if not match:
        raise HarnessError(f"SINCE={since!r}: give a number and a unit, e.g. 30s, 10m, 2h, 1d or 1w")
    seconds = int(match[1]) * _SINCE_UNITS[match[2]]
    return int(((time.time() if now is None else now) - seconds) * 1000)


def event_order(event: dict[str, Any]) -> tuple[int, int, str]:
    """Oldest first, and the events of one millisecond in the order they were put. Event ids are
    decimal strings (moto counts up from 0; AWS's have a fixed length): compared as text, moto's
    "100" came before "99", and a REPORT line before its END (seen in CI). So: length, then text.
    """
    event_id = str(event.get("eventId", ""))
    return event["timestamp"], len(event_id), event_id


def _events(logs_client: Any, group: str, start_ms: int | None = None) -> list[dict[str, Any]] | None:
    """Every event of ``group`` (from ``start_ms`` on), oldest first; None while there is no group."""
    query: dict[str, Any] = {"logGroupName": group}
    if start_ms is not None:
        query["startTime"] = start_ms
    try:
        pages = logs_client.get_paginator("filter_log_events").paginate(**query)
        events = [event for page in pages for event in page["events"]]
    except logs_client.exceptions.ResourceNotFoundException:
        return None
    return sorted(events, key=event_order)


def lambda_logs(logs_client: Any, function: str) -> str:
    """Every stream of ``/aws/lambda/<function>``, oldest first, each under a header."""
    group = lambda_log_group(function)
    events = _events(logs_client, group)
    if events is None:
        return f"no log group {group} yet"
    if not events:
        return f"no logs in {group} yet"
    streams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        streams[event["logStreamName"]].append(event)
    parts = []
    for stream, stream_events in streams.items():
        parts.append(f"==> {group} / {stream} <==")
        parts.extend(event["message"].rstrip("\n") for event in stream_events)
    return "\n".join(parts)


def tail_line(event: dict[str, Any]) -> str:
    """One event as ``aws logs tail`` prints it: ISO timestamp, stream, message."""
    stamp = datetime.fromtimestamp(event["timestamp"] / 1000, UTC).isoformat(timespec="microseconds")
    return f"{stamp} {event['logStreamName']} {event['message'].rstrip(chr(10))}"


@dataclass
class TailCursor:
    """Where a follow stands: the newest timestamp printed and the events printed at it.

    FilterLogEvents' ``startTime`` is inclusive, and several events share a millisecond, so the
    next poll starts at that timestamp again and skips the ids already printed there.
    """

    start_ms: int | None
    printed_at_start: set[str] = field(default_factory=set)

    def new(self, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = []
        for event in events:
            if self.start_ms is not None and event["timestamp"] < self.start_ms:
                continue
            key = event.get("eventId") or f"{event['logStreamName']}:{event['timestamp']}:{event['message']}"
            if event["timestamp"] == self.start_ms and key in self.printed_at_start:
                continue
            if self.start_ms is None or event["timestamp"] > self.start_ms:
                self.start_ms, self.printed_at_start = event["timestamp"], set()
            self.printed_at_start.add(key)
            fresh.append(event)
        return fresh


def tail_logs(
    logs_client: Any,
    function: str,
    *,
    start_ms: int | None = None,
    follow: bool = False,
    emit: Callable[[str], None] = print,
    keep_going: Callable[[], bool] = lambda: True,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    """Print the group's events from ``start_ms`` (all when None), then, with ``follow``, each new
    one as it arrives until ``keep_going()`` is false (Ctrl-C for a person). Returns the count."""
    group = lambda_log_group(function)
    cursor = TailCursor(start_ms)
    printed = 0
    while True:
        for event in cursor.new(_events(logs_client, group, cursor.start_ms) or ()):
            emit(tail_line(event))
            printed += 1
        if not follow or not keep_going():
            return printed
        time.sleep(poll_seconds)
