"""The HTTP API: request parsing and validation, and the routes ``POST /`` and ``GET /models``.

Parsing and validation are pure functions (every 400/404/413 rule is tested without a model).
Routing is a table of two (method, route) pairs: Powertools' ``APIGatewayHttpResolver`` did the
same and cost ~0.1 s of every cold start in imports (pydantic-free, but it pulls in asyncio and
the data-class hierarchy), a tenth of the ONNX engine's whole cold start. Every error, from
whatever layer, goes through ``log_error`` (which uses ``errors.error_body``); unexpected
exceptions are logged with their traceback and answered with a generic 500. A direct invoke (the
event *is* the request) goes through the same validation and service, and gets the same body back.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inference.errors import (
    BadRequestError,
    InferenceError,
    ModelNotFoundError,
    PayloadTooLargeError,
    RouteNotFoundError,
    error_body,
)
from inference.observability import logger
from inference.stores.base import ManifestUnavailableError

if TYPE_CHECKING:
    from inference.service import InferenceService

ServiceProvider = Callable[[], "InferenceService"]

FIELDS = ("model_type", "question", "context")


@dataclass(frozen=True)
class QARequest:
    """A validated question-answering request."""

    model_type: str
    question: str
    context: str


def is_http_event(event: Any) -> bool:
    """An API Gateway HTTP API (payload format 2.0) event, as opposed to a direct invoke."""
    return (
        isinstance(event, Mapping)
        and isinstance(event.get("requestContext"), Mapping)
        and ("http" in event["requestContext"])
    )


def route_path(event: Mapping[str, Any]) -> str:
    """The route of an HTTP event: ``rawPath`` without the stage, no trailing slash, ``/`` for the root.

    API Gateway puts a named stage in front of the path (``/develop/``), and a caller may omit
    the trailing slash (``/develop``) or add one (``/develop/models/``); a gateway emulator may
    also leave the stage out.
    """
    stage = str(event["requestContext"].get("stage") or "$default")
    prefix = "" if stage == "$default" else f"/{stage}"
    raw = str(event.get("rawPath") or "/")
    if prefix and (raw == prefix or raw.startswith(prefix + "/")):
        raw = raw[len(prefix) :]
    return "/" + raw.strip("/")


def decode_body(body: str | None, is_base64: bool) -> Any:
    """The JSON value of an HTTP body (base64 when API Gateway says so)."""
    if body is None or body == "":
        raise BadRequestError("the request body is empty; send a JSON object with " + ", ".join(FIELDS))
    text = body
    if is_base64:
        try:
            text = base64.b64decode(body, validate=True).decode("utf-8")
        except (binascii.Error, ValueError) as exc:
            reason = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "is not valid base64"
            raise BadRequestError(f"the request body is marked base64 but {reason}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"{exc.msg} at position {exc.pos}"
        raise BadRequestError(f"the request body is not valid JSON ({reason})") from None


def parse_request(raw: Any, known_models: Collection[str] | None, max_context_chars: int) -> QARequest:
    """Validate a decoded request object; raises BadRequestError, PayloadTooLargeError or ModelNotFoundError.

    ``known_models`` None skips the model_type check (the manifest could not be read; the
    service then answers 503 for the model asked for).
    """
    if not isinstance(raw, Mapping):
        raise BadRequestError(f"the request must be a JSON object, not {_json_type(raw)}")
    missing = [name for name in FIELDS if name not in raw]
    if missing:
        raise BadRequestError(f"missing field(s): {', '.join(missing)}")
    for name in FIELDS:
        if not isinstance(raw[name], str):
            raise BadRequestError(f"field {name!r} must be a string, not {_json_type(raw[name])}")
    model_type, question, context = (raw[name] for name in FIELDS)
    for name, value in (("model_type", model_type), ("question", question), ("context", context)):
        if not value.strip():
            raise BadRequestError(f"field {name!r} must not be empty")
    if len(context) > max_context_chars:
        raise PayloadTooLargeError(
            f"the context has {len(context)} characters; the limit is {max_context_chars} (MAX_CONTEXT_CHARS)"
        )
    if known_models is not None and model_type not in known_models:
        raise ModelNotFoundError(model_type, known_models)
    return QARequest(model_type=model_type, question=question, context=context)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object" if isinstance(value, Mapping) else type(value).__name__


# --- routes ------------------------------------------------------------------------------------


def answer_request(raw: Any, service: InferenceService, request_id: str) -> dict[str, Any]:
    """Validate a decoded request against the current manifest and answer it."""
    try:
        known: Collection[str] | None = service.model_types()
    except ManifestUnavailableError:  # validate the rest; the service then answers 503 for the model
        known = None
    request = parse_request(raw, known, service.settings.max_context_chars)
    return service.answer(request, request_id)


def log_error(error: BaseException, request_id: str) -> tuple[int, dict[str, Any]]:
    """(status, body) of an error, logged: 5xx with its traceback, 4xx as one info line."""
    status, body = error_body(error, request_id)
    if status >= 500 and not isinstance(error, InferenceError):
        logger.exception("request failed", exc_info=error, extra={"status": status})
    elif status >= 500:
        logger.error("request failed", extra={"status": status, "error": body["error"]})
    else:
        logger.info("request rejected", extra={"status": status, "error": body["error"]})
    return status, body


def http_response(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """An HTTP API (payload 2.0) Lambda response with a JSON body."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


Route = Callable[[Mapping[str, Any], "InferenceService", str], dict[str, Any]]


def _post_answer(event: Mapping[str, Any], service: InferenceService, request_id: str) -> dict[str, Any]:
    raw = decode_body(event.get("body"), bool(event.get("isBase64Encoded")))
    return answer_request(raw, service, request_id)


def _get_models(_event: Mapping[str, Any], service: InferenceService, _request_id: str) -> dict[str, Any]:
    return service.list_models()


ROUTES: dict[tuple[str, str], Route] = {("POST", "/"): _post_answer, ("GET", "/models"): _get_models}


def handle_http(event: Mapping[str, Any], service: ServiceProvider, request_id: str) -> dict[str, Any]:
    """An HTTP API event: its route's JSON answer, or the error shape with its status."""
    method = str(event["requestContext"]["http"].get("method") or "").upper()
    route = route_path(event)
    try:
        handle = ROUTES.get((method, route))
        if handle is None:
            known = " or ".join(f"{m} {r}" for m, r in ROUTES)
            raise RouteNotFoundError(f"no route for {method} {route}; use {known}")
        return http_response(200, handle(event, service(), request_id))
    except Exception as error:
        return http_response(*log_error(error, request_id))


def handle_direct(event: Any, service: ServiceProvider, request_id: str) -> dict[str, Any]:
    """A direct invoke: the event is the request; errors also carry ``statusCode``."""
    try:
        return answer_request(event, service(), request_id)
    except Exception as error:
        status, body = log_error(error, request_id)
        return {**body, "statusCode": status}
