"""Errors a caller may see, as types that carry their HTTP status and code (in the class line:
``class X(InferenceError, status=404, code="ModelNotFound")``).

Every layer raises these (or lets unexpected exceptions fly); ``error_body`` is the one place
that turns them into the API's error shape ``{"error": {"code", "message"}, "request_id"}``.
Messages are written for the caller: they name the model or field at fault and never include
a stack trace, a file path of the function or a bucket name. A value the caller sent appears only
as ``excerpt(value)`` (a bounded prefix), and ``error_body`` cuts any message at
``MAX_MESSAGE_CHARS``: a 200,000-character model_type once came back whole in a 404 body and in
the log line that recorded it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_MESSAGE_CHARS = 500  # an error body stays well under 1 KB whatever the request held
EXCERPT_CHARS = 40


def excerpt(value: str, limit: int = EXCERPT_CHARS) -> str:
    """``value`` quoted for a message, at most ``limit`` characters of quote, its length if cut.

    ``repr`` escapes control characters and lone surrogates, so the message is printable and
    encodes as UTF-8 (a lone surrogate does not); the prefix shrinks until its escaped form fits,
    since one character can take ten to escape.
    """
    shown = value[:limit]
    while len(repr(shown)) > limit + 2:
        shown = shown[:-1]
    if len(shown) == len(value):
        return repr(value)
    return f"{shown!r}... ({len(value)} characters)"


def clip(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``message`` cut to ``limit`` characters (the backstop for messages built from input)."""
    return message if len(message) <= limit else message[: limit - 3] + "..."


class InferenceError(Exception):
    """Base of the errors that map to a deliberate HTTP response."""

    status = 500
    code = "InternalError"

    def __init_subclass__(cls, *, status: int | None = None, code: str | None = None) -> None:
        super().__init_subclass__()
        cls.status = cls.status if status is None else status
        cls.code = cls.code if code is None else code

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequestError(InferenceError, status=400, code="BadRequest"):
    """The request is not JSON, not an object, or a field is missing, mistyped or empty."""


class ModelNotFoundError(InferenceError, status=404, code="ModelNotFound"):
    """The model_type is not in the manifest; the message lists the ones that are."""

    def __init__(self, model_type: str, known: Iterable[str]) -> None:
        names = ", ".join(sorted(known)) or "none"
        super().__init__(f"unknown model_type {excerpt(model_type)}; known model types: {names}")
        self.model_type = model_type
        self.known = tuple(sorted(known))


class RouteNotFoundError(InferenceError, status=404, code="RouteNotFound"):
    """No route for this method and path (only ``POST /`` and ``GET /models`` exist)."""


class PayloadTooLargeError(InferenceError, status=413, code="PayloadTooLarge"):
    """The request exceeds one of the request limits; the message names the limit and its setting.

    ``what`` says what was measured ("the context has 120000 characters"); the message adds
    "; the limit is <limit> (<SETTING>)" so a caller knows both the number and what to ask for.
    """

    def __init__(self, what: str, limit: int, setting: str) -> None:
        super().__init__(f"{what}; the limit is {limit} ({setting})")
        self.limit = limit
        self.setting = setting


class ModelUnavailableError(InferenceError, status=503, code="ModelUnavailable"):
    """The model's files are missing, incomplete or fail their checksum (or cannot be loaded)."""

    def __init__(self, model_type: str, reason: str) -> None:
        super().__init__(f"model {excerpt(model_type)} is unavailable: {reason}")
        self.model_type = model_type
        self.reason = reason


class ServiceUnavailableError(InferenceError, status=503, code="ServiceUnavailable"):
    """Nothing can be served: the environment could not initialise (configuration, store), or
    the store's manifest was never read (``GET /models`` has nothing to list)."""


GENERIC_MESSAGE = "internal error; see the function's logs for this request_id"


def error_body(error: BaseException, request_id: str) -> tuple[int, dict[str, Any]]:
    """(status, body) for any exception: deliberate ones say why, others only that it failed."""
    if isinstance(error, InferenceError):
        status, code, message = error.status, error.code, error.message
    else:
        status, code, message = 500, InferenceError.code, GENERIC_MESSAGE
    return status, {"error": {"code": code, "message": clip(message)}, "request_id": request_id}
