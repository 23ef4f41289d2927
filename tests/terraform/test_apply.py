"""Apply, plan-no-changes, destroy: each root stack against moto (marker ``integration``).

A plan with no changes right after apply is the proof that the local override's
``ignore_changes`` cover every field moto drops or rewrites; the EFS stack is also changed and
applied again, so updates round-trip too. After destroy the state is empty and moto holds nothing
of the stack. The EFS seeding invocation is off here (``seed_on_apply = false``): plain moto has
no Lambda data plane; the full deploy tests run it through the local cloud's gateway.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from harness.deploy import PENDING_IMAGE_URI
from harness.local_settings import boto3_credentials
from harness.localcloud.iam_grants import EFS_WRITE_ACTION, role_allows
from harness.paths import VARIANTS
from harness.terraform import Stack, TerraformError

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1800)]

Variables = Callable[..., dict[str, Any]]


def client(moto_url: str, service: str) -> Any:
    return boto3.client(service, endpoint_url=moto_url, **boto3_credentials())


def function_environment(moto_url: str, function_name: str) -> dict[str, str]:
    config = client(moto_url, "lambda").get_function_configuration(FunctionName=function_name)
    return config["Environment"]["Variables"]


def leftovers(moto_url: str, name: str) -> list[str]:
    """Everything in moto that a stack called ``name`` could have created."""
    found: list[str] = []
    lam = client(moto_url, "lambda")
    found += [
        f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"].startswith(name)
    ]
    found += [a["Name"] for a in client(moto_url, "apigatewayv2").get_apis()["Items"] if a["Name"] == name]
    found += [
        b["Name"]
        for b in client(moto_url, "s3").list_buckets()["Buckets"]
        if b["Name"].startswith(f"{name}-")
    ]
    found += [
        r["repositoryName"]
        for r in client(moto_url, "ecr").describe_repositories()["repositories"]
        if r["repositoryName"] == name
    ]
    found += [
        r["RoleName"] for r in client(moto_url, "iam").list_roles()["Roles"] if r["RoleName"].startswith(name)
    ]
    logs = client(moto_url, "logs")
    for prefix in (f"/aws/lambda/{name}", f"/aws/apigateway/{name}"):
        found += [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]]
    found += [
        f["FileSystemId"]
        for f in client(moto_url, "efs").describe_file_systems()["FileSystems"]
        if f.get("CreationToken") == name
    ]
    ec2 = client(moto_url, "ec2")
    found += [
        v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "tag:Stack", "Values": [name]}])["Vpcs"]
    ]
    found += [
        g["GroupName"]
        for g in ec2.describe_security_groups()["SecurityGroups"]
        if g["GroupName"].startswith(f"{name}-")
    ]
    return found


def assert_plan_is_empty(stack: Stack, variables: dict[str, Any], after: str) -> None:
    """A plan right after ``after`` changes nothing: the override covers every field moto rewrites."""
    plan = stack.plan(variables)
    assert not plan.has_changes, f"plan after {after} is not empty:\n{plan.summary()}"


@contextmanager
def destroyed_after(stack: Stack, variables: dict[str, Any]) -> Iterator[None]:
    """Destroy the stack after the block, even when it fails, with ``variables`` as they are then."""
    try:
        yield
    finally:
        stack.destroy(variables)


def assert_nothing_left(stack: Stack, moto_url: str, name: str) -> None:
    """After destroy: an empty state, and nothing of the stack in moto."""
    assert stack.state_resources() == []
    assert leftovers(moto_url, name) == []


def tree(root: Path) -> list[str]:
    """Every file under a copy's ``terraform/`` and ``modules/``, relative to the copy."""
    return sorted(str(p.relative_to(root)) for d in ("terraform", "modules") for p in (root / d).rglob("*"))


