"""The HTTP API front: ``/_aws/execute-api/<api-id>/<stage>/<path>`` -> route -> event -> Lambda.

Stages: a named stage is the first path segment after the API id; a ``$default`` stage serves
paths without one (a named stage wins when both could match). The integration runs in its own
thread so that API Gateway's integration timeout (the integration's ``timeout_milliseconds``,
at most 30 s) answers 504 while the function keeps running to its own timeout, as in AWS.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from harness.localcloud.apigw import errors
from harness.localcloud.apigw.authorizers import RouteAuthorizers
from harness.localcloud.apigw.event import EventContext, build_event, new_request_id
from harness.localcloud.apigw.response import MalformedResponseError, map_response
from harness.localcloud.apigw.routing import match_route
from harness.localcloud.deployed import Deployment
from harness.localcloud.errors import (
    EnvironmentStartError,
    LambdaServiceError,
    RequestTooLargeError,
    TooManyRequestsError,
)
from harness.localcloud.httpmsg import HttpRequest, HttpResponse
from harness.localcloud.runtime.result import InvokeResult

log = logging.getLogger(__name__)

PREFIX = "/_aws/execute-api/"
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
MAX_EVENT_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request limit
MAX_INTEGRATION_TIMEOUT_MS = 30_000
DEFAULT_STAGE = "$default"
# Integrations in flight at once; more wait for a thread (each function's concurrency limit is
# far below this, so only requests that would be throttled anyway could ever wait).
INTEGRATION_THREADS = 64

# (function name or ARN, event) -> result; Lambda assigns its own request id.
Invoker = Callable[[str, bytes], InvokeResult]


class ApiGatewayService:
    def __init__(
        self,
        deployments: Callable[[], Deployment],
        invoke: Invoker,
        account_id: str,
        authorizers: RouteAuthorizers,
    ) -> None:
        self._deployments = deployments
        self._invoke = invoke
        self._account_id = account_id
        self._authorizers = authorizers
        # Integrations run beside the waiting request thread (so the integration timeout can answer
        # 504 while the function runs on); pooled, because a thread per request cost a start each.
        self._integrations = ThreadPoolExecutor(max_workers=INTEGRATION_THREADS, thread_name_prefix="apigw")

    def close(self) -> None:
        """Stop taking integrations; those in flight end with their environments."""
        self._integrations.shutdown(wait=False, cancel_futures=True)

    def handle(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        request_id = new_request_id()
        response, what = self._handle(request, request_id)
        log.info(
            "%s %s -> %d (%s) in %.0f ms [%s]",
            request.method,
            request.path,
            response.status,
            what,
            (time.monotonic() - started) * 1000,
            request_id,
        )
        return response

    def _handle(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str]:
        if len(request.body) > MAX_REQUEST_BYTES:
            return errors.payload_too_large(request_id), "request over 10 MB"
        api_id, _, rest = request.path[len(PREFIX) :].partition("/")
        deployment = self._deployments()
        if api_id not in deployment.apis:
            return errors.not_found(request_id), f"no API {api_id!r} deployed"
        stage, route_path = self._stage(deployment, api_id, "/" + rest)
        if stage is None:
            return errors.not_found(request_id), "no such stage"
        matched = match_route(deployment.routes_of(api_id), request.method, route_path)
        if matched is None:
            return errors.not_found(request_id), "no route"
        decision = self._authorizers.authorize(request, matched.route, deployment, request_id)
        if decision.refusal is not None:
            return decision.refusal, decision.reason
        integration = deployment.integrations.get(matched.route.integration_id or "")
        if integration is None or integration.function_name is None:
            return errors.not_found(request_id), f"route {matched.route.route_key} has no Lambda integration"
        if integration.payload_format_version != "2.0":
            log.warning(
                "integration %s uses payload format %s; the local cloud builds 2.0 events only",
                integration.id,
                integration.payload_format_version,
            )
        raw_path = route_path if stage == DEFAULT_STAGE else f"/{stage}{route_path}"
        event = build_event(
            request,
            EventContext(
                account_id=self._account_id,
                api_id=api_id,
                stage=stage,
                route_key=matched.route.route_key,
                raw_path=raw_path,
                path_parameters=matched.path_parameters,
                request_id=request_id,
                authorizer=decision.authorizer_context,
            ),
        )
        payload = json.dumps(event).encode()
        if len(payload) > MAX_EVENT_BYTES:
            return errors.payload_too_large(
                request_id
            ), f"event of {len(payload)} bytes is over Lambda's 6 MB"
        timeout_ms = min(
            integration.timeout_milliseconds or MAX_INTEGRATION_TIMEOUT_MS, MAX_INTEGRATION_TIMEOUT_MS
        )
        return self._call(integration.function_name, payload, request_id, timeout_ms / 1000)

    def _stage(self, deployment: Deployment, api_id: str, path: str) -> tuple[str | None, str]:
        stages = deployment.stages_of(api_id)
        first, _, remainder = path.lstrip("/").partition("/")
        if first and first in stages and first != DEFAULT_STAGE:
            return first, "/" + remainder
        if DEFAULT_STAGE in stages:
            return DEFAULT_STAGE, path
        return None, path

    def _call(
        self, function: str, payload: bytes, request_id: str, timeout_s: float
    ) -> tuple[HttpResponse, str]:
        future: Future[InvokeResult] = self._integrations.submit(self._invoke, function, payload)
        try:
            result = future.result(timeout=timeout_s)
        except FutureTimeout:
            return errors.gateway_timeout(
                request_id
            ), f"integration timeout {timeout_s:g} s ({function} still running)"
        except TooManyRequestsError as exc:
            return errors.too_many_requests(request_id), str(exc)
        except RequestTooLargeError as exc:
            return errors.payload_too_large(request_id), str(exc)
        except EnvironmentStartError as exc:
            return errors.service_unavailable(request_id), f"{function}: {exc}"
        except LambdaServiceError as exc:
            return errors.bad_gateway(request_id), f"{function}: {exc.error_type}: {exc}"
        if result.function_error:
            return errors.bad_gateway(
                request_id
            ), f"{function} failed: {result.payload[:300].decode(errors='replace')}"
        try:
            response = map_response(result.payload)
        except MalformedResponseError as exc:
            return errors.bad_gateway(request_id), f"{function} returned a malformed response: {exc}"
        response.headers.append(("apigw-requestid", request_id))
        return response, f"{function} {'cold' if result.cold else 'warm'} {result.env_id} {result.request_id}"
