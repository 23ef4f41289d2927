"""A corpus of pathological requests, sent through a deployed endpoint by test_variants.py.

Each case is what a caller can put on the wire (method, path, headers, raw body bytes) and the
status the function must answer with the default request limits (function/inference/config.py).
Several once answered 500 or ran past API Gateway's 30 s: deep nesting, a 5,000-digit integer,
lone surrogates, a 200,000-character model_type echoed whole, 99,000 characters of punctuation
with a long question, and a 253-380-token question that made the tokenizer panic.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace

from inference import qa
from inference.config import RequestLimits

from harness.bench import worst_case
from harness.example import CAR_QUESTION

GOOD = {"model_type": "nlp1", "question": CAR_QUESTION, "context": "Karl Benz, 1886."}
LONG_QUESTION = " ".join(["why"] * 120)  # 120 tokens: under the 128-token limit
# The worst accepted request, as harness.bench.worst_case builds it for the limits' sizing: a
# 128-token question and exactly MAX_WINDOWS (48) full windows; and the same for one window more.
_LIMITS = RequestLimits()
_TOKENIZER = qa.load_tokenizer(worst_case.nlp1_folder())
WORST = worst_case.worst_accepted_request(_TOKENIZER, _LIMITS)
ONE_WINDOW_OVER = worst_case.worst_accepted_request(
    _TOKENIZER, replace(_LIMITS, max_windows=_LIMITS.max_windows + 1)
)
# An error body is at most MAX_MESSAGE_CHARS (500) of message, each at worst an escaped pair.
MAX_ERROR_BODY_BYTES = 12 * 500 + 200


@dataclass(frozen=True)
class Case:
    name: str
    body: bytes | None
    status: int
    method: str = "POST"
    path: str = ""  # after the stage URL, which ends in "/"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    # Who answers: the function (the project's error shape) or API Gateway itself, which answers a
    # request matching none of the stage's routes (POST /, GET /models) with 404 and
    # {"message": "Not Found"} without invoking the function, as AWS does.
    answered_by: str = "function"


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


def _with(**fields: object) -> bytes:
    return _json({**GOOD, **fields})


def _raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _escaped(model_type: str = "nlp1", question: str = "q", context: str = "c") -> bytes:
    """A request written as JSON source text, so that the fields' ``\\u`` escapes (lone or
    reversed surrogates) reach the function's parser exactly as written here."""
    return _raw(f'{{"model_type": "{model_type}", "question": "{question}", "context": "{context}"}}')


