"""The pure parts of the local cloud (no Docker): state parsing, routing, events, responses, EFS, specs."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest

from harness.localcloud.apigw.event import EventContext, build_event
from harness.localcloud.apigw.response import MalformedResponseError, map_response
from harness.localcloud.apigw.routing import match_route
from harness.localcloud.deployed import (
    AccessPoint,
    RootCreation,
    Route,
    StateReader,
    function_name_from_arn,
    parse_state,
)
from harness.localcloud.docker.images import registry_reference
from harness.localcloud.efs import EfsStore
from harness.localcloud.errors import EfsMountError, UnsupportedFunctionError
from harness.localcloud.httpmsg import HttpRequest
from harness.localcloud.specs import function_spec

from .tfstate import StackState, access_point_arn, invoke_arn, lambda_arn, simple_api

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lambda-inference/function:abc123"


def _stack() -> StackState:
    stack = StackState().file_system("fs-1").access_point("fsap-1", "fs-1", "/models")
    stack.function(
        "fn",
        IMAGE,
        memory=3008,
        timeout=30,
        env={"MODEL_STORE": "efs"},
        ephemeral=2048,
        file_system=(access_point_arn("fsap-1"), "/mnt/models"),
        reserved=5,
    )
    stack.function("plain", IMAGE)
    return simple_api(stack, "api1", "fn", stage="develop", routes=("POST /", "GET /models"))


def test_parse_state() -> None:
    deployment = parse_state(_stack().document(1))
    fn = deployment.function("fn")
    assert fn is not None
    assert (fn.memory_size, fn.timeout, fn.ephemeral_storage, fn.reserved_concurrency) == (3008, 30, 2048, 5)
    assert fn.command == ("handler.handler",) and dict(fn.environment) == {"MODEL_STORE": "efs"}
    assert fn.file_system is not None and fn.file_system.local_mount_path == "/mnt/models"
    plain = deployment.function(lambda_arn("plain"))
    assert plain is not None and plain.reserved_concurrency is None and plain.file_system is None
    assert deployment.stages_of("api1") == ["develop"]
    assert sorted(r.route_key for r in deployment.routes_of("api1")) == ["GET /models", "POST /"]
    assert deployment.integrations["iapi1"].function_name == "fn"
    point = deployment.access_point_by_arn(access_point_arn("fsap-1"))
    assert point == AccessPoint(
        "fsap-1", access_point_arn("fsap-1"), "fs-1", "/models", RootCreation(1000, 1000, "755"), (1000, 1000)
    )
    assert list(deployment.file_systems) == ["fs-1"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (lambda_arn("a-b_c"), "a-b_c"),
        (invoke_arn("fn"), "fn"),
        (f"{lambda_arn('fn')}:live", "fn"),
        ("123456789012:function:fn", "fn"),
        ("just-a-name", None),
    ],
)
def test_function_name_from_arn(text: str, name: str | None) -> None:
    assert function_name_from_arn(text) == name


def test_state_reader_follows_changes(tmp_path: Path) -> None:
    reader = StateReader(tmp_path)
    assert reader.current().functions == {}
    path = _stack().write(tmp_path / "efs" / "terraform.tfstate")
    assert sorted(reader.current().functions) == ["fn", "plain"]
    generation = reader.generation
    reader.current()
    assert reader.generation == generation  # unchanged file: not re-read
    path.write_text('{"version": 4, "resou')  # mid-write: the previous reading stays
    assert sorted(reader.current().functions) == ["fn", "plain"]
    StackState().function("other", IMAGE).write(path, serial=2)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse clocks
    assert sorted(reader.current().functions) == ["other"]
    path.unlink()
    assert reader.current().functions == {}


ROUTES = [
    Route("a", key, "integrations/i")
    for key in (
        "GET /pets",
        "GET /pets/{id}",
        "ANY /pets/{id}",
        "GET /pets/dog",
        "ANY /files/{path+}",
        "$default",
    )
]


@pytest.mark.parametrize(
    ("method", "path", "key", "params"),
    [
        ("GET", "/pets", "GET /pets", {}),
        ("GET", "/pets/", "GET /pets", {}),
        ("GET", "/pets/dog", "GET /pets/dog", {}),
        ("GET", "/pets/7", "GET /pets/{id}", {"id": "7"}),
        ("DELETE", "/pets/7", "ANY /pets/{id}", {"id": "7"}),
        ("GET", "/files/a/b%20c", "ANY /files/{path+}", {"path": "a/b c"}),
        ("GET", "/files", "$default", {}),
        ("POST", "/pets", "$default", {}),
    ],
)
def test_route_matching(method: str, path: str, key: str, params: dict) -> None:
    match = match_route(ROUTES, method, path)
    assert match is not None and (match.route.route_key, match.path_parameters) == (key, params)


def test_no_route_without_default() -> None:
    assert match_route(ROUTES[:2], "GET", "/cats") is None


def test_event_headers_query_cookies_body() -> None:
    request = HttpRequest(
        "POST",
        "/develop/x",
        "a=1&a=2&b=",
        [
            ("Host", "127.0.0.1:4566"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "k=v; j=w"),
            ("Content-Type", "image/png"),
        ],
        body=b"\x89PNG",
        source_ip="10.0.0.1",
    )
    event = build_event(
        request, EventContext("123456789012", "api", "develop", "POST /x", "/develop/x", {}, "rid"), now=0
    )
    assert event["headers"]["x-multi"] == "1,2"
    assert event["cookies"] == ["k=v", "j=w"]
    assert event["queryStringParameters"] == {"a": "1,2", "b": ""}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\x89PNG"
    assert event["requestContext"]["time"] == "01/Jan/1970:00:00:00 +0000"
    assert event["requestContext"]["domainName"] == "127.0.0.1"
    assert event["headers"]["x-forwarded-for"] == "10.0.0.1"
    no_body = build_event(
        HttpRequest("GET", "/", "", []), EventContext("1", "a", "$default", "$default", "/", {}, "r")
    )
    assert (
        "body" not in no_body
        and "queryStringParameters" not in no_body
        and no_body["isBase64Encoded"] is False
    )


@pytest.mark.parametrize(
    ("output", "status", "body"),
    [
        (b'"text"', 200, b"text"),
        (b'{"answer": 1}', 200, b'{"answer": 1}'),
        (b"null", 200, b""),
        (b'{"statusCode": "404", "body": "gone"}', 404, b"gone"),
        (
            json.dumps(
                {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}
            ).encode(),
            200,
            b"\x00\x01",
        ),
    ],
)
def test_response_mapping(output: bytes, status: int, body: bytes) -> None:
    response = map_response(output)
    assert (response.status, response.body) == (status, body)


@pytest.mark.parametrize(
    "output",
    [
        b"not json",
        b'{"statusCode": 99}',
        b'{"statusCode": true}',
        b'{"statusCode": 200, "headers": "x"}',
        b'{"statusCode": 200, "body": 5}',
    ],
)
def test_malformed_responses(output: bytes) -> None:
    with pytest.raises(MalformedResponseError):
        map_response(output)


def test_registry_reference() -> None:
    assert registry_reference(IMAGE, "127.0.0.1:5055") == "127.0.0.1:5055/lambda-inference/function:abc123"
    assert registry_reference("127.0.0.1:5055/x:1", "127.0.0.1:5055") == "127.0.0.1:5055/x:1"


def test_efs_access_point_root_and_reconcile(tmp_path: Path) -> None:
    store = EfsStore(tmp_path)
    point = AccessPoint("fsap-1", "arn", "fs-1", "/a/b", RootCreation(1234, 1235, "0750"), (1234, 1235))
    path = store.access_point_dir(point)
    assert path == tmp_path / "fs-1" / "a" / "b"
    if os.geteuid() == 0:
        assert (path.stat().st_uid, path.stat().st_gid, oct(path.stat().st_mode & 0o777)) == (
            1234,
            1235,
            "0o750",
        )
    (path / "data").write_text("x")
    assert store.access_point_dir(point) == path  # existing: untouched
    with pytest.raises(EfsMountError):
        store.access_point_dir(AccessPoint("fsap-2", "arn", "fs-1", "/missing"))
    escaping = AccessPoint("fsap-3", "arn", "fs-1", "/../../etc", RootCreation(0, 0, "755"))
    assert store.access_point_dir(escaping) == tmp_path / "fs-1" / "etc"  # clamped inside the file system
    store.file_system_dir("fs-2")
    store.file_system_dir("fs-3")  # created by a function before any state listed it: not ours to delete
    assert store.reconcile(["fs-1", "fs-2"]) == []
    assert store.reconcile(["fs-2"]) == ["fs-1"]
    assert not (tmp_path / "fs-1").exists() and (tmp_path / "fs-2").is_dir() and (tmp_path / "fs-3").is_dir()
    assert store.reconcile([]) == ["fs-2"]


def test_function_spec(tmp_path: Path) -> None:
    deployment = parse_state(_stack().document(1))
    efs = EfsStore(tmp_path)
    spec = function_spec(deployment.functions["fn"], deployment, efs, "127.0.0.1:5055")
    assert spec.image == "127.0.0.1:5055/lambda-inference/function:abc123"
    assert spec.user == "1000:1000" and spec.mounts[0].target == "/mnt/models"
    assert spec.mounts[0].source == str(tmp_path / "fs-1" / "models")
    plain = function_spec(deployment.functions["plain"], deployment, efs, "127.0.0.1:5055")
    assert plain.user == "993:990" and plain.mounts == ()
    changed = parse_state(StackState().function("plain", IMAGE, reserved=3).document(2))
    assert function_spec(changed.functions["plain"], changed, efs, "x").config_hash != plain.config_hash
    same_config = function_spec(changed.functions["plain"], changed, efs, "127.0.0.1:5055")
    assert same_config.config_hash == plain.config_hash  # reserved concurrency does not recycle environments
    zip_state = StackState().function("zip", "")
    with pytest.raises(UnsupportedFunctionError):
        function_spec(parse_state(zip_state.document(1)).functions["zip"], deployment, efs, "x")


def test_moto_patch_keeps_dropped_fields() -> None:
    from moto import mock_aws

    from harness.localcloud.moto_server import patch_moto

    patch_moto()
    with mock_aws():
        import boto3

        iam = boto3.client("iam", region_name="us-east-1")
        lam = boto3.client("lambda", region_name="us-east-1")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        fs_config = [{"Arn": access_point_arn("fsap-1"), "LocalMountPath": "/mnt/models"}]
        lam.create_function(
            FunctionName="f",
            Role=role,
            PackageType="Image",
            Code={"ImageUri": IMAGE},
            FileSystemConfigs=fs_config,
            ImageConfig={"Command": ["a.handler"]},
        )
        assert lam.get_function(FunctionName="f")["Configuration"]["FileSystemConfigs"] == fs_config
        lam.update_function_configuration(
            FunctionName="f", ImageConfig={"Command": ["b.handler"]}, EphemeralStorage={"Size": 4096}
        )
        config = lam.get_function(FunctionName="f")["Configuration"]
        assert config["ImageConfigResponse"]["ImageConfig"]["Command"] == ["b.handler"]
        assert config["EphemeralStorage"]["Size"] == 4096


def test_moto_patch_reads_only_the_requested_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """A single-range GET answers the same bytes and headers without reading the whole object."""
    from moto import mock_aws
    from moto.s3.models import FakeKey

    from harness.localcloud.moto_server import patch_ranged_reads

    patch_ranged_reads()
    whole_reads: list[int] = []
    original_value = FakeKey.value

    def counting_value(self: FakeKey) -> bytes:
        whole_reads.append(1)
        return original_value.fget(self)

    data = bytes(range(256)) * 4096  # 1 MiB, every offset distinguishable modulo 256
    with mock_aws():
        import boto3

        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="ranges")
        s3.put_object(Bucket="ranges", Key="k", Body=data)
        monkeypatch.setattr(FakeKey, "value", property(counting_value, original_value.fset))
        for header, first, last in [
            ("bytes=0-1023", 0, 1023),
            ("bytes=1000-2000", 1000, 2000),
            ("bytes=1048000-", 1048000, len(data) - 1),
            ("bytes=-100", len(data) - 100, len(data) - 1),
            ("bytes=1048000-9999999", 1048000, len(data) - 1),
        ]:
            answer = s3.get_object(Bucket="ranges", Key="k", Range=header)
            assert answer["Body"].read() == data[first : last + 1], header
            assert answer["ContentRange"] == f"bytes {first}-{last}/{len(data)}", header
        assert whole_reads == []
        # Anything moto does not slice still answers the whole object.
        assert s3.get_object(Bucket="ranges", Key="k", Range="bytes=0-1,5-6")["Body"].read() == data
        assert s3.get_object(Bucket="ranges", Key="k")["Body"].read() == data
        with pytest.raises(s3.exceptions.ClientError, match="InvalidRange"):
            s3.get_object(Bucket="ranges", Key="k", Range=f"bytes={len(data)}-")


@pytest.mark.parametrize(
    ("reply", "is_error"),
    [
        (b'{"errorMessage": "boom", "errorType": "KeyError", "stackTrace": []}', True),
        (b'{"errorType": "KeyError", "errorMessage": "boom", "requestId": "r", "cause": {}}', True),
        (b'{"statusCode": 500, "body": "{\\"errorType\\": \\"x\\", \\"errorMessage\\": \\"y\\"}"}', False),
        (b'{"errorType": "KeyError", "errorMessage": "boom", "answer": "1886"}', False),  # not an error
        (b'{"statusCode": 200, "body": "{}"}', False),
        (b'"errorType errorMessage"', False),
        (b"not json", False),
    ],
)
def test_function_errors_are_told_from_replies(reply: bytes, is_error: bool) -> None:
    from harness.localcloud.runtime.environment import _is_error_object

    assert _is_error_object(reply) is is_error
