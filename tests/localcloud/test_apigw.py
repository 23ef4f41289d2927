"""API Gateway v2 through the gateway: routes, stages, 2.0 events, response mapping, its own errors."""

from __future__ import annotations

import base64
import http.client
import json
import re

import pytest

from .conftest import Cloud
from .tfstate import StackState, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

STAGED_API = "stagedapi"  # stage "develop" only
DEFAULT_API = "defaultapi"  # stage "$default" only, no $default route
FUNCTION = "apigw-echo"


@pytest.fixture
def apis(deployed: Cloud) -> Cloud:
    stack = StackState().function(FUNCTION, deployed.image_uri, memory=128, timeout=10)
    stack.http_api(STAGED_API).stage(STAGED_API, "develop").integration(STAGED_API, "i1", FUNCTION)
    for key in ("POST /echo", "GET /items/{id}", "GET /items/special", "ANY /proxy/{rest+}", "$default"):
        stack.route(STAGED_API, key, "i1")
    stack.http_api(DEFAULT_API).stage(DEFAULT_API, "$default").integration(
        DEFAULT_API, "i2", FUNCTION, uri_style="invoke"
    )
    stack.route(DEFAULT_API, "GET /only", "i2")
    deployed.deploy("apigw", stack)
    return deployed


def _event(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return response.json()["event"]


def test_event_shape(apis: Cloud) -> None:
    response = apis.api(
        "POST",
        STAGED_API,
        "/develop/echo?b=2&a=1&a=3",
        headers={"X-Custom": "v1", "Cookie": "c1=1; c2=2", "Content-Type": "application/json"},
        data=json.dumps({"marker": "shape"}),
    )
    assert re.fullmatch(r"[A-Za-z0-9+/=]{16}", response.headers["apigw-requestid"])
    event = _event(response)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "POST /echo"
    assert event["rawPath"] == "/develop/echo"  # a named stage stays in rawPath, as in AWS
    assert event["rawQueryString"] == "b=2&a=1&a=3"
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2"}
    assert event["cookies"] == ["c1=1", "c2=2"]
    assert event["headers"]["x-custom"] == "v1"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/develop/echo",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": event["headers"]["user-agent"],
    }
    assert context["apiId"] == STAGED_API and context["stage"] == "develop"
    assert context["accountId"] == "123456789012" and context["routeKey"] == "POST /echo"
    assert context["requestId"] == response.headers["apigw-requestid"]
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int)
    assert json.loads(event["body"]) == {"marker": "shape"}
    assert event["isBase64Encoded"] is False
    assert "pathParameters" not in event


def test_route_selection(apis: Cloud) -> None:
    event = _event(apis.api("GET", STAGED_API, "/develop/items/42"))
    assert (event["routeKey"], event["pathParameters"]) == ("GET /items/{id}", {"id": "42"})
    event = _event(apis.api("GET", STAGED_API, "/develop/items/special"))
    assert event["routeKey"] == "GET /items/special"  # a literal segment beats a parameter
    event = _event(apis.api("DELETE", STAGED_API, "/develop/proxy/a/b/c"))
    assert (event["routeKey"], event["pathParameters"]) == ("ANY /proxy/{rest+}", {"rest": "a/b/c"})
    event = _event(apis.api("PUT", STAGED_API, "/develop/items/42"))  # no PUT route: $default
    assert event["routeKey"] == "$default"


def test_stages_and_not_found(apis: Cloud) -> None:
    event = _event(apis.api("GET", DEFAULT_API, "/only"))
    assert (event["rawPath"], event["requestContext"]["stage"]) == ("/only", "$default")
    not_found = [
        apis.api("GET", DEFAULT_API, "/other"),  # no route, no $default route
        apis.api("GET", DEFAULT_API, "/develop/only"),  # stage of another API
        apis.api("POST", STAGED_API, "/prod/echo"),  # no such stage, no $default stage
        apis.api("GET", "nosuchapi", "/develop/echo"),  # nothing deployed under that id
    ]
    for response in not_found:
        assert (response.status_code, response.json()) == (404, {"message": "Not Found"})


def test_binary_request_is_base64(apis: Cloud) -> None:
    payload = bytes(range(256))
    event = _event(
        apis.api(
            "POST",
            STAGED_API,
            "/develop/echo",
            data=payload,
            headers={"Content-Type": "application/octet-stream"},
        )
    )
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == payload


