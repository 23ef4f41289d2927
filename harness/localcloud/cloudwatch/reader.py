"""A function's log group as CloudWatch Logs holds it, for ``make logs`` (``deploy.print_logs``).

It reads what ``aws logs filter-log-events`` reads, through the same endpoint, so the harness and
the AWS CLI show the same lines. The local cloud's own notes (cold or warm, why an environment
ended) are not Lambda's and stay in ``.state/logs`` (``python -m harness.localcloud logs``).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from harness.localcloud.telemetry import lambda_log_group


def lambda_logs(logs_client: Any, function: str) -> str:
    """Every stream of ``/aws/lambda/<function>``, oldest first, each under a header."""
    group = lambda_log_group(function)
    try:
        pages = logs_client.get_paginator("filter_log_events").paginate(logGroupName=group)
        events = [event for page in pages for event in page["events"]]
    except logs_client.exceptions.ResourceNotFoundException:
        return f"no log group {group} yet"
    if not events:
        return f"no logs in {group} yet"
    streams: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e["timestamp"]):
        streams[event["logStreamName"]].append(event)
    parts = []
    for stream, stream_events in streams.items():
        parts.append(f"==> {group} / {stream} <==")
        parts.extend(event["message"].rstrip("\n") for event in stream_events)
    return "\n".join(parts)
