"""The local cloud's simple IAM evaluation (no Docker): Allow/Deny, wildcards, what it skips."""

from __future__ import annotations

from pathlib import Path

from harness.localcloud.deployed import parse_state
from harness.localcloud.efs import EfsStore
from harness.localcloud.iam_grants import EFS_WRITE_ACTION, allows
from harness.localcloud.specs import file_system_arn_of, function_spec

from .tfstate import StackState, access_point_arn

FS_ARN = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-1"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lambda-inference/function:abc123"


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_allow_needs_a_matching_action_and_resource() -> None:
    mount_only = _policy({"Effect": "Allow", "Action": "elasticfilesystem:ClientMount", "Resource": FS_ARN})
    assert not allows([mount_only], EFS_WRITE_ACTION, FS_ARN)
    both = _policy(
        {"Effect": "Allow", "Action": ["elasticfilesystem:ClientMount", EFS_WRITE_ACTION], "Resource": FS_ARN}
    )
    assert allows([both], EFS_WRITE_ACTION, FS_ARN)
    assert not allows([both], EFS_WRITE_ACTION, FS_ARN.replace("fs-1", "fs-2"))
    assert not allows([], EFS_WRITE_ACTION, FS_ARN)


def test_wildcards_case_deny_and_skipped_forms() -> None:
    wildcard = {"Effect": "Allow", "Action": "ElasticFileSystem:Client*", "Resource": "arn:aws:*/fs-?"}
    assert allows([{"Statement": wildcard}], EFS_WRITE_ACTION, FS_ARN)  # a single statement, not a list
    assert allows([_policy({"Effect": "Allow", "Action": "*", "Resource": "*"})], EFS_WRITE_ACTION, FS_ARN)
    deny = {"Effect": "Deny", "Action": EFS_WRITE_ACTION, "Resource": "*"}
    assert not allows([_policy(wildcard), _policy(deny)], EFS_WRITE_ACTION, FS_ARN)
    not_action = {"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}
    assert not allows([_policy(not_action)], EFS_WRITE_ACTION, FS_ARN)
    dots = {"Effect": "Allow", "Action": EFS_WRITE_ACTION, "Resource": "arn:aws:elasticfilesystem:us.east.1*"}
    assert not allows([_policy(dots)], EFS_WRITE_ACTION, FS_ARN), "only * and ? are wildcards"


def test_spec_mounts_read_only_unless_the_role_may_write(tmp_path: Path) -> None:
    stack = StackState().file_system("fs-1").access_point("fsap-1", "fs-1", "/models")
    stack.function("fn", IMAGE, file_system=(access_point_arn("fsap-1"), "/mnt/models"))
    deployment = parse_state(stack.document(1))
    fn = deployment.functions["fn"]
    assert fn.role == "arn:aws:iam::123456789012:role/fn"
    assert file_system_arn_of(deployment.access_points["fsap-1"], deployment) == FS_ARN
    efs = EfsStore(tmp_path)
    read_only = function_spec(fn, deployment, efs, "x")
    assert read_only.mounts[0].read_only is True
    asked: list[tuple[str, str]] = []
    writable = function_spec(fn, deployment, efs, "x", may_write_efs=lambda *a: asked.append(a) or True)
    assert writable.mounts[0].read_only is False and asked == [(fn.role, FS_ARN)]
    assert writable.config_hash != read_only.config_hash, "a new grant means new environments"
