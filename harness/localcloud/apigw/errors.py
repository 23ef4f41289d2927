"""API Gateway's own answers, as HTTP APIs send them (JSON ``{"message": ...}`` bodies).

Each answer is a ``Canned`` (status, message, any extra header), called with the request's id
(and, for ``forbidden``, the message AWS gives for the signature at fault): one table of the
answers instead of a function per status.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.localcloud.httpmsg import HttpResponse


@dataclass(frozen=True)
class Canned:
    """One of the gateway's own answers: its status, its default message and extra headers."""

    status: int
    message: str
    headers: tuple[tuple[str, str], ...] = ()

    def __call__(self, request_id: str, message: str | None = None) -> HttpResponse:
        body = {"message": self.message if message is None else message}
        return HttpResponse.json(self.status, body, [("apigw-requestid", request_id), *self.headers])


#: No API, stage or route matches.
not_found = Canned(404, "Not Found")
#: Over API Gateway's 10 MB, or over the 6 MB Lambda accepts in one event.
payload_too_large = Canned(413, "Request Entity Too Large")
#: The function was throttled (reserved concurrency or the instance's cap in use).
too_many_requests = Canned(429, "Too Many Requests")
#: The function failed, answered something that is not a 2.0 response, or could not run.
bad_gateway = Canned(502, "Internal Server Error")
#: No execution environment could be started (engine down, start timeout).
service_unavailable = Canned(503, "Service Unavailable")
#: The integration did not answer within its timeout (at most 30 s).
gateway_timeout = Canned(504, "Gateway Timeout")
#: An AWS_IAM route without a valid SigV4 signature (the message says what is wrong, as AWS's).
forbidden = Canned(403, "Forbidden")
#: A JWT route without a valid token: missing, expired, wrongly signed, wrong issuer or audience.
unauthorized = Canned(401, "Unauthorized", (("www-authenticate", 'Bearer error="invalid_token"'),))
#: The route's authorizer cannot run (a Lambda authorizer, or one missing from the state).
authorizer_failed = Canned(500, "Internal Server Error")
