"""The function's S3 reader: signatures equal to botocore's, addressing, GETs against a real moto
server, connection reuse, retries and errors in botocore's shape."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotocoreCredentials
from inference.stores.s3 import _download_failure
from inference.stores.s3_reader import Credentials, S3Reader, S3RequestError, sigv4_headers

NOW = datetime(2026, 12, 2, 8, 30, 15, tzinfo=UTC)
KEYS = ("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")


def botocore_authorization(url: str, credentials: Credentials, region: str, headers: dict[str, str]) -> str:
    """What botocore's S3 signer puts in Authorization for the same GET at the same instant."""
    request = AWSRequest(method="GET", url=url, headers=dict(headers))
    signer = S3SigV4Auth(BotocoreCredentials(*KEYS, credentials.token), "s3", region)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        signer.add_auth(request)
    return request.headers["Authorization"]


@pytest.mark.parametrize("token", [None, "IQoJb3JpZ2luX2VjE//session+token="])
@pytest.mark.parametrize("range_header", [None, "bytes=8388608-16777215"])
@pytest.mark.parametrize(
    ("endpoint", "bucket", "key"),
    [
        (None, "models-bucket", "models/local--minilm/abc-onnx-int8-1234/model.onnx"),
        (None, "models.with.dots", "catalog/manifest.json"),
        ("http://127.0.0.1:4566", "models-bucket", "a key/with spaces+plus/ünï~code.json"),
    ],
)
def test_the_signature_is_botocores(
    endpoint: str | None, bucket: str, key: str, range_header: str | None, token: str | None
) -> None:
    credentials = Credentials(*KEYS, token)
    reader = S3Reader(credentials, "eu-west-1", endpoint)
    target = reader.target(bucket, key)
    extra = {"Range": range_header} if range_header else {}
    ours = sigv4_headers(credentials, "eu-west-1", target.host, target.path, extra, NOW)
    url = f"{target.scheme}://{target.host}{target.path}"
    theirs = botocore_authorization(url, credentials, "eu-west-1", extra)
    assert ours["authorization"] == theirs
    assert ours["x-amz-date"] == "20261202T083015Z"
    assert ("x-amz-security-token" in ours) == (token is not None)


def test_addressing_follows_the_endpoint_and_the_bucket_name() -> None:
    credentials = Credentials(*KEYS)
    aws = S3Reader(credentials, "us-east-1")
    assert aws.target("models-bucket", "a/b c.json").host == "models-bucket.s3.us-east-1.amazonaws.com"
    assert aws.target("models-bucket", "a/b c.json").path == "/a/b%20c.json"
    dotted = aws.target("my.models", "k")  # a virtual host with dots would not match the certificate
    assert (dotted.scheme, dotted.host, dotted.path) == (
        "https",
        "s3.us-east-1.amazonaws.com",
        "/my.models/k",
    )
    assert S3Reader(credentials, "cn-north-1").target("b-1", "k").host == "b-1.s3.cn-north-1.amazonaws.com.cn"
    local = S3Reader(credentials, "us-east-1", "http://172.18.0.1:4566/").target("b-1", "m/x")
    assert (local.scheme, local.host, local.path) == ("http", "172.18.0.1:4566", "/b-1/m/x")


