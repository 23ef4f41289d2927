"""Route authorization, as HTTP APIs apply it after route selection and before the integration.

One call per request (``RouteAuthorizers.authorize``): ``NONE`` passes, ``AWS_IAM`` needs a valid
SigV4 signature by the local cloud's credentials (``sigv4``), ``JWT`` a token the route's
authorizer accepts (``jwt_verify``). A refusal is API Gateway's own answer (403 / 401, the function
never runs); an acceptance adds what AWS adds to the event's ``requestContext.authorizer``.
Lambda (``CUSTOM``) authorizers are not run locally: such routes answer 500 and the log says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.localcloud.apigw import errors
from harness.localcloud.apigw.jwt_verify import (
    JwtConfiguration,
    JwtVerifier,
    TokenRejectedError,
    event_claims,
)
from harness.localcloud.apigw.sigv4 import SignatureError, verify
from harness.localcloud.deployed import Deployment, Route
from harness.localcloud.httpmsg import HttpRequest, HttpResponse

DEFAULT_IDENTITY_SOURCE = "$request.header.Authorization"
HEADER_SOURCE = "$request.header."


@dataclass(frozen=True)
class Decision:
    """``refusal`` is None when the request may go on; ``reason`` is for the gateway's log."""

    refusal: HttpResponse | None
    reason: str
    authorizer_context: dict[str, Any] | None = None


class RouteAuthorizers:
    def __init__(self, account_id: str, region: str, credentials: dict[str, str]) -> None:
        self._account_id = account_id
        self._region = region
        self._access_key = credentials["AWS_ACCESS_KEY_ID"]
        self._secret_key = credentials["AWS_SECRET_ACCESS_KEY"]
        self._jwt = JwtVerifier()

    def authorize(
        self, request: HttpRequest, route: Route, deployment: Deployment, request_id: str
    ) -> Decision:
        kind = route.authorization_type.upper()
        if kind == "NONE":
            return Decision(None, "no authorization")
        if kind == "AWS_IAM":
            return self._sigv4(request, request_id)
        if kind == "JWT":
            return self._jwt_token(request, route, deployment, request_id)
        return Decision(errors.authorizer_failed(request_id), f"{kind} authorizers are not run locally")

    def _sigv4(self, request: HttpRequest, request_id: str) -> Decision:
        try:
            caller = verify(request, self._access_key, self._secret_key, self._region, self._account_id)
        except SignatureError as exc:
            return Decision(
                errors.forbidden(request_id, exc.message or "Forbidden"), f"AWS_IAM refused: {exc}"
            )
        return Decision(None, f"AWS_IAM {caller.access_key}", {"iam": caller.event_context()})

    def _jwt_token(
        self, request: HttpRequest, route: Route, deployment: Deployment, request_id: str
    ) -> Decision:
        authorizer = deployment.authorizers.get(route.authorizer_id)
        if authorizer is None or authorizer.authorizer_type != "JWT":
            return Decision(
                errors.authorizer_failed(request_id),
                f"route {route.route_key} has no JWT authorizer {route.authorizer_id!r} in the state",
            )
        source = (authorizer.identity_sources or (DEFAULT_IDENTITY_SOURCE,))[0]
        if not source.startswith(HEADER_SOURCE):
            return Decision(
                errors.authorizer_failed(request_id), f"identity source {source} is not run locally"
            )
        config = JwtConfiguration(authorizer.jwt_issuer, authorizer.jwt_audiences)
        try:
            claims = self._jwt.verify(config, request.header(source[len(HEADER_SOURCE) :]))
        except TokenRejectedError as exc:
            return Decision(errors.unauthorized(request_id), f"JWT refused: {exc}")
        subject = str(claims.get("sub", ""))[:100]
        return Decision(None, f"JWT sub={subject}", {"jwt": {"claims": event_claims(claims), "scopes": None}})