CASES: tuple[Case, ...] = (
    # --- bodies that are not JSON objects ----------------------------------------------------------
    Case("empty body", b"", 400),
    Case("no body", None, 400),
    Case("whitespace", b"   \n\t ", 400),
    Case("truncated object", b'{"model_type": "nlp1", "question": ', 400),
    Case("single quotes", b"{'model_type': 'nlp1'}", 400),
    Case("trailing comma", b'{"model_type": "nlp1",}', 400),
    Case("json null", b"null", 400),
    Case("json true", b"true", 400),
    Case("json number", b"42", 400),
    Case("json string", b'"nlp1"', 400),
    Case("json array of the request", _json([GOOD]), 400),
    Case("NaN", b"NaN", 400),
    Case("deep array 100k", b"[" * 100_000 + b"]" * 100_000, 400),
    Case("deep object 50k", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400),
    Case("unclosed deep array", b"[" * 200_000, 400),
    Case("deep array inside a field", _raw('{"model_type": ' + "[" * 30_000 + "]" * 30_000 + "}"), 400),
    Case("5000-digit integer", _raw('{"model_type": ' + "9" * 5000 + "}"), 400),
    Case("100k-digit integer in question", _raw('{"question": ' + "1" * 100_000 + "}"), 400),
    Case("huge exponent float", _raw('{"model_type": 1e999999, "question": "q", "context": "c"}'), 400),
    Case("invalid utf-8 bytes", b'{"model_type": "\xff\xfe"}', 400),
    Case(
        "utf-8 encoded surrogate bytes",
        b'{"model_type": "nlp1", "question": "\xed\xa0\x80", "context": "c"}',
        400,
    ),
    Case("nul bytes", b"\x00" * 1000, 400),
    Case("random binary", bytes(range(256)) * 40, 400),
    Case("utf-16 body", _json(GOOD).decode().encode("utf-16"), 400),
    Case("bom then json", b"\xef\xbb\xbf" + _json(GOOD), 400),
    Case(
        "duplicate keys, last one wrong",
        b'{"model_type": "nlp1", "question": "q", "context": "c", "context": 1}',
        400,
    ),
    # --- fields missing, mistyped, empty -------------------------------------------------------------
    Case("empty object", b"{}", 400),
    Case("model_type only", _json({"model_type": "nlp1"}), 400),
    Case("question is a number", _with(question=7), 400),
    Case("context is an array", _with(context=["Karl Benz"]), 400),
    Case("model_type is null", _with(model_type=None), 400),
    Case("model_type is an object", _with(model_type={"name": "nlp1"}), 400),
    Case("question is whitespace", _with(question=" \t\n "), 400),
    Case("context is empty", _with(context=""), 400),
    Case("question of control characters", _with(question="\x00\x01\x02\x1b[31m"), 200),
    # --- lone surrogates (JSON escapes decode to them) ---------------------------------------------------
    Case("lone high surrogate in question", _escaped(question="\\ud800"), 400),
    Case("lone low surrogate in context", _escaped(context="a\\udfffb"), 400),
    Case("lone surrogate in model_type", _escaped(model_type="\\udbff"), 400),
    Case("reversed surrogate pair", _escaped(question="\\udc00\\ud800"), 400),
    # --- unknown models, echoed as a bounded prefix ------------------------------------------------------
    Case("unknown model", _with(model_type="nlp3"), 404),
    Case("200k-character model_type", _with(model_type="m" * 200_000), 404),
    Case("model_type of escapes", _with(model_type="\U0001134e" * 5000), 404),
    Case("model_type with a newline and quotes", _with(model_type='nlp1"\n{"injected": true}'), 404),
    Case("model_type of control characters", _with(model_type="\x07\x08\x1b" * 1000), 404),
    # --- limits: 413 naming the setting ------------------------------------------------------------------
    Case("context over MAX_CONTEXT_CHARS", _with(context="x" * 100_001), 413),
    Case("question over MAX_QUESTION_CHARS", _with(question="q" * 2001), 413),
    Case("question over MAX_QUESTION_TOKENS", _with(question=" ".join(["why"] * 129)), 413),
    Case(
        "question in the tokenizer's panic range",
        _with(question=" ".join(["why"] * 300), context="! " * 800),
        413,
    ),
    Case("question longer than a window", _with(question=" ".join(["why"] * 450)), 413),
    Case(
        "99k punctuation with a 120-token question", _with(question=LONG_QUESTION, context="!" * 99_000), 413
    ),
    Case("99k CJK with a 120-token question", _with(question=LONG_QUESTION, context="\u6f22" * 99_000), 413),
    Case(
        "one window over MAX_WINDOWS",
        _with(question=ONE_WINDOW_OVER.question, context=ONE_WINDOW_OVER.context),
        413,
    ),
    # --- accepted, however odd ---------------------------------------------------------------------
    Case("the worst accepted request", _with(question=WORST.question, context=WORST.context), 200),
    Case("extra fields are ignored", _json({**GOOD, "extra": [1, {"a": None}]}), 200),
    Case(
        "emoji and astral characters",
        _with(question="When? \U0001f697", context="\U0001f697 Karl Benz, 1886."),
        200,
    ),
    Case("zero-width context", _with(context="\u200b\u200b\u200b"), 400),
    Case("control characters in context", _with(context="Karl Benz\x00\x01, 1886.\x7f"), 200),
    Case(
        "escaped surrogate pair is fine",
        _escaped(question="When? \\ud83d\\ude97", context="Karl Benz, 1886."),
        200,
    ),
    Case("no content type", _json(GOOD), 200, headers={}),
    Case("wrong content type", _json(GOOD), 200, headers={"Content-Type": "text/plain; charset=latin-1"}),
    Case("base64-looking body", base64.b64encode(_json(GOOD)), 400),
    Case("huge header", _json(GOOD), 200, headers={"Content-Type": "application/json", "X-Junk": "j" * 7000}),
    # --- routes --------------------------------------------------------------------------------------------
    Case("GET on the answer route", None, 404, method="GET", answered_by="gateway"),
    Case("DELETE", _json(GOOD), 404, method="DELETE", answered_by="gateway"),
    Case("unknown route", _json(GOOD), 404, path="nothing", answered_by="gateway"),
    Case("long unknown route", _json(GOOD), 404, path="p" * 3000, answered_by="gateway"),
    Case("percent-encoded route", _json(GOOD), 404, path="%00%ff%2e%2e", answered_by="gateway"),
    Case("POST on models", _json(GOOD), 404, path="models", answered_by="gateway"),
)
