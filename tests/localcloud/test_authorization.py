"""Route authorization through the gateway: AWS_IAM (SigV4) and JWT, refused as API Gateway refuses.

Requests are signed by the harness's own client (``harness.api_auth``: botocore's SigV4Auth) and
tokens verified against a JWKS the test serves on 127.0.0.1 with a key it generates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests
from botocore.credentials import Credentials

from harness.api_auth import ApiAuth
from harness.localcloud.apigw.sigv4 import SIGNATURE_DOES_NOT_MATCH

from .conftest import Cloud
from .jwks import Issuer, new_key, serve_issuer
from .tfstate import StackState

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

FUNCTION = "auth-echo"
IAM_API = "iamapi"
JWT_API = "jwtapi"
AUDIENCE = "inference"


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serve_issuer() as served:
        yield served


@pytest.fixture
def apis(deployed: Cloud, issuer: Issuer) -> Cloud:
    stack = StackState().function(FUNCTION, deployed.image_uri, memory=128, timeout=10)
    stack.http_api(IAM_API).stage(IAM_API, "develop").integration(IAM_API, "iiam", FUNCTION)
    stack.route(IAM_API, "POST /", "iiam", authorization="AWS_IAM")
    stack.http_api(JWT_API).stage(JWT_API, "develop").integration(JWT_API, "ijwt", FUNCTION)
    stack.jwt_authorizer(JWT_API, "authjwt", issuer.url, [AUDIENCE, "other-client"])
    stack.route(JWT_API, "POST /", "ijwt", authorization="JWT", authorizer_id="authjwt")
    deployed.deploy("auth", stack)
    return deployed


def _url(cloud: Cloud, api_id: str) -> str:
    return f"{cloud.url}/_aws/execute-api/{api_id}/develop/"


BODY = json.dumps({"marker": "auth"}).encode()


def _iam() -> ApiAuth:
    return ApiAuth.for_stack({"api_authorization": "AWS_IAM", "region": "us-east-1"}, "local")


def test_sigv4_signed_request_is_accepted(apis: Cloud) -> None:
    response = _iam().request("POST", _url(apis, IAM_API), BODY, timeout=60)
    assert response.status_code == 200, response.text
    event = response.json()["event"]
    assert event["requestContext"]["authorizer"]["iam"]["accessKey"] == "test"
    assert event["requestContext"]["authorizer"]["iam"]["accountId"] == "123456789012"
    assert json.loads(event["body"]) == {"marker": "auth"}


def test_unsigned_request_is_forbidden(apis: Cloud) -> None:
    response = requests.post(_url(apis, IAM_API), data=BODY, timeout=60)
    assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})
    bearer = {"Authorization": "Bearer x"}
    not_sigv4 = requests.post(_url(apis, IAM_API), data=BODY, headers=bearer, timeout=60)
    assert (not_sigv4.status_code, not_sigv4.json()) == (403, {"message": "Forbidden"})


def test_bad_signature_is_forbidden_with_aws_message(apis: Cloud) -> None:
    url = _url(apis, IAM_API)
    headers = _iam().headers("POST", url, BODY, {"Content-Type": "application/json"})
    tampered = requests.post(url, data=BODY.replace(b"auth", b"evil"), headers=headers, timeout=60)
    assert (tampered.status_code, tampered.json()) == (403, {"message": SIGNATURE_DOES_NOT_MATCH})
    wrong_secret = ApiAuth("AWS_IAM", "us-east-1", credentials=Credentials("test", "not-the-secret"))
    response = wrong_secret.request("POST", url, BODY, timeout=60)
    assert (response.status_code, response.json()) == (403, {"message": SIGNATURE_DOES_NOT_MATCH})


def _jwt_post(cloud: Cloud, token: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(_url(cloud, JWT_API), data=BODY, headers=headers, timeout=60)


def test_jwt_valid_token_is_accepted(apis: Cloud, issuer: Issuer) -> None:
    response = ApiAuth("JWT", token=issuer.token(scope="read")).request(
        "POST", _url(apis, JWT_API), BODY, timeout=60
    )
    assert response.status_code == 200, response.text
    claims = response.json()["event"]["requestContext"]["authorizer"]["jwt"]["claims"]
    assert claims["sub"] == "user-1" and claims["iss"] == issuer.url and claims["aud"] == AUDIENCE
    second_audience = _jwt_post(apis, issuer.token(audience=["someone-else", "other-client"]))
    assert second_audience.status_code == 200, second_audience.text


@pytest.mark.parametrize(
    "case",
    ["missing", "empty", "garbage", "expired", "wrong signature", "wrong audience", "wrong issuer"],
)
def test_jwt_refusals_are_401(apis: Cloud, issuer: Issuer, case: str) -> None:
    token = {
        "missing": None,
        "empty": "",
        "garbage": "not.a.jwt",
        "expired": issuer.token(expires_in=-60),
        "wrong signature": issuer.token(key=new_key()),  # same kid, another key
        "wrong audience": issuer.token(audience="someone-else"),
        "wrong issuer": issuer.token(iss="http://127.0.0.1:1/other"),
    }[case]
    response = _jwt_post(apis, token)
    assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    assert response.headers["www-authenticate"].startswith("Bearer")
