"""The outcome of one invocation, shaped like Lambda's Invoke response."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class InvokeResult:
    payload: bytes
    function_error: str | None  # "Unhandled" for any function error, as Lambda reports it
    request_id: str
    function: str
    env_id: str
    cold: bool
    duration_ms: float
    log_tail: bytes | None = None  # the last 4 KB of its log, when the caller asked (LogType=Tail)

    @property
    def error_type(self) -> str | None:
        """``errorType`` of a function error (``Sandbox.Timedout`` for timeouts)."""
        if not self.function_error:
            return None
        try:
            return json.loads(self.payload).get("errorType")
        except (ValueError, AttributeError):
            return None

    @property
    def timed_out(self) -> bool:
        return self.error_type == "Sandbox.Timedout"


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()