@pytest.mark.parametrize("variant", VARIANTS)
def test_apply_plan_destroy(
    make_stack: Callable[..., Stack],
    variables_for: Variables,
    moto_url: str,
    variant: str,
    workspace: Path,
    pristine_tree: Path,
) -> None:
    name = f"inference-{variant}"
    stack = make_stack(variant, state=f"apply-{variant}")
    variables = variables_for(variant)
    with destroyed_after(stack, variables):
        outputs = stack.apply(variables)
        api_id = outputs["api_id"]
        assert outputs["api_url"] == f"{moto_url}/_aws/execute-api/{api_id}/develop/"
        assert outputs["function_name"] == name
        assert outputs["repository_url"] == f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}"
        assert outputs["api_url"] in outputs["curl_command"] and "1886" in outputs["curl_command"]
        environment = function_environment(moto_url, name)
        assert environment["MODEL_STORE"] == {"s3": "s3", "efs": "efs", "oci": "image"}[variant]
        if variant != "oci":
            assert re.fullmatch(rf"{name}-models-\d+", outputs["model_bucket"])
        if variant == "s3":
            assert environment["MODEL_BUCKET"] == outputs["model_bucket"]
            assert environment["MODEL_PREFIX"] == "models" and environment["MODEL_CACHE_DIR"] == "/tmp/models"
        if variant == "efs":
            for function_name in (name, f"{name}-seed"):
                config = client(moto_url, "lambda").get_function_configuration(FunctionName=function_name)
                mounts = config["FileSystemConfigs"]
                assert [m["LocalMountPath"] for m in mounts] == ["/mnt/models"]
                assert mounts[0]["Arn"].startswith(
                    "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/"
                )
            # The local cloud's reading of the roles Terraform made: only the seeder may write to EFS.
            file_system = client(moto_url, "efs").describe_file_systems()["FileSystems"][0]["FileSystemArn"]
            for function_name, writes in ((name, False), (f"{name}-seed", True)):
                role = client(moto_url, "lambda").get_function_configuration(FunctionName=function_name)[
                    "Role"
                ]
                assert role_allows(moto_url, role, EFS_WRITE_ACTION, file_system) is writes, function_name
            seeder = function_environment(moto_url, f"{name}-seed")
            assert seeder == {
                "MODEL_BUCKET": outputs["model_bucket"],
                "MODEL_PREFIX": "models",
                "MODEL_ROOT": "/mnt/models",
                "POWERTOOLS_SERVICE_NAME": "inference-seed",
            }

        assert_plan_is_empty(stack, variables, "apply")
        # Everything the local target needs is in its working copy: the stacks and modules it
        # was applied from hold exactly the committed files (no override, lock file or state).
        assert tree(workspace) == tree(pristine_tree)
        assert stack.work_dir.is_relative_to(stack.state_dir)

        if variant == "efs":
            # Everything a user may change between two deploys: updates must round-trip as well.
            variables.update(  # the same dict: the destroy after the block takes the update too
                variables_for(
                    variant,
                    image_uri=f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:fedcba9876543210",
                    models_manifest_sha256="cd" * 32,
                    memory_size=3008,
                    timeout=120,
                    ephemeral_storage_mb=1024,
                    reserved_concurrency=5,
                    log_retention_days=30,
                    tracing_mode="PassThrough",
                    throttling_burst_limit=7,
                    throttling_rate_limit=3,
                    environment_variables={"MANIFEST_TTL_SECONDS": "10"},
                    efs_throughput_mode="elastic",
                    keep_images=5,
                    tags={"Owner": "tests"},
                )
            )
            stack.apply(variables)
            assert_plan_is_empty(stack, variables, "an update")
    assert_nothing_left(stack, moto_url, name)


def test_failed_apply_is_repaired_by_a_rerun(
    make_stack: Callable[..., Stack], variables_for: Variables, moto_url: str
) -> None:
    """An apply that fails half-way leaves a state that the next apply completes."""
    name = "repair-oci"
    stack = make_stack("oci", state="repair")
    variables = variables_for("oci", name=name)
    iam = client(moto_url, "iam")
    # Something already holds the role's name: the apply creates the rest, then fails on the role.
    iam.create_role(RoleName=f"{name}-lambda", AssumeRolePolicyDocument="{}")
    with destroyed_after(stack, variables):
        with pytest.raises(TerraformError, match="EntityAlreadyExists"):
            stack.apply(variables)
        partial = stack.state_resources()
        assert "module.image_repository.aws_ecr_repository.this" in partial
        assert "module.api.aws_lambda_function.this" not in partial
        iam.delete_role(RoleName=f"{name}-lambda")
        outputs = stack.apply(variables)
        assert outputs["function_name"] == name
        assert_plan_is_empty(stack, variables, "the repairing apply")
    assert_nothing_left(stack, moto_url, name)


def test_a_deploy_stopped_after_its_first_targeted_apply_can_be_destroyed(
    make_stack: Callable[..., Stack], variables_for: Variables, moto_url: str
) -> None:
    """The deploy flow creates the repository first, with the placeholder image; if it stops there
    (no image built, a failed push), destroy has only the placeholder, and a destroy evaluates
    every module: the placeholder has to pass the function module's image_uri validation."""
    stack = make_stack("oci", state="apply-pending")
    variables = variables_for("oci", image_uri=PENDING_IMAGE_URI)
    with destroyed_after(stack, variables):
        stack.apply(variables, targets=["module.image_repository"])
        assert stack.output().get("repository_url")
    assert stack.state_resources() == []


def test_jwt_authorizer_round_trips(
    make_stack: Callable[..., Stack], variables_for: Variables, moto_url: str
) -> None:
    """A JWT stack applies, plans clean (moto keeps the authorizer as sent) and destroys."""
    stack = make_stack("oci", state="apply-jwt")
    variables = variables_for(
        "oci", api_authorization="JWT", jwt_issuer="http://127.0.0.1:9/issuer", jwt_audiences=["inference"]
    )
    with destroyed_after(stack, variables):
        outputs = stack.apply(variables)
        api = client(moto_url, "apigatewayv2")
        routes = api.get_routes(ApiId=outputs["api_id"])["Items"]
        assert {r["AuthorizationType"] for r in routes} == {"JWT"}
        (authorizer_id,) = {r["AuthorizerId"] for r in routes}
        # moto 5.2 does not implement GetAuthorizers (the list): it answers 500; GetAuthorizer works.
        authorizer = api.get_authorizer(ApiId=outputs["api_id"], AuthorizerId=authorizer_id)
        assert authorizer["AuthorizerType"] == "JWT"
        assert authorizer["IdentitySource"] == ["$request.header.Authorization"]
        assert authorizer["JwtConfiguration"] == {
            "Issuer": "http://127.0.0.1:9/issuer",
            "Audience": ["inference"],
        }
        assert outputs["api_authorization"] == "JWT" and "Bearer $TOKEN" in outputs["curl_command"]
        assert_plan_is_empty(stack, variables, "apply")
    assert stack.state_resources() == []
