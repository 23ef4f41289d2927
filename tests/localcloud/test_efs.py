"""Local EFS: access point roots, POSIX identity, persistence across redeploys, deletion."""

from __future__ import annotations

import pytest

from .conftest import Cloud
from .tfstate import StackState, access_point_arn, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]

FS = "fs-0123abcd"
AP = "fsap-0123abcd4567"
MOUNT = "/mnt/models"


def _efs_stack(cloud: Cloud, version: str, with_fs: bool = True) -> StackState:
    stack = StackState()
    if with_fs:
        stack.file_system(FS).access_point(
            AP, FS, "/lambda/models", owner=(1000, 1001, "750"), posix=(1000, 1001)
        )
    stack.function(
        "efs-fn",
        cloud.image_uri,
        memory=128,
        env={"VERSION": version},
        file_system=(access_point_arn(AP), MOUNT) if with_fs else None,
    )
    return simple_api(stack, "efsapi", "efs-fn", routes=("POST /run",))


def _files(cloud: Cloud, **args: str) -> dict:
    response = cloud.api("POST", "efsapi", "/run", json={"action": "files", "mount": MOUNT, **args})
    assert response.status_code == 200, response.text
    return response.json()


def test_mount_identity_persistence_and_deletion(deployed: Cloud) -> None:
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
    deployed.deploy(
        "noefs",
        simple_api(
            StackState().function("efs-none", deployed.image_uri, memory=128),
            "noefsapi",
            "efs-none",
            routes=("POST /run",),
        ),
    )
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
