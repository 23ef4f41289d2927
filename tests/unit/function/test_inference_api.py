"""Request validation: every 400/404/413 rule, and the error body shape (no model needed)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from inference.api import QARequest, decode_body, is_http_event, parse_request, route_path
from inference.config import RequestLimits
from inference.errors import (
    MAX_MESSAGE_CHARS,
    BadRequestError,
    InferenceError,
    ModelNotFoundError,
    ModelUnavailableError,
    PayloadTooLargeError,
    error_body,
)

KNOWN = ("nlp1", "nlp2")
GOOD = {"model_type": "nlp1", "question": "When?", "context": "In 1886."}


def parse(raw: Any, limit: int = 1000, question_limit: int = 100) -> QARequest:
    return parse_request(raw, KNOWN, limits(limit, question_limit))


def limits(context_chars: int = 1000, question_chars: int = 100) -> RequestLimits:
    return RequestLimits(max_context_chars=context_chars, max_question_chars=question_chars)


def test_a_valid_request_parses_and_extra_fields_are_ignored() -> None:
    assert parse({**GOOD, "extra": 1}) == QARequest("nlp1", "When?", "In 1886.")


@pytest.mark.parametrize(
    ("body", "is_base64", "fragment"),
    [
        (None, False, "empty"),
        ("", False, "empty"),
        ("{not json", False, "not valid JSON"),
        ("###", True, "not valid base64"),
        (base64.b64encode(b"\xff\xfe{}").decode(), True, "not UTF-8"),
    ],
)
def test_undecodable_bodies_are_400(body: str | None, is_base64: bool, fragment: str) -> None:
    with pytest.raises(BadRequestError, match=fragment) as caught:
        decode_body(body, is_base64)
    assert caught.value.status == 400


def test_base64_and_plain_bodies_decode_to_the_same_object() -> None:
    text = json.dumps(GOOD)
    assert decode_body(text, False) == decode_body(base64.b64encode(text.encode()).decode(), True) == GOOD


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ([GOOD], "JSON object, not an array"),
        ("nlp1", "JSON object, not a string"),
        (None, "JSON object, not null"),
        ({"question": "q", "context": "c"}, "missing field(s): model_type"),
        ({"model_type": "nlp1"}, "missing field(s): question, context"),
        ({**GOOD, "question": 42}, "'question' must be a string, not a number"),
        ({**GOOD, "context": ["a"]}, "'context' must be a string, not an array"),
        ({**GOOD, "model_type": True}, "'model_type' must be a string, not a boolean"),
        ({**GOOD, "question": "   "}, "'question' must not be empty"),
        ({**GOOD, "context": ""}, "'context' must not be empty"),
        ({**GOOD, "model_type": ""}, "'model_type' must not be empty"),
    ],
)
def test_malformed_requests_are_400(raw: Any, fragment: str) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse(raw)
    assert fragment in caught.value.message
    assert caught.value.status == 400 and caught.value.code == "BadRequest"


def test_an_unknown_model_type_is_404_listing_the_known_ones() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        parse({**GOOD, "model_type": "nlp3"})
    assert caught.value.status == 404
    assert "nlp3" in caught.value.message and "nlp1, nlp2" in caught.value.message


def test_a_context_over_the_limit_is_413_and_at_the_limit_is_fine() -> None:
    assert parse({**GOOD, "context": "x" * 50}, limit=50).context == "x" * 50
    too_long = r"51 characters; the limit is 50 \(MAX_CONTEXT_CHARS\)"
    with pytest.raises(PayloadTooLargeError, match=too_long) as caught:
        parse({**GOOD, "context": "x" * 51}, limit=50)
    assert caught.value.status == 413


def test_a_question_over_its_character_limit_is_413_naming_the_setting() -> None:
    assert parse({**GOOD, "question": "q" * 20}, question_limit=20).question == "q" * 20
    with pytest.raises(PayloadTooLargeError, match=r"21 characters; the limit is 20 \(MAX_QUESTION_CHARS\)"):
        parse({**GOOD, "question": "q" * 21}, question_limit=20)


@pytest.mark.parametrize("field", ["model_type", "question", "context"])
def test_a_lone_surrogate_is_400_before_any_tokenizer_sees_it(field: str) -> None:
    with pytest.raises(BadRequestError, match=f"'{field}' is not Unicode text.*at character 1"):
        parse({**GOOD, field: "a\ud800b"})


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("[" * 100_000 + "]" * 100_000, "nests arrays or objects too deeply"),
        ('{"a":' * 100_000 + "1" + "}" * 100_000, "nests arrays or objects too deeply"),
        ('{"model_type": ' + "9" * 5000 + "}", "number too long"),
    ],
    ids=["deep-array", "deep-object", "5000-digit-integer"],
)
def test_json_that_python_cannot_decode_is_400(body: str, fragment: str) -> None:
    with pytest.raises(BadRequestError, match=fragment):
        decode_body(body, False)


def test_a_body_that_is_not_text_is_400() -> None:
    with pytest.raises(BadRequestError, match="must be text, not a number"):
        decode_body(12, False)


def test_a_huge_model_type_is_echoed_as_a_bounded_prefix() -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        parse({**GOOD, "model_type": "m" * 200_000})
    assert len(caught.value.message) < 200 and "(200000 characters)" in caught.value.message
    _, body = error_body(InferenceError("x" * 10_000), "rid")
    assert len(body["error"]["message"]) == MAX_MESSAGE_CHARS


def test_without_a_manifest_the_model_type_is_not_checked() -> None:
    assert parse_request({**GOOD, "model_type": "anything"}, None, limits()).model_type == "anything"


def test_error_bodies_have_one_shape_and_hide_unexpected_errors() -> None:
    status, body = error_body(ModelUnavailableError("nlp2", "file x is missing"), "rid")
    assert status == 503
    assert body == {
        "error": {"code": "ModelUnavailable", "message": "model 'nlp2' is unavailable: file x is missing"},
        "request_id": "rid",
    }
    status, body = error_body(KeyError("secret/path/in/function.py"), "rid")
    assert status == 500 and body["error"]["code"] == InferenceError.code
    assert "secret" not in json.dumps(body)


def test_http_events_are_told_apart_from_direct_invokes() -> None:
    assert is_http_event({"requestContext": {"http": {"method": "POST"}}, "body": "{}"})
    assert not is_http_event(GOOD)
    assert not is_http_event({"requestContext": {"httpMethod": "POST"}})  # REST API (payload 1.0)
    assert not is_http_event([1, 2])


@pytest.mark.parametrize(
    ("raw_path", "stage", "expected"),
    [
        ("/develop/", "develop", "/"),
        ("/develop", "develop", "/"),
        ("/develop/models/", "develop", "/models"),
        ("/models", "develop", "/models"),  # an emulator that leaves the stage out
        ("/", "$default", "/"),
        ("/models/", "$default", "/models"),
        ("/developer", "develop", "/developer"),
    ],
)
def test_the_route_is_the_path_without_the_stage(raw_path: str, stage: str, expected: str) -> None:
    event = {"rawPath": raw_path, "requestContext": {"stage": stage, "http": {"method": "GET"}}}
    assert route_path(event) == expected
