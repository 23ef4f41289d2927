"""Lambda's output -> the HTTP response, by the payload format 2.0 rules.

- A JSON object with ``statusCode`` is a structured response: ``statusCode``, ``headers``,
  ``cookies`` (each one a ``Set-Cookie``), ``body`` (a string) and ``isBase64Encoded``.
- Any other valid JSON is the body of a 200 ``application/json`` response; a JSON string becomes
  the body as it is (``"hi"`` -> ``hi``), anything else its JSON text.
- Output that is not JSON, or a structured response with a bad status, non-string body or
  undecodable base64, is malformed: API Gateway answers 502.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from harness.localcloud.httpmsg import HttpResponse


class MalformedResponseError(ValueError):
    """The function's output is not a valid 2.0 response; the message says why (for the logs)."""


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedResponseError(f"header value {value!r} is not a string")


def map_response(output: bytes) -> HttpResponse:
    try:
        value = json.loads(output) if output.strip() else None
    except ValueError:
        raise MalformedResponseError(f"output is not JSON: {output[:200]!r}") from None
    if not (isinstance(value, dict) and "statusCode" in value):
        if isinstance(value, str):
            body = value.encode()
        else:
            body = b"" if value is None else json.dumps(value).encode()
        return HttpResponse(200, [("Content-Type", "application/json")], body)

    status = value["statusCode"]
    if isinstance(status, bool) or not isinstance(status, (int, str)) or not str(status).isdigit():
        raise MalformedResponseError(f"statusCode {status!r} is not an integer")
    status = int(status)
    if not 100 <= status <= 599:
        raise MalformedResponseError(f"statusCode {status} is out of range")
    headers_in = value.get("headers") or {}
    if not isinstance(headers_in, dict):
        raise MalformedResponseError("headers is not an object")
    headers = [(str(name), _header_value(v)) for name, v in headers_in.items()]
    cookies = value.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResponseError("cookies is not a list")
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    body_value = value.get("body")
    if body_value is None:
        body = b""
    elif not isinstance(body_value, str):
        raise MalformedResponseError(f"body is a {type(body_value).__name__}, not a string")
    elif value.get("isBase64Encoded") is True:
        try:
            body = base64.b64decode(body_value, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResponseError("isBase64Encoded is true but body is not base64") from None
    else:
        body = body_value.encode()
    return HttpResponse(status, headers, body)