@pytest.mark.parametrize(
    ("request_body", "status", "content", "content_type"),
    [
        ({"action": "bare", "value": "hello"}, 200, b"hello", "application/json"),
        ({"action": "bare", "value": {"a": 1}}, 200, b'{"a": 1}', "application/json"),
        ({"action": "bare", "value": [1, 2]}, 200, b"[1, 2]", "application/json"),
        ({"action": "bare", "value": 7}, 200, b"7", "application/json"),
        ({"action": "base64"}, 200, bytes(range(256)), "application/octet-stream"),
        (
            {
                "action": "respond",
                "response": {"statusCode": 201, "headers": {"x-made": "yes"}, "body": "made"},
            },
            201,
            b"made",
            "application/json",
        ),
    ],
)
def test_response_mapping(
    apis: Cloud, request_body: dict, status: int, content: bytes, content_type: str
) -> None:
    response = apis.api("POST", STAGED_API, "/develop/echo", json=request_body)
    assert response.status_code == status
    assert response.content == content
    assert response.headers["Content-Type"] == content_type


def test_structured_response_cookies_and_headers(apis: Cloud) -> None:
    response = apis.api(
        "POST",
        STAGED_API,
        "/develop/echo",
        json={
            "action": "respond",
            "response": {
                "statusCode": 302,
                "headers": {"Location": "/elsewhere", "X-Number": 5},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": "",
            },
        },
        allow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/elsewhere" and response.headers["X-Number"] == "5"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1; Path=/", "b=2"]


@pytest.mark.parametrize(
    "response_value",
    [
        {"statusCode": "abc", "body": "x"},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "body": "%%%", "isBase64Encoded": True},
    ],
)
def test_malformed_response_is_502(apis: Cloud, response_value: dict) -> None:
    response = apis.api(
        "POST", STAGED_API, "/develop/echo", json={"action": "respond", "response": response_value}
    )
    assert (response.status_code, response.json()) == (502, {"message": "Internal Server Error"})


def test_function_error_is_502_and_next_request_works(apis: Cloud) -> None:
    failed = apis.api("POST", STAGED_API, "/develop/echo", json={"action": "raise"})
    assert (failed.status_code, failed.json()) == (502, {"message": "Internal Server Error"})
    died = apis.api("POST", STAGED_API, "/develop/echo", json={"action": "exit"})
    assert died.status_code == 502
    assert apis.api("POST", STAGED_API, "/develop/echo", json={}).status_code == 200


def test_payload_limits(apis: Cloud) -> None:
    over_lambda = apis.api(
        "POST",
        STAGED_API,
        "/develop/echo",
        data=b"x" * (6 * 1024 * 1024 + 1),
        headers={"Content-Type": "text/plain"},
    )
    assert (over_lambda.status_code, over_lambda.json()) == (413, {"message": "Request Entity Too Large"})
    # Over API Gateway's own 10 MB: answered from the headers alone, the body is never read.
    connection = http.client.HTTPConnection("127.0.0.1", apis.settings.port, timeout=30)
    try:
        connection.putrequest("POST", f"/_aws/execute-api/{STAGED_API}/develop/echo")
        connection.putheader("Content-Length", str(11 * 1024 * 1024))
        connection.endheaders()
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (
            413,
            {"message": "Request Entity Too Large"},
        )
    finally:
        connection.close()
    big_answer = apis.api(
        "POST", STAGED_API, "/develop/echo", json={"action": "big", "size": 7 * 1024 * 1024}
    )
    assert big_answer.status_code == 502  # over Lambda's 6 MB response limit


def test_timeouts(deployed: Cloud) -> None:
    """Function timeout -> function error -> 502; integration timeout (here 1.5 s) -> 504."""
    stack = StackState().function("apigw-slow", deployed.image_uri, memory=128, timeout=2)
    simple_api(stack, "slowapi", "apigw-slow", routes=("POST /slow",))
    stack.function("apigw-patient", deployed.image_uri, memory=128, timeout=20)
    simple_api(stack, "impatientapi", "apigw-patient", routes=("POST /slow",), timeout_ms=1500)
    deployed.deploy("timeouts", stack)

    first = deployed.api("POST", "slowapi", "/slow", json={"action": "echo"}).json()
    timed_out = deployed.api("POST", "slowapi", "/slow", json={"action": "sleep", "seconds": 5})
    assert (timed_out.status_code, timed_out.json()) == (502, {"message": "Internal Server Error"})
    after = deployed.api("POST", "slowapi", "/slow", json={"action": "echo"})
    assert after.status_code == 200
    assert after.json()["hostname"] != first["hostname"]  # the timed-out environment was replaced

    gateway_timeout = deployed.api("POST", "impatientapi", "/slow", json={"action": "sleep", "seconds": 4})
    assert (gateway_timeout.status_code, gateway_timeout.json()) == (504, {"message": "Gateway Timeout"})
    assert gateway_timeout.elapsed.total_seconds() < 3.5
