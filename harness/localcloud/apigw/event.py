"""The payload format 2.0 event, field by field as the API Gateway developer guide documents it.

Notable details reproduced: header names are lower-cased and repeated headers joined with
commas; cookies move from the ``cookie`` header to ``cookies``; repeated query parameters are
joined with commas; ``rawPath`` of a named stage starts with the stage name (``/develop/...``)
while ``$default`` stages have none; binary bodies arrive base64-encoded with
``isBase64Encoded: true``; absent parts (body, query, path parameters) are left out.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from harness.localcloud.httpmsg import HttpRequest

_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript", "+json", "+xml")


@dataclass(frozen=True)
class EventContext:
    account_id: str
    api_id: str
    stage: str
    route_key: str
    raw_path: str
    path_parameters: dict[str, str]
    request_id: str
    authorizer: dict[str, Any] | None = None  # requestContext.authorizer: {"iam": ...} or {"jwt": ...}


def new_request_id() -> str:
    """API Gateway request ids look like ``JKJaXmPLvHcESHA=``."""
    return base64.b64encode(uuid.uuid4().bytes[:10]).decode()


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    lowered = content_type.lower()
    return any(marker in lowered for marker in _TEXT_TYPES)


def build_event(request: HttpRequest, context: EventContext, now: float | None = None) -> dict[str, Any]:
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{uuid.uuid4().hex[:24]}")
    host, _, port = headers.get("host", "localhost").partition(":")
    headers.setdefault("x-forwarded-port", port or "80")

    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": context.raw_path,
        "rawQueryString": request.query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query: dict[str, str] = {}
    for key, value in parse_qsl(request.query, keep_blank_values=True):
        query[key] = f"{query[key]},{value}" if key in query else value
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": context.account_id,
        **({"authorizer": context.authorizer} if context.authorizer else {}),
        "apiId": context.api_id,
        "domainName": host,
        "domainPrefix": host.split(".")[0],
        "http": {
            "method": request.method.upper(),
            "path": context.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": context.request_id,
        "routeKey": context.route_key,
        "stage": context.stage,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    encoded = False
    if request.body:
        if is_text(headers.get("content-type")):
            try:
                event["body"] = request.body.decode("utf-8")
            except UnicodeDecodeError:
                encoded = True
        else:
            encoded = True
        if encoded:
            event["body"] = base64.b64encode(request.body).decode()
    if context.path_parameters:
        event["pathParameters"] = context.path_parameters
    event["isBase64Encoded"] = encoded
    return event
