"""The authorizers' pure parts (no Docker): state parsing, SigV4 clock and scope, JWT inputs, the client."""

from __future__ import annotations

import datetime as dt

import botocore.auth
import pytest
from botocore.credentials import Credentials

from harness.api_auth import ApiAuth
from harness.errors import HarnessError
from harness.localcloud.apigw.jwt_verify import (
    JwtConfiguration,
    JwtVerifier,
    TokenRejectedError,
    bearer_token,
    event_claims,
)
from harness.localcloud.apigw.sigv4 import SignatureError, verify
from harness.localcloud.deployed import parse_state
from harness.localcloud.httpmsg import HttpRequest

from .tfstate import StackState

URL = "http://127.0.0.1:4566/_aws/execute-api/api1/develop/"
PATH = "/_aws/execute-api/api1/develop/"


def _signed(auth: ApiAuth, body: bytes = b"{}") -> HttpRequest:
    headers = auth.headers("POST", URL, body, {"Content-Type": "application/json"})
    return HttpRequest("POST", PATH, "", [*headers.items(), ("Host", "127.0.0.1:4566")], body)


def _iam(region: str = "us-east-1", secret: str = "test") -> ApiAuth:
    return ApiAuth("AWS_IAM", region, credentials=Credentials("test", secret))


def _verify(request: HttpRequest) -> object:
    return verify(request, "test", "test", "us-east-1", "123456789012")


def test_state_routes_carry_authorization_and_jwt_authorizers() -> None:
    stack = StackState().http_api("a1").jwt_authorizer("a1", "au1", "https://issuer.example", ["x", "y"])
    stack.route("a1", "POST /", "i1", authorization="JWT", authorizer_id="au1")
    stack.route("a1", "GET /models", "i1")
    deployment = parse_state(stack.document(1))
    by_key = {route.route_key: route for route in deployment.routes}
    assert (by_key["POST /"].authorization_type, by_key["POST /"].authorizer_id) == ("JWT", "au1")
    assert (by_key["GET /models"].authorization_type, by_key["GET /models"].authorizer_id) == ("NONE", "")
    authorizer = deployment.authorizers["au1"]
    assert authorizer.jwt_issuer == "https://issuer.example" and authorizer.jwt_audiences == ("x", "y")
    assert authorizer.identity_sources == ("$request.header.Authorization",)


def test_sigv4_accepts_within_five_minutes_and_refuses_beyond(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _verify(_signed(_iam()))
    real_now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now - dt.timedelta(minutes=4))
    assert _verify(_signed(_iam()))
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now - dt.timedelta(minutes=6))
    with pytest.raises(SignatureError) as expired:
        _verify(_signed(_iam()))
    assert expired.value.message.startswith("Signature expired:")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: real_now + dt.timedelta(minutes=6))
    with pytest.raises(SignatureError) as future:
        _verify(_signed(_iam()))
    assert future.value.message.startswith("Signature not yet current:")


def test_sigv4_scope_key_and_header_errors() -> None:
    with pytest.raises(SignatureError, match="region") as region:
        _verify(_signed(_iam(region="eu-west-1")))
    assert region.value.message == "Credential should be scoped to a valid region."
    other_key = ApiAuth("AWS_IAM", credentials=Credentials("AKIAOTHER", "test"))
    with pytest.raises(SignatureError) as unknown:
        _verify(_signed(other_key))
    assert unknown.value.message == "The security token included in the request is invalid."
    with pytest.raises(SignatureError) as missing:
        _verify(HttpRequest("POST", PATH, "", [], b"{}"))
    assert missing.value.message is None  # plain Forbidden
    request = _signed(_iam())
    moved = HttpRequest("POST", PATH + "other", "", request.headers, request.body)
    with pytest.raises(SignatureError, match="signature mismatch"):
        _verify(moved)


def test_jwt_inputs() -> None:
    assert bearer_token("Bearer abc") == "abc" and bearer_token("abc") == "abc"
    for header in (None, "", "Bearer ", "bearer  "):
        with pytest.raises(TokenRejectedError):
            bearer_token(header)
    assert event_claims({"aud": ["a", "b"], "exp": 5, "sub": "u"}) == {"aud": "[a b]", "exp": "5", "sub": "u"}


@pytest.mark.parametrize(
    "issuer",
    [
        "https://issuer.example.com",
        "http://localhost:8080",
        "http://10.0.0.1",
        "file:///etc",
        "http://127.0.0.1.nip.io",
    ],
)
def test_jwks_off_this_machine_is_refused_without_a_request(issuer: str) -> None:
    with pytest.raises(TokenRejectedError, match=r"not on 127\.0\.0\.1"):
        JwtVerifier().verify(JwtConfiguration(issuer, ("aud",)), "Bearer a.b.c")


def test_client_auth_follows_the_stack_output(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ApiAuth.for_stack({}, "local").headers("GET", URL, b"", {}) == {}
    monkeypatch.delenv("TOKEN", raising=False)
    with pytest.raises(HarnessError, match="--token or set TOKEN"):
        ApiAuth.for_stack({"api_authorization": "JWT"}, "local")
    monkeypatch.setenv("TOKEN", "t0k")
    jwt_auth = ApiAuth.for_stack({"api_authorization": "JWT"}, "local")
    assert jwt_auth.headers("GET", URL, b"", {}) == {"Authorization": "Bearer t0k"}
    signed = ApiAuth.for_stack({"api_authorization": "AWS_IAM", "region": "us-east-1"}, "local")
    assert "/us-east-1/execute-api/aws4_request" in signed.headers("GET", URL, b"", {})["Authorization"]


def test_deploy_remembers_the_authorization_inputs(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.deploy import _authorization_variables

    for name in ("api_authorization", "jwt_issuer", "jwt_audiences"):
        monkeypatch.delenv(f"TF_VAR_{name}", raising=False)
    assert _authorization_variables({"image_uri": "x"}) == {}
    saved = {"api_authorization": "JWT", "jwt_issuer": "https://i", "jwt_audiences": ["a"]}
    assert _authorization_variables(saved) == saved  # a later publish keeps them
    monkeypatch.setenv("TF_VAR_api_authorization", "AWS_IAM")
    monkeypatch.setenv("TF_VAR_jwt_audiences", '["b", "c"]')
    assert _authorization_variables(saved) == {
        **saved,
        "api_authorization": "AWS_IAM",
        "jwt_audiences": ["b", "c"],
    }
    monkeypatch.setenv("TF_VAR_jwt_audiences", "b")
    with pytest.raises(HarnessError, match="JSON list"):
        _authorization_variables(saved)
