"""Lambda's Invoke API, served from the local data plane: what boto3, the AWS CLI and Terraform's
``aws_lambda_invocation`` call.

``POST /2015-03-31/functions/<name|arn>/invocations`` with ``X-Amz-Invocation-Type``:
- ``RequestResponse`` (default): 200 with the function's output; a function error is still 200,
  with ``X-Amz-Function-Error: Unhandled`` and ``{"errorType", "errorMessage", ...}``. With
  ``X-Amz-Log-Type: Tail``, ``X-Amz-Log-Result`` carries the last 4 KB of the invocation's log
  (START to REPORT), base64-encoded (boto3's ``LogResult``).
- ``Event``: 202 at once; the invocation runs in the background (retried while throttled).
- ``DryRun``: 204 if the function exists.
Service errors carry ``x-amzn-ErrorType`` and a ``{"Type", "message"}`` body, which botocore turns
into the modeled exceptions (``ResourceNotFoundException``, ``TooManyRequestsException``, ...).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import uuid
from collections.abc import Callable
from urllib.parse import parse_qs, unquote

from harness.localcloud.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    LambdaServiceError,
    RequestTooLargeError,
    ResourceNotFoundError,
)
from harness.localcloud.httpmsg import HttpRequest, HttpResponse
from harness.localcloud.runtime.result import InvokeResult
from harness.localcloud.runtime.spec import FunctionSpec

log = logging.getLogger(__name__)

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations$")
MAX_SYNC_BYTES = 6 * 1024 * 1024
MAX_EVENT_BYTES = 1024 * 1024
_QUALIFIED_ARN = re.compile(
    r"^(?P<base>(?:arn:[^:]+:lambda:[^:]+:)?\d{12}:function:[^:]+):(?P<qualifier>[^:]+)$"
)


def is_invoke(method: str, path: str) -> bool:
    return method == "POST" and INVOKE_PATH.match(path) is not None


class LambdaInvokeApi:
    def __init__(
        self,
        resolve: Callable[[str], FunctionSpec],
        invoke: Callable[[FunctionSpec, bytes, str, bool], InvokeResult],
        invoke_async: Callable[[FunctionSpec, bytes, str], None],
    ) -> None:
        self._resolve = resolve
        self._invoke = invoke
        self._invoke_async = invoke_async

    def handle(self, request: HttpRequest) -> HttpResponse:
        request_id = str(uuid.uuid4())
        try:
            response = self._handle(request, request_id)
        except LambdaServiceError as exc:
            log.info("invoke %s -> %d %s: %s", request.path, exc.status, exc.error_type, exc)
            response = HttpResponse.json(exc.status, exc.body(), [("x-amzn-ErrorType", exc.error_type)])
        response.headers.append(("x-amzn-RequestId", request_id))
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> HttpResponse:
        match = INVOKE_PATH.match(request.path)
        assert match is not None
        name = unquote(match.group("function"))
        qualifier = (parse_qs(request.query).get("Qualifier") or [None])[0]
        qualified = _QUALIFIED_ARN.match(name)
        if qualified:
            name, qualifier = qualified.group("base"), qualified.group("qualifier")
        spec = self._resolve(name)
        if qualifier not in (None, "$LATEST"):
            raise ResourceNotFoundError(
                f"Function not found: {spec.arn}:{qualifier} (only $LATEST exists locally)"
            )
        payload = request.body or b"{}"
        try:
            json.loads(payload)
        except ValueError:
            raise InvalidRequestContentError("Could not parse request body into json") from None
        invocation_type = request.header("X-Amz-Invocation-Type", "RequestResponse")
        log_type = request.header("X-Amz-Log-Type", "None")
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueError(f"LogType must be None or Tail, not {log_type[:40]!r}")
        if invocation_type == "DryRun":
            return HttpResponse(204)
        if invocation_type == "Event":
            if len(payload) > MAX_EVENT_BYTES:
                raise RequestTooLargeError(
                    f"Request must be smaller than {MAX_EVENT_BYTES} bytes for the Event invocation type"
                )
            self._invoke_async(spec, payload, request_id)
            log.info("invoke %s (Event) accepted as %s", spec.name, request_id)
            return HttpResponse(202)
        if invocation_type != "RequestResponse":
            raise InvalidRequestContentError(f"unknown X-Amz-Invocation-Type {invocation_type!r}")
        if len(payload) > MAX_SYNC_BYTES:
            raise RequestTooLargeError(
                f"Request must be smaller than {MAX_SYNC_BYTES} bytes for the InvokeFunction operation"
            )
        result = self._invoke(spec, payload, request_id, log_type == "Tail")
        headers = [("Content-Type", "application/json"), ("X-Amz-Executed-Version", "$LATEST")]
        if result.function_error:
            headers.append(("X-Amz-Function-Error", result.function_error))
        if result.log_tail is not None:
            headers.append(("X-Amz-Log-Result", base64.b64encode(result.log_tail).decode()))
        return HttpResponse(200, headers, result.payload)
