"""A request and a response as plain values, so the API fronts can be tested without a server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str  # raw (percent-encoded) path, without the query string
    query: str  # raw query string, without "?"
    headers: list[tuple[str, str]]  # as received: original case, repeated names kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"

    def header(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return default


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def json(cls, status: int, value: Any, headers: list[tuple[str, str]] | None = None) -> HttpResponse:
        return cls(
            status, [("Content-Type", "application/json"), *(headers or [])], json.dumps(value).encode()
        )
