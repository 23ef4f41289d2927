"""The one endpoint for boto3: Lambda Invoke served locally, every other call passed through to moto."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from harness.localcloud.logstreams import logs as read_logs

from .conftest import Cloud
from .tfstate import StackState, lambda_arn

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

FUNCTION = "api-invoke"


@pytest.fixture
def invokable(deployed: Cloud) -> Cloud:
    deployed.deploy("invoke", StackState().function(FUNCTION, deployed.image_uri, memory=128, timeout=2))
    return deployed


def test_request_response(invokable: Cloud) -> None:
    lam = invokable.client("lambda")
    answer = lam.invoke(FunctionName=FUNCTION, Payload=json.dumps({"action": "echo", "n": 1}))
    assert answer["StatusCode"] == 200 and answer["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in answer
    assert json.loads(answer["Payload"].read())["event"] == {"action": "echo", "n": 1}
    by_arn = lam.invoke(FunctionName=lambda_arn(FUNCTION), Payload=b'{"action": "bare", "value": "x"}')
    assert by_arn["Payload"].read() == b'"x"'
    default_payload = lam.invoke(FunctionName=FUNCTION)  # no payload: the event is {}
    assert json.loads(default_payload["Payload"].read())["event"] == {}


def test_function_errors_as_aws_returns_them(invokable: Cloud) -> None:
    lam = invokable.client("lambda")
    failed = lam.invoke(FunctionName=FUNCTION, Payload=b'{"action": "raise"}')
    body = json.loads(failed["Payload"].read())
    assert (failed["StatusCode"], failed["FunctionError"]) == (200, "Unhandled")
    assert (body["errorType"], body["errorMessage"]) == ("RuntimeError", "requested failure")
    timed_out = lam.invoke(FunctionName=FUNCTION, Payload=b'{"action": "sleep", "seconds": 4}')
    body = json.loads(timed_out["Payload"].read())
    assert timed_out["FunctionError"] == "Unhandled" and body["errorType"] == "Sandbox.Timedout"
    assert body["errorMessage"].endswith("Task timed out after 2.00 seconds")


def test_event_and_dry_run(invokable: Cloud) -> None:
    lam = invokable.client("lambda")
    accepted = lam.invoke(FunctionName=FUNCTION, InvocationType="Event", Payload=b'{"marker": "async-one"}')
    assert accepted["StatusCode"] == 202
    invokable.wait_for(
        lambda: "marker=async-one" in read_logs(FUNCTION, invokable.settings),
        timeout=20,
        what="the Event invocation to run",
    )
    assert lam.invoke(FunctionName=FUNCTION, InvocationType="DryRun")["StatusCode"] == 204


def test_service_errors(invokable: Cloud) -> None:
    lam = invokable.client("lambda")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-function", Payload=b"{}")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=FUNCTION, Qualifier="7", Payload=b"{}")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=FUNCTION, Payload=b"not json")


def test_other_calls_reach_moto(invokable: Cloud) -> None:
    s3 = invokable.client("s3")
    s3.create_bucket(Bucket="through-the-gateway")
    blob = bytes(range(256)) * 20_000  # 5 MB: streamed both ways
    s3.put_object(Bucket="through-the-gateway", Key="models/blob.bin", Body=blob)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["through-the-gateway"]
    assert s3.get_object(Bucket="through-the-gateway", Key="models/blob.bin")["Body"].read() == blob
    assert s3.head_object(Bucket="through-the-gateway", Key="models/blob.bin")["ContentLength"] == len(blob)
    with pytest.raises(ClientError) as missing:
        s3.get_object(Bucket="through-the-gateway", Key="absent")
    assert missing.value.response["Error"]["Code"] == "NoSuchKey"


def test_function_known_only_to_moto(invokable: Cloud) -> None:
    """Created through the gateway (as Terraform does) and invoked before any state file lists it."""
    iam, lam = invokable.client("iam"), invokable.client("lambda")
    role = iam.create_role(RoleName="moto-only", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam.create_function(
        FunctionName="moto-only",
        Role=role,
        PackageType="Image",
        Code={"ImageUri": invokable.registry_image},
        MemorySize=128,
        Timeout=5,
        Environment={"Variables": {"ORIGIN": "moto"}},
        FileSystemConfigs=[
            {
                "Arn": "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-1",
                "LocalMountPath": "/mnt/x",
            }
        ],
        ImageConfig={"Command": ["handler.handler"]},
    )
    # The patched moto keeps what stock moto drops, so Terraform's state will hold it too.
    config = lam.get_function(FunctionName="moto-only")["Configuration"]
    assert config["FileSystemConfigs"][0]["LocalMountPath"] == "/mnt/x"
    lam.update_function_configuration(
        FunctionName="moto-only", FileSystemConfigs=[], EphemeralStorage={"Size": 600}
    )
    config = lam.get_function(FunctionName="moto-only")["Configuration"]
    assert "FileSystemConfigs" not in config and config["EphemeralStorage"]["Size"] == 600
    answer = lam.invoke(FunctionName="moto-only", Payload=b'{"action": "env"}')
    assert json.loads(answer["Payload"].read())["env"]["ORIGIN"] == "moto"
    lam.delete_function(FunctionName="moto-only")
