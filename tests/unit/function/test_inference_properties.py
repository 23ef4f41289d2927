"""Properties of body decoding and request validation over inputs nobody would write by hand.

Whatever a caller sends (any JSON value, any bytes, any unicode including lone surrogates and
control characters, strings of hundreds of thousands of characters), decoding and validation
either give a request or raise one of the deliberate 4xx errors, whose message stays short.
Examples of this kind once answered 500: nesting a few thousand deep, a 5,000-digit integer, a
lone surrogate, and a 200,000-character model_type came back whole. The handler is held to the
same with the real offline models behind it, for HTTP API events (any body, path, method,
headers) and direct invokes (any JSON value as the event), and so are its log lines.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inference.api import FIELDS, QARequest, decode_body, parse_request
from inference.config import RequestLimits
from inference.errors import MAX_MESSAGE_CHARS, BadRequestError, InferenceError, error_body

KNOWN = ("nlp1", "nlp2")
LIMITS = RequestLimits(max_context_chars=5000, max_question_chars=300)
# Any code point, surrogates (category Cs) and controls included; st.text() leaves out Cs.
ANY_CHAR = st.characters(codec=None, exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=50)
# A long run of one character: far over every limit, cheap to build.
LONG_TEXT = st.builds(lambda char, n: char * n, ANY_CHAR, st.integers(0, 300_000))
TEXT = st.one_of(ANY_TEXT, LONG_TEXT, st.sampled_from(KNOWN))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
# Objects that get further into validation: the three fields present, most of them strings.
REQUEST = st.fixed_dictionaries({name: st.one_of(TEXT, TEXT, JSON) for name in FIELDS}) | st.dictionaries(
    st.sampled_from(FIELDS) | ANY_TEXT, JSON, max_size=4
)
# Requests that pass validation often: a known model, any text (so the tokenizer sees it all).
ANSWERABLE = st.fixed_dictionaries(
    {"model_type": st.sampled_from(KNOWN), "question": ANY_TEXT, "context": ANY_TEXT | LONG_TEXT}
)
# The messages quote no more than an excerpt; the cap in error_body is the backstop.
MESSAGE_BOUND = 300
fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def nested(depth: int, kind: str) -> str:
    return ("[" * depth + "]" * depth) if kind == "array" else ('{"a":' * depth + "1" + "}" * depth)


def assert_deliberate_4xx(error: InferenceError) -> None:
    assert 400 <= error.status < 500, error
    assert len(error.message) <= MESSAGE_BOUND, error.message[:200]
    _status, body = error_body(error, "rid")
    assert len(json.dumps(body)) <= 12 * MAX_MESSAGE_CHARS + 200  # every character escaped at worst


def decode_or_refuse(body: Any, is_base64: bool) -> Any:
    try:
        return decode_body(body, is_base64)
    except BadRequestError as error:
        assert_deliberate_4xx(error)
        return None


@fast
@given(ANY_TEXT | LONG_TEXT, st.booleans())
def test_any_text_decodes_or_is_a_short_400(body: str, is_base64: bool) -> None:
    decode_or_refuse(body, is_base64)


@fast
@given(st.binary(max_size=2000))
def test_any_bytes_in_base64_decode_or_are_a_short_400(raw: bytes) -> None:
    decode_or_refuse(base64.b64encode(raw).decode(), True)


@fast
@given(JSON)
def test_any_json_value_decodes_to_itself(value: Any) -> None:
    text = json.dumps(value)
    decoded = decode_body(text, False)
    assert json.dumps(decoded) == text  # NaN != NaN, so compare the texts


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 200_000), st.sampled_from(["array", "object"]), st.booleans())
def test_any_nesting_depth_decodes_or_is_a_short_400(depth: int, kind: str, is_base64: bool) -> None:
    text = nested(depth, kind)
    body = base64.b64encode(text.encode()).decode() if is_base64 else text
    decode_or_refuse(body, is_base64)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 100_000), st.sampled_from(["", "-", "0.", "1e"]))
def test_any_number_length_decodes_or_is_a_short_400(digits: int, prefix: str) -> None:
    decode_or_refuse('{"model_type": ' + prefix + "7" * digits + "}", False)


@fast
@given(JSON | REQUEST)
def test_any_decoded_value_is_a_request_or_a_short_4xx(raw: Any) -> None:
    try:
        request = parse_request(raw, KNOWN, LIMITS)
    except InferenceError as error:
        assert_deliberate_4xx(error)
        return
    assert isinstance(request, QARequest) and request.model_type in KNOWN
    for text in (request.question, request.context):
        text.encode("utf-8")  # what a tokenizer receives is always encodable text
    assert len(request.question) <= LIMITS.max_question_chars
    assert len(request.context) <= LIMITS.max_context_chars


# --- the handler, with the real models ----------------------------------------------------------

pytestmark = pytest.mark.filterwarnings("ignore:No application metrics to publish")
# An error body holds at most MAX_MESSAGE_CHARS of message, each character at worst an escaped
# surrogate pair in JSON (12 bytes: the route's 404 quotes the path, cut at the cap); a log line
# its message and extras, as bounded.
BODY_BOUND = 12 * MAX_MESSAGE_CHARS + 200
LOG_LINE_BOUND = 2 * BODY_BOUND
METHODS = st.sampled_from(["POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD"]) | ANY_TEXT
PATHS = st.sampled_from(["/develop/", "/develop", "/develop/models", "/", "/models/"]) | ANY_TEXT | LONG_TEXT
BODIES = st.one_of(
    st.none(),
    ANY_TEXT | LONG_TEXT,
    (JSON | REQUEST | ANSWERABLE).map(json.dumps),
    st.binary(max_size=500).map(lambda raw: base64.b64encode(raw).decode()),
)


@st.composite
def http_events(draw: st.DrawFn) -> dict[str, Any]:
    """An API Gateway HTTP API (2.0) event with anything a caller controls drawn at random."""
    method, path = draw(METHODS), draw(PATHS)
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": draw(ANY_TEXT),
        "headers": draw(st.dictionaries(ANY_TEXT, ANY_TEXT | LONG_TEXT, max_size=4)),
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "apigw-request-id",
            "stage": draw(st.sampled_from(["develop", "$default"])),
        },
        "body": draw(BODIES),
        "isBase64Encoded": draw(st.booleans()),
    }


class Lines(logging.Handler):
    """The log lines the function writes, formatted as Powertools writes them to stdout."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self.setFormatter(formatter)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def lines(handler: ModuleType) -> Iterator[Lines]:
    from inference.observability import logger

    capture = Lines(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(capture)
    try:
        yield capture
    finally:
        target.removeHandler(capture)


@contextlib.contextmanager
def bounded_logs(lines: Lines) -> Iterator[None]:
    lines.lines.clear()
    yield
    for line in lines.lines:
        assert len(line) <= LOG_LINE_BOUND, line[:300]


def context() -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(
        function_name="inference-test",
        memory_limit_in_mb=3008,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:inference-test",
        aws_request_id=str(uuid.uuid4()),
    )


@st.composite
def malformed_http_events(draw: st.DrawFn) -> dict[str, Any]:
    """An event that claims to be an HTTP API event, with any JSON where its fields should be."""
    event = draw(http_events())
    for key in draw(st.sets(st.sampled_from(["rawPath", "body", "isBase64Encoded", "headers"]))):
        event[key] = draw(JSON)
    context = event["requestContext"]
    for key in draw(st.sets(st.sampled_from(["stage", "requestId"]))):
        context[key] = draw(JSON)
    if draw(st.booleans()):
        context["http"] = draw(JSON | st.dictionaries(st.sampled_from(["method", "path"]), JSON))
    return event


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(http_events() | malformed_http_events())
def test_any_http_event_answers_2xx_or_a_short_4xx(handler: ModuleType, lines: Lines, event: dict) -> None:
    with bounded_logs(lines):
        response = handler.handler(event, context())
    status, text = response["statusCode"], response["body"]
    assert status == 200 or 400 <= status < 500, text[:300]
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(text)
    if status != 200:
        assert set(body) == {"error", "request_id"} and set(body["error"]) == {"code", "message"}
        assert len(text) <= BODY_BOUND


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON | REQUEST | ANSWERABLE)
def test_any_direct_invoke_answers_a_result_or_a_short_4xx(
    handler: ModuleType, lines: Lines, event: Any
) -> None:
    with bounded_logs(lines):
        response = handler.handler(event, context())
    if "statusCode" in response:
        assert 400 <= response["statusCode"] < 500, response
        assert set(response) == {"error", "request_id", "statusCode"}
        assert len(json.dumps(response)) <= BODY_BOUND
    else:
        assert {"answer", "score", "start", "end"} <= set(response)
