"""HTTP API access logs: one line per request in the stage's log group, in the stage's format.

A stage with ``access_log_settings`` (``destination_arn`` of a log group, ``format``) gets a line
per request with the format's ``$context.<name>`` variables filled in, as API Gateway does; a
variable without a value (or one the local cloud does not know) renders as ``-``; values are
escaped as inside a JSON string. The stream is
named ``<api-id>_<stage>`` (API Gateway picks its own names; nothing reads them).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from harness.localcloud.deployed import Stage

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_.]+)")
_LOG_GROUP_ARN = re.compile(r"^arn:[^:]+:logs:[^:]*:[^:]*:log-group:(?P<name>[^:]+)(?::\*)?$")


@dataclass
class AccessLogEntry:
    """What one request did, filled in as it passes the stages of the API front."""

    request_id: str
    started: float  # time.time()
    source_ip: str
    method: str
    path: str
    protocol: str
    user_agent: str
    api_id: str = ""
    stage: str = ""
    route_key: str = ""
    status: int = 0
    response_length: int = 0
    integration_latency_ms: int | None = None
    integration_status: int | None = None
    integration_error: str = ""
    settings: Stage | None = None  # the stage's, once the request has found its stage

    def variables(self) -> dict[str, object]:
        return {
            "requestId": self.request_id,
            "extendedRequestId": self.request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.started)),
            "requestTimeEpoch": int(self.started * 1000),
            "identity.sourceIp": self.source_ip,
            "identity.userAgent": self.user_agent,
            "httpMethod": self.method,
            "path": self.path,
            "protocol": self.protocol,
            "apiId": self.api_id,
            "stage": self.stage,
            "routeKey": self.route_key,
            "status": self.status,
            "responseLength": self.response_length,
            "responseLatency": int((time.time() - self.started) * 1000),
            "integrationLatency": self.integration_latency_ms,
            "integrationStatus": self.integration_status,
            "integration.latency": self.integration_latency_ms,
            "integration.status": self.integration_status,
            "integrationErrorMessage": self.integration_error,
            "integration.error": self.integration_error,
        }


def render(log_format: str, entry: AccessLogEntry) -> str:
    values = entry.variables()

    def value(match: re.Match[str]) -> str:
        found = values.get(match.group(1))
        # Escaped as inside a JSON string, so a JSON format stays JSON whatever the value holds.
        return "-" if found in (None, "") else json.dumps(str(found))[1:-1]

    return _VARIABLE.sub(value, log_format)


def log_group_name(destination_arn: str) -> str | None:
    """``arn:aws:logs:<region>:<account>:log-group:<name>[:*]`` -> ``<name>``."""
    match = _LOG_GROUP_ARN.match(destination_arn)
    return match.group("name") if match else None
