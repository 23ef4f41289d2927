"""API Gateway's own answers, as HTTP APIs send them (JSON ``{"message": ...}`` bodies)."""

from __future__ import annotations

from harness.localcloud.httpmsg import HttpResponse


def _canned(status: int, message: str, request_id: str) -> HttpResponse:
    return HttpResponse.json(status, {"message": message}, [("apigw-requestid", request_id)])


def not_found(request_id: str) -> HttpResponse:
    """No API, stage or route matches."""
    return _canned(404, "Not Found", request_id)


def payload_too_large(request_id: str) -> HttpResponse:
    """Over API Gateway's 10 MB, or over the 6 MB Lambda accepts in one event."""
    return _canned(413, "Request Entity Too Large", request_id)


def too_many_requests(request_id: str) -> HttpResponse:
    """The function was throttled (reserved concurrency or the instance's cap in use)."""
    return _canned(429, "Too Many Requests", request_id)


def bad_gateway(request_id: str) -> HttpResponse:
    """The function failed, answered something that is not a 2.0 response, or could not run."""
    return _canned(502, "Internal Server Error", request_id)


def service_unavailable(request_id: str) -> HttpResponse:
    """No execution environment could be started (engine down, start timeout)."""
    return _canned(503, "Service Unavailable", request_id)


def gateway_timeout(request_id: str) -> HttpResponse:
    """The integration did not answer within its timeout (at most 30 s)."""
    return _canned(504, "Gateway Timeout", request_id)


def forbidden(request_id: str, message: str = "Forbidden") -> HttpResponse:
    """An AWS_IAM route without a valid SigV4 signature (the message says what is wrong, as AWS's)."""
    return _canned(403, message, request_id)


def unauthorized(request_id: str) -> HttpResponse:
    """A JWT route without a valid token: missing, expired, wrongly signed, wrong issuer or audience."""
    response = _canned(401, "Unauthorized", request_id)
    response.headers.append(("www-authenticate", 'Bearer error="invalid_token"'))
    return response


def authorizer_failed(request_id: str) -> HttpResponse:
    """The route's authorizer cannot run (a Lambda authorizer, or one missing from the state)."""
    return _canned(500, "Internal Server Error", request_id)
