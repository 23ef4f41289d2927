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

from inference.config import RequestLimits
from inference.errors import (
    BadRequestError,
    InferenceError,
    ModelNotFoundError,
    PayloadTooLargeError,
    RouteNotFoundError,
    error_body,
    excerpt,
)
from inference.observability import logger
from inference.stores.base import ManifestUnavailableError

if TYPE_CHECKING:
    from inference.contract import Manifest
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


# The fields of a payload 2.0 event that API Gateway always sends as text (REQUIRED) or as text
# when at all (OPTIONAL; a body may also be null). Routing reads the required ones, rawPath and
# requestId; an event whose other fields have impossible types is not API Gateway's either.
_REQUIRED = (("requestContext", "stage"), ("requestContext", "http", "method"))
_OPTIONAL = (
    ("rawPath",),
    ("rawQueryString",),
    ("routeKey",),
    ("version",),
    ("requestContext", "requestId"),
    ("requestContext", "http", "path"),
    ("requestContext", "http", "sourceIp"),
    ("requestContext", "http", "userAgent"),
)
_MISSING = object()


def _field(event: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = event
    for key in path:
        value = value.get(key, _MISSING) if isinstance(value, Mapping) else _MISSING
    return value


def check_http_event(event: Mapping[str, Any]) -> None:
    """BadRequestError unless the event's fields have the types API Gateway gives them.

    API Gateway always sends well-formed events, but a direct invoke can send anything with a
    ``requestContext.http`` in it, and routing indexes into whatever it finds (a null ``http``,
    a missing ``method`` or a null ``stage`` was a KeyError or TypeError: a 500). Checked once,
    before routing (``handle_http``).
    """
    problems = []
    for path in _REQUIRED + _OPTIONAL:
        value = _field(event, path)
        if (value is _MISSING and path in _OPTIONAL) or isinstance(value, str):
            continue
        problems.append(f"{'.'.join(path)} is {'missing' if value is _MISSING else _json_type(value)}")
    if not isinstance(event.get("body"), str | None):
        problems.append(f"body is {_json_type(event.get('body'))}")
    if not isinstance(event.get("isBase64Encoded", False), bool):
        problems.append(f"isBase64Encoded is {_json_type(event.get('isBase64Encoded'))}")
    for name in ("headers", "queryStringParameters", "pathParameters", "stageVariables"):
        value = event.get(name)
        if value is not None and not (
            isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values())
        ):
            problems.append(f"{name} is not an object of strings")
    cookies = event.get("cookies")
    if cookies is not None and not (isinstance(cookies, list) and all(isinstance(c, str) for c in cookies)):
        problems.append("cookies is not an array of strings")
    if problems:
        raise BadRequestError(f"not an API Gateway HTTP API (2.0) event: {'; '.join(problems[:3])}")


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


def decode_body(body: Any, is_base64: bool) -> Any:
    """The JSON value of an HTTP body (base64 when API Gateway says so); BadRequestError otherwise.

    Whatever the bytes, this answers a value or a 400: besides malformed JSON, ``json.loads``
    raises RecursionError on arrays or objects nested a few thousand deep and ValueError on an
    integer of more than 4,300 digits (Python's int-string limit); both once answered 500.
    """
    if body is None or body == "":
        raise BadRequestError("the request body is empty; send a JSON object with " + ", ".join(FIELDS))
    if not isinstance(body, str):
        raise BadRequestError(f"the request body must be text, not {_json_type(body)}")
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
    except RecursionError:
        raise BadRequestError("the request body nests arrays or objects too deeply") from None
    except ValueError:  # an integer over Python's int-string limit (4,300 digits)
        raise BadRequestError("the request body holds a number too long to read") from None


def parse_request(raw: Any, known_models: Collection[str] | None, limits: RequestLimits) -> QARequest:
    """Validate a decoded request object; raises BadRequestError, PayloadTooLargeError or ModelNotFoundError.

    ``known_models`` None skips the model_type check (the manifest could not be read; the
    service then answers 503 for the model asked for). Lengths are checked before anything
    scans the text, and text is checked to be encodable before any tokenizer sees it.
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
    for name, value, limit, setting in (
        ("question", question, limits.max_question_chars, "MAX_QUESTION_CHARS"),
        ("context", context, limits.max_context_chars, "MAX_CONTEXT_CHARS"),
    ):
        if len(value) > limit:
            raise PayloadTooLargeError(f"the {name} has {len(value)} characters", limit, setting)
    for name, value in (("model_type", model_type), ("question", question), ("context", context)):
        if not value.strip():
            raise BadRequestError(f"field {name!r} must not be empty")
        _check_text(name, value)
    if known_models is not None and model_type not in known_models:
        raise ModelNotFoundError(model_type, known_models)
    return QARequest(model_type=model_type, question=question, context=context)


def _check_text(name: str, value: str) -> None:
    """BadRequestError when ``value`` is not Unicode text: JSON's ``"\ud800"`` decodes to a lone
    surrogate, which no UTF-8 encoder (the tokenizer's, the log's) accepts."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BadRequestError(
            f"field {name!r} is not Unicode text: it holds a lone surrogate at character {exc.start}"
        ) from None


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
    try:  # read once: validation and the answer use the same manifest
        manifest: Manifest | None = service.manifests.get()
    except ManifestUnavailableError:  # validate the rest; the service then answers 503 for the model
        manifest = None
    known: Collection[str] | None = None if manifest is None else manifest.models
    request = parse_request(raw, known, service.settings.limits)
    return service.answer(request, request_id, manifest)


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
    try:
        check_http_event(event)
        method = event["requestContext"]["http"]["method"].upper()
        route = route_path(event)
        handle = ROUTES.get((method, route))
        if handle is None:
            known = " or ".join(f"{m} {r}" for m, r in ROUTES)
            raise RouteNotFoundError(f"no route for {excerpt(method)} {excerpt(route)}; use {known}")
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
