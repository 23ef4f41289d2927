"""Local EFS: access point roots, POSIX identity, persistence across redeploys, deletion, and the
mount's mode from the function's IAM role (read-only without elasticfilesystem:ClientWrite)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from .conftest import Cloud
from .tfstate import ACCOUNT, REGION, StackState, access_point_arn, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

FS = "fs-0123abcd"
AP = "fsap-0123abcd4567"
MOUNT = "/mnt/models"


@contextmanager
def execution_role(cloud: Cloud, function: str, actions: list[str]) -> Iterator[None]:
    """The function's role in moto IAM (the ARN tfstate gives it), with the module's EFS statement."""
    iam = cloud.client("iam")
    assume = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
              "Principal": {"Service": "lambda.amazonaws.com"}}]}  # fmt: skip
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "MountModelFileSystem",
                "Effect": "Allow",
                "Action": actions,
                "Resource": f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{FS}",
                "Condition": {"StringEquals": {"elasticfilesystem:AccessPointArn": access_point_arn(AP)}},
            }
        ],
    }
    iam.create_role(RoleName=function, AssumeRolePolicyDocument=json.dumps(assume))
    iam.put_role_policy(RoleName=function, PolicyName="least-privilege", PolicyDocument=json.dumps(grant))
    try:
        yield
    finally:
        iam.delete_role_policy(RoleName=function, PolicyName="least-privilege")
        iam.delete_role(RoleName=function)


def _efs_stack(cloud: Cloud, version: str, with_fs: bool = True, function: str = "efs-fn") -> StackState:
    stack = StackState()
    if with_fs:
        stack.file_system(FS).access_point(
            AP, FS, "/lambda/models", owner=(1000, 1001, "750"), posix=(1000, 1001)
        )
    stack.function(
        function,
        cloud.image_uri,
        memory=128,
        env={"VERSION": version},
        file_system=(access_point_arn(AP), MOUNT) if with_fs else None,
    )
    return simple_api(stack, "efsapi", function, routes=("POST /run",))


def _files(cloud: Cloud, **args: str) -> dict:
    response = cloud.api("POST", "efsapi", "/run", json={"action": "files", "mount": MOUNT, **args})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture
def writer_role(deployed: Cloud) -> Iterator[None]:
    """efs-fn may write, like the seeder (ClientMount + ClientWrite)."""
    with execution_role(
        deployed, "efs-fn", ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    ):
        yield


def test_mount_identity_persistence_and_deletion(deployed: Cloud, writer_role: None) -> None:
    deployed.deploy("efs", _efs_stack(deployed, "1"))
    first = _files(deployed, write="a.txt", content="kept")
    assert (first["uid"], first["gid"]) == (1000, 1001)  # the access point's POSIX user
    assert first["mount_owner"] == [1000, 1001, "0o750"]  # created from creation_info
    assert first["written_owner"] == [1000, 1001]
    host_root = deployed.settings.efs_dir / FS / "lambda" / "models"
    stat = (host_root / "a.txt").stat()
    assert (stat.st_uid, stat.st_gid) == (1000, 1001)

    deployed.deploy("efs", _efs_stack(deployed, "2"))  # a redeploy: new environment, same file system
    second = _files(deployed, read="a.txt")
    assert second["hostname"] != first["hostname"]
    assert second["read"] == "kept"

    deployed.deploy("efs", _efs_stack(deployed, "3", with_fs=False))  # the file system is destroyed
    deployed.wait_for(
        lambda: not (deployed.settings.efs_dir / FS).exists(),
        timeout=10,
        what="the destroyed file system's data to be deleted",
    )
    third = _files(deployed)
    assert third["mount_exists"] is False


def test_read_only_root_writable_tmp_and_no_efs(deployed: Cloud) -> None:
    deployed.deploy_one("noefs", "efs-none", "noefsapi")
    response = deployed.api("POST", "noefsapi", "/run", json={"action": "files", "mount": MOUNT})
    report = response.json()
    assert report["tmp"] == "tmp works"
    assert report["root_writable"] is False and report["root_error"] == "Read-only file system"
    assert report["mount_exists"] is False
    assert (report["uid"], report["gid"]) == (993, 990)  # Lambda's sandbox user


def test_access_point_without_creation_info_fails_to_mount(deployed: Cloud) -> None:
    stack = (
        StackState()
        .file_system("fs-0badbad0")
        .access_point("fsap-0badbad0", "fs-0badbad0", "/absent", owner=None)
    )
    stack.function(
        "efs-bad", deployed.image_uri, memory=128, file_system=(access_point_arn("fsap-0badbad0"), MOUNT)
    )
    deployed.deploy("badefs", simple_api(stack, "badefsapi", "efs-bad", routes=("POST /run",)))
    response = deployed.api("POST", "badefsapi", "/run", json={})
    assert (response.status_code, response.json()) == (502, {"message": "Internal Server Error"})
    error = deployed.client("lambda").exceptions.EFSMountFailureException
    with pytest.raises(error):
        deployed.client("lambda").invoke(FunctionName="efs-bad", Payload=b"{}")


def _write(cloud: Cloud, function: str, name: str, read: str | None = None) -> dict:
    """Invoke the function directly: a failed write comes back as its error (type and message)."""
    args = {"action": "files", "mount": MOUNT, "write": name, **({"read": read} if read else {})}
    response = cloud.client("lambda").invoke(FunctionName=function, Payload=json.dumps(args).encode())
    return {"error": response.get("FunctionError"), **json.loads(response["Payload"].read())}


def test_role_without_client_write_mounts_read_only(deployed: Cloud) -> None:
    """The API function's posture: its role only has ClientMount, so a write fails as on AWS (EROFS).

    Roles exist before their functions are deployed, as Terraform orders them (the mount's mode is
    decided when the deployment is read)."""
    host_root = deployed.settings.efs_dir / FS / "lambda" / "models"
    with execution_role(deployed, "efs-seeder", ["elasticfilesystem:ClientWrite"]):
        deployed.deploy("efs", _efs_stack(deployed, "1", function="efs-seeder"))
        seeded = _write(deployed, "efs-seeder", "seeded.txt")
    assert seeded["error"] is None and seeded["written_owner"] == [1000, 1001]
    assert (host_root / "seeded.txt").read_text() == "data"

    with execution_role(deployed, "efs-reader", ["elasticfilesystem:ClientMount"]):
        deployed.deploy("efs", _efs_stack(deployed, "1", function="efs-reader"))
        reader = _files(deployed, read="seeded.txt")
        refused = _write(deployed, "efs-reader", "a.txt")
    assert reader["read"] == "data" and reader["listing"] == ["seeded.txt"]  # mounted and readable
    assert (refused["error"], refused["errorType"]) == ("Unhandled", "OSError")
    assert refused["errorMessage"].startswith("[Errno 30] Read-only file system")  # EROFS
    assert not (host_root / "a.txt").exists()

    deployed.deploy("efs", _efs_stack(deployed, "1", function="efs-norole"))
    no_role = _write(deployed, "efs-norole", "b.txt")  # a role moto does not know grants nothing
    assert no_role["errorMessage"].startswith("[Errno 30] Read-only file system")