def test_the_environment_decides_whether_the_reader_serves() -> None:
    lambda_env = {
        "AWS_ACCESS_KEY_ID": "AKID",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
        "AWS_REGION": "eu-central-1",
    }
    reader = S3Reader.from_environment(lambda_env)
    assert reader is not None and reader.region == "eu-central-1" and reader.credentials.token == "token"
    assert reader.endpoint is None
    local = S3Reader.from_environment({**lambda_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:4566"})
    assert local is not None and local.endpoint is not None and local.endpoint.netloc == "127.0.0.1:4566"
    s3_only = {**lambda_env, "AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_S3": "http://b:2"}
    assert S3Reader.from_environment(s3_only).endpoint.netloc == "b:2"  # type: ignore[union-attr]
    for left_to_botocore in (
        {k: v for k, v in lambda_env.items() if k != "AWS_SECRET_ACCESS_KEY"},  # a profile, SSO, ...
        {k: v for k, v in lambda_env.items() if k != "AWS_REGION"},
        {**lambda_env, "AWS_USE_FIPS_ENDPOINT": "true"},
        {**lambda_env, "AWS_USE_DUALSTACK_ENDPOINT": "TRUE"},
    ):
        assert S3Reader.from_environment(left_to_botocore) is None


def test_whole_and_ranged_gets_from_moto(s3: Any, bucket: str) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    s3.put_object(Bucket=bucket, Key="dir/blob.bin", Body=data)
    reader = S3Reader.from_environment()
    assert reader is not None
    with reader.get_object(Bucket=bucket, Key="dir/blob.bin")["Body"] as body:
        whole = b"".join(iter(lambda: body.read(65536), b""))
    assert whole == data
    answer = reader.get_object(Bucket=bucket, Key="dir/blob.bin", Range="bytes=1000-1999")
    assert answer["ContentLength"] == 1000 and answer["Body"].read() == data[1000:2000]


def test_errors_carry_botocores_codes(s3: Any, bucket: str) -> None:
    reader = S3Reader.from_environment()
    assert reader is not None
    with pytest.raises(S3RequestError) as missing:
        reader.get_object(Bucket=bucket, Key="no/such/key")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey" and missing.value.status == 404
    assert "missing from the store" in _download_failure(mock.Mock(name="f"), missing.value)
    with pytest.raises(S3RequestError) as no_bucket:
        reader.get_object(Bucket="no-such-bucket-here", Key="k")
    assert no_bucket.value.code == "NoSuchBucket"


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 SlowDown ``failures`` times, then the object (or 500s for ever)."""

    failures = 0
    seen = 0
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # http.server's name
        type(self).seen += 1
        if type(self).seen <= type(self).failures:
            body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
            self.send_response(503)
        else:
            body = b"payload"
            self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[type[_Flaky]]:
    handler = type("Handler", (_Flaky,), {"failures": 0, "seen": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}"  # type: ignore[attr-defined]
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()


def test_a_body_read_to_the_end_gives_its_connection_back(flaky: Any) -> None:
    reader = S3Reader(Credentials(*KEYS), "us-east-1", flaky.url)
    for _ in range(3):
        with reader.get_object(Bucket="b", Key="k")["Body"] as body:
            assert body.read(4) + body.read(100) + body.read(100) == b"payload"
    idle = [c for pool in reader._idle.values() for c in pool]
    assert len(idle) == 1 and flaky.seen == 3, "three GETs on one kept-alive connection"
    with reader.get_object(Bucket="b", Key="k")["Body"] as body:
        body.read(2)  # left unread: that connection cannot carry another request
    assert [c for pool in reader._idle.values() for c in pool] == []


def test_throttling_is_retried_and_the_third_failure_raises(
    flaky: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("inference.stores.s3_reader.BACKOFF_BASE_SECONDS", 0.001)
    reader = S3Reader(Credentials(*KEYS), "us-east-1", flaky.url)
    flaky.failures = 2
    assert reader.get_object(Bucket="b", Key="k")["Body"].read() == b"payload"
    assert flaky.seen == 3
    flaky.failures, flaky.seen = 10, 0
    with pytest.raises(S3RequestError) as caught:
        reader.get_object(Bucket="b", Key="k")
    assert flaky.seen == 3 and caught.value.code == "SlowDown" and caught.value.status == 503


def test_an_unreachable_endpoint_fails_after_its_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inference.stores.s3_reader.BACKOFF_BASE_SECONDS", 0.001)
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky) as closed:
        port = closed.server_address[1]  # bound, then closed: nothing listens there
    reader = S3Reader(Credentials(*KEYS), "us-east-1", f"http://127.0.0.1:{port}", connect_timeout=1)
    with pytest.raises(S3RequestError) as caught:
        reader.get_object(Bucket="b", Key="k")
    assert caught.value.code == "RequestFailed" and "ConnectionRefused" in str(caught.value)
