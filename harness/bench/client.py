"""HTTP client for a deployed API: one keep-alive session, latency measured around each call.

``ask`` never raises for an HTTP error: the benchmark counts errors instead of stopping. Sessions
are not shared between threads; the concurrency scenario gives each worker its own client.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import requests

DEFAULT_TIMEOUT_S = 300.0


@dataclass
class ApiResult:
    """One call: HTTP status, client-side latency, the body and the function's own timings."""

    status: int
    latency_ms: float
    body: dict[str, Any] = field(default_factory=dict)
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200 and not self.error

    @property
    def answer(self) -> str:
        return str(self.body.get("answer", ""))

    @property
    def timings_ms(self) -> dict[str, float]:
        raw = self.body.get("timings_ms") or {}
        return {key: float(value) for key, value in raw.items() if isinstance(value, int | float)}

    @property
    def server_ms(self) -> float:
        """What the function says it spent (fetch + load + inference)."""
        return sum(self.timings_ms.values())


class ApiClient:
    """POST / and GET /models of one deployed API (``api_url`` ends with '/')."""

    def __init__(self, api_url: str, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.api_url = api_url if api_url.endswith("/") else api_url + "/"
        self.timeout = timeout
        self.session = requests.Session()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.session.close()

    def _call(self, method: str, url: str, **kwargs: Any) -> ApiResult:
        started = time.perf_counter()
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            latency = (time.perf_counter() - started) * 1000.0
        except requests.RequestException as exc:
            return ApiResult(
                0, (time.perf_counter() - started) * 1000.0, error=f"{type(exc).__name__}: {exc}"
            )
        try:
            body = response.json()
        except ValueError:
            body = {"raw": response.text[:500]}
        if not isinstance(body, dict):
            body = {"raw": body}
        error = ""
        if response.status_code != 200:
            detail = body.get("error") if isinstance(body.get("error"), dict) else {}
            error = f"HTTP {response.status_code} {detail.get('code', '')}: {detail.get('message', body)}"
        return ApiResult(response.status_code, latency, body, error)

    def ask(self, model_type: str, question: str, context: str) -> ApiResult:
        payload = {"model_type": model_type, "question": question, "context": context}
        return self._call("POST", self.api_url, json=payload)

    def models(self) -> ApiResult:
        return self._call("GET", self.api_url + "models")
