"""Plan tests (tftest style): plan each root stack against moto and assert on the resources.

Plans are cheap (no resource is created), so every stack is planned once per session and the
tests assert on that plan: resource counts and types, and the attributes the design fixes
(payload format 2.0, stage ``develop``, IMMUTABLE ECR, least-privilege IAM, the EFS access point).
The two fixtures under ``fixtures/`` call the inference_api module with ARNs known at plan time,
so the role's policy is fully known and can be asserted statement by statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness.terraform import PlanResult, Stack, TerraformError

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


Variables = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def s3_plan(make_stack: Callable[..., Stack], variables_for: Variables) -> PlanResult:
    return make_stack("s3", state="plan-s3").plan(variables_for("s3"))


@pytest.fixture(scope="module")
def efs_plan(make_stack: Callable[..., Stack], variables_for: Variables) -> PlanResult:
    # seed_on_apply as on AWS: the plan shows the seeding invocation (planning never invokes).
    return make_stack("efs", state="plan-efs").plan(variables_for("efs", seed_on_apply=True))


@pytest.fixture(scope="module")
def oci_plan(make_stack: Callable[..., Stack], variables_for: Variables) -> PlanResult:
    return make_stack("oci", state="plan-oci").plan(variables_for("oci"))


def _fixture_plan(make_stack: Callable[..., Stack], name: str) -> PlanResult:
    return make_stack(name, fixture=True, state=f"plan-{name}").plan({})


def after(plan: PlanResult, address: str) -> dict[str, Any]:
    """The planned attributes of one resource (known values only)."""
    for change in plan.resource_changes:
        if change.address == address:
            assert "create" in change.actions, f"{address}: {change.actions}"
            return change.after or {}
    raise AssertionError(f"{address} is not in the plan:\n{plan.summary()}")


def unknown(plan: PlanResult, address: str) -> dict[str, Any]:
    """Which attributes of a resource are only known after apply."""
    return next(c.after_unknown or {} for c in plan.resource_changes if c.address == address)


def policy_statements(plan: PlanResult, address: str) -> dict[str, dict[str, Any]]:
    document = json.loads(after(plan, address)["policy"])
    return {statement["Sid"]: statement for statement in document["Statement"]}


def assert_http_api(plan: PlanResult, prefix: str = "module.api") -> None:
    integration = after(plan, f"{prefix}.aws_apigatewayv2_integration.this[0]")
    assert integration["integration_type"] == "AWS_PROXY"
    assert integration["integration_method"] == "POST"
    assert integration["payload_format_version"] == "2.0"
    routes = {c.after["route_key"] for c in plan.by_type("aws_apigatewayv2_route") if c.after}
    assert routes == {"POST /", "GET /models"}
    stage = after(plan, f"{prefix}.aws_apigatewayv2_stage.this[0]")
    assert stage["name"] == "develop" and stage["auto_deploy"] is True
    assert stage["default_route_settings"][0]["throttling_burst_limit"] == 20
    assert stage["default_route_settings"][0]["throttling_rate_limit"] == 10
    assert "$context.requestId" in stage["access_log_settings"][0]["format"]
    permission = after(plan, f"{prefix}.aws_lambda_permission.api[0]")
    assert permission["principal"] == "apigateway.amazonaws.com"
    assert permission["action"] == "lambda:InvokeFunction"


def assert_repository(plan: PlanResult) -> None:
    repository = after(plan, "module.image_repository.aws_ecr_repository.this")
    assert repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    lifecycle = json.loads(after(plan, "module.image_repository.aws_ecr_lifecycle_policy.this")["policy"])
    assert lifecycle["rules"][0]["selection"]["countNumber"] == 10


def assert_bucket(plan: PlanResult) -> None:
    prefix = "module.model_bucket"
    assert after(plan, f"{prefix}.aws_s3_bucket.this")["force_destroy"] is True
    versioning = after(plan, f"{prefix}.aws_s3_bucket_versioning.this")["versioning_configuration"]
    assert versioning[0]["status"] == "Enabled"
    block = after(plan, f"{prefix}.aws_s3_bucket_public_access_block.this")
    assert all(
        block[k]
        for k in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    sse = after(plan, f"{prefix}.aws_s3_bucket_server_side_encryption_configuration.this")
    assert sse["rule"][0]["apply_server_side_encryption_by_default"][0]["sse_algorithm"] == "AES256"


def function(plan: PlanResult, module: str = "api") -> dict[str, Any]:
    return after(plan, f"module.{module}.aws_lambda_function.this")


# ---------------------------------------------------------------------------- s3


def test_s3_resources(s3_plan: PlanResult) -> None:
    counts = s3_plan.counts()
    assert counts["aws_lambda_function"] == 1
    assert counts["aws_apigatewayv2_api"] == 1 and counts["aws_apigatewayv2_stage"] == 1
    assert counts["aws_apigatewayv2_route"] == 2 and counts["aws_apigatewayv2_integration"] == 1
    assert counts["aws_s3_bucket"] == 1 and counts["aws_ecr_repository"] == 1
    assert counts["aws_cloudwatch_log_group"] == 2 and counts["aws_iam_role"] == 1
    assert not counts["aws_vpc"] and not counts["aws_efs_file_system"] and not counts["aws_lambda_invocation"]


def test_s3_function(s3_plan: PlanResult) -> None:
    fn = function(s3_plan)
    assert fn["package_type"] == "Image" and fn["architectures"] == ["x86_64"]
    assert fn["image_uri"].endswith("/inference-s3:0123456789abcdef")
    assert fn["memory_size"] == 6000 and fn["timeout"] == 25  # under the HTTP API's 30 s
    assert fn["ephemeral_storage"] == [{"size": 2048}]
    assert fn["reserved_concurrent_executions"] == 10  # the stacks reserve by default
    assert fn["tracing_config"] == [{"mode": "Active"}]
    assert fn["image_config"][0]["command"] == ["inference.handler.handler"]
    assert fn["vpc_config"] == [] and fn["file_system_config"] == []
    # The environment names the bucket, whose name is only known after apply: test_apply checks it.
    log_group = after(s3_plan, "module.api.aws_cloudwatch_log_group.this")
    assert log_group["name"] == "/aws/lambda/inference-s3" and log_group["retention_in_days"] == 14


def test_s3_api_repository_bucket(s3_plan: PlanResult) -> None:
    assert_http_api(s3_plan)
    assert_repository(s3_plan)
    assert_bucket(s3_plan)


# ---------------------------------------------------------------------------- efs


def test_efs_resources(efs_plan: PlanResult) -> None:
    counts = efs_plan.counts()
    assert counts["aws_lambda_function"] == 2, "the API function and the seeder"
    assert counts["aws_apigatewayv2_api"] == 1, "only the API function has an HTTP API"
    assert counts["aws_vpc"] == 1 and counts["aws_subnet"] == 2 and counts["aws_efs_mount_target"] == 2
    assert counts["aws_efs_file_system"] == 1 and counts["aws_efs_access_point"] == 1
    assert counts["aws_vpc_endpoint"] == 1 and counts["aws_security_group"] == 2
    assert counts["aws_lambda_invocation"] == 1
    # Local target only: moto cannot delete a file system policy (see override.MODULE_ABSENT_LOCALLY).
    assert not counts["aws_efs_file_system_policy"]


def test_efs_network_and_file_system(efs_plan: PlanResult) -> None:
    prefix = "module.model_filesystem"
    subnets = [after(efs_plan, f"{prefix}.aws_subnet.private[{i}]") for i in range(2)]
    assert len({s["availability_zone"] for s in subnets}) == 2, "two availability zones"
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    endpoint = after(efs_plan, f"{prefix}.aws_vpc_endpoint.s3")
    assert (
        endpoint["vpc_endpoint_type"] == "Gateway"
        and endpoint["service_name"] == "com.amazonaws.us-east-1.s3"
    )
    nfs = after(efs_plan, f"{prefix}.aws_vpc_security_group_ingress_rule.efs_nfs_from_function")
    assert (nfs["ip_protocol"], nfs["from_port"], nfs["to_port"]) == ("tcp", 2049, 2049)
    assert nfs.get("cidr_ipv4") is None, "NFS only from the function's security group"
    assert not efs_plan.by_type("aws_security_group_rule") and not efs_plan.by_type("aws_internet_gateway")
    fs = after(efs_plan, f"{prefix}.aws_efs_file_system.this")
    assert fs["encrypted"] is True and fs["throughput_mode"] == "bursting"
    assert fs["lifecycle_policy"][0]["transition_to_ia"] == "AFTER_14_DAYS"
    access_point = after(efs_plan, f"{prefix}.aws_efs_access_point.this")
    root = access_point["root_directory"][0]
    assert root["path"] == "/lambda"
    assert root["creation_info"] == [{"owner_uid": 1001, "owner_gid": 1001, "permissions": "750"}]
    assert access_point["posix_user"][0]["uid"] == 1001 and access_point["posix_user"][0]["gid"] == 1001


def test_efs_functions_and_seeding(efs_plan: PlanResult) -> None:
    api = function(efs_plan, "api")
    # The access point's ARN is only known after apply (test_apply checks the mount itself).
    assert unknown(efs_plan, "module.api.aws_lambda_function.this")["file_system_config"]
    assert api["environment"][0]["variables"]["MODEL_STORE"] == "efs"
    assert api["environment"][0]["variables"]["MODEL_ROOT"] == "/mnt/models"
    assert len(api["vpc_config"]) == 1
    seeder = function(efs_plan, "seeder")
    assert seeder["function_name"] == "inference-efs-seed"
    assert seeder["image_config"][0]["command"] == ["inference.seed.handler"]
    assert seeder["image_uri"] == api["image_uri"], "one image, two handlers"
    assert seeder["reserved_concurrent_executions"] == -1
    assert unknown(efs_plan, "module.seeder.aws_lambda_function.this")["file_system_config"]
    invocation = after(efs_plan, "aws_lambda_invocation.seed[0]")
    assert json.loads(invocation["input"]) == {}
    # triggers = {manifest, file_system, access_point}: the IDs make the map unknown until apply.
    assert unknown(efs_plan, "aws_lambda_invocation.seed[0]")["triggers"]
    assert_http_api(efs_plan)
    assert_repository(efs_plan)
    assert_bucket(efs_plan)


# ---------------------------------------------------------------------------- oci


def test_oci(oci_plan: PlanResult) -> None:
    counts = oci_plan.counts()
    assert counts["aws_lambda_function"] == 1 and not counts["aws_s3_bucket"] and not counts["aws_vpc"]
    fn = function(oci_plan)
    env = fn["environment"][0]["variables"]
    assert env == {
        "MODEL_STORE": "image",
        "MODEL_ROOT": "/opt/models",
        "POWERTOOLS_SERVICE_NAME": "inference",
        "POWERTOOLS_METRICS_NAMESPACE": "LambdaInference",
    }
    assert fn["ephemeral_storage"] == [{"size": 512}]
    policy = policy_statements(oci_plan, "module.api.aws_iam_role_policy.this")
    assert set(policy) == {"WriteOwnLogs"}, "no model store to grant access to"
    assert_http_api(oci_plan)
    assert_repository(oci_plan)


def test_memory_budget_reaches_the_function(
    make_stack: Callable[..., Stack], variables_for: Variables
) -> None:
    """model_memory_budget_mb (null by default: derived from memory_size) sets MODEL_MEMORY_BUDGET_MB."""
    plan = make_stack("oci", state="plan-budget").plan(variables_for("oci", model_memory_budget_mb=300))
    assert function(plan)["environment"][0]["variables"]["MODEL_MEMORY_BUDGET_MB"] == "300"


# ---------------------------------------------------------------------------- IAM (fixtures)


def test_least_privilege_s3_reader(make_stack: Callable[..., Stack]) -> None:
    plan = _fixture_plan(make_stack, "api_s3_reader")
    statements = policy_statements(plan, "module.api.aws_iam_role_policy.this")
    assert set(statements) == {"WriteOwnLogs", "ReadModels", "ListModels"}
    logs = statements["WriteOwnLogs"]
    assert sorted(logs["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs["Resource"] == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/fixture-s3-reader:*"
    assert statements["ReadModels"]["Action"] == "s3:GetObject"
    assert statements["ReadModels"]["Resource"] == "arn:aws:s3:::fixture-models/models/v1/*"
    listing = statements["ListModels"]
    assert listing["Action"] == "s3:ListBucket" and listing["Resource"] == "arn:aws:s3:::fixture-models"
    assert sorted(listing["Condition"]["StringLike"]["s3:prefix"]) == ["models/v1", "models/v1/*"]
    attachments = {c.after["policy_arn"] for c in plan.by_type("aws_iam_role_policy_attachment") if c.after}
    assert attachments == {"arn:aws:iam::aws:policy/AWSXRayDaemonWriteAccess"}, "no VPC: no ENI permissions"


def test_least_privilege_efs_writer(make_stack: Callable[..., Stack]) -> None:
    plan = _fixture_plan(make_stack, "api_efs_writer")
    statements = policy_statements(plan, "module.api.aws_iam_role_policy.this")
    assert set(statements) == {"WriteOwnLogs", "MountModelFileSystemReadWrite"}
    mount = statements["MountModelFileSystemReadWrite"]
    assert sorted(mount["Action"]) == ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
    assert mount["Resource"] == "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123"
    assert mount["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"] == (
        "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123"
    )
    attachments = {c.after["policy_arn"] for c in plan.by_type("aws_iam_role_policy_attachment") if c.after}
    assert attachments == {"arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"}
    assert not plan.by_type("aws_apigatewayv2_api") and not plan.by_type("aws_lambda_permission")
    fn = function(plan)
    assert fn["vpc_config"][0]["subnet_ids"] == ["subnet-0a", "subnet-0b"]
    assert fn["tracing_config"] == [{"mode": "PassThrough"}]


def _refused(stack: Stack, variables: dict[str, Any], match: str) -> None:
    """Validation stops ``variables`` at plan time, with an error that matches ``match``."""
    with pytest.raises(TerraformError, match=match):
        stack.plan(variables)


def test_invalid_variables_fail_before_any_call(
    make_stack: Callable[..., Stack], variables_for: Variables
) -> None:
    """Validation stops a bad value at plan time instead of half-way through an apply."""
    stack = make_stack("oci", state="plan-invalid")
    _refused(stack, variables_for("oci", image_uri="not an image"), "image_uri must not be empty")
    _refused(stack, variables_for("oci", name="Bad_Name"), "name must be")
    _refused(
        stack,
        variables_for("oci", model_memory_budget_mb=0.5),
        "model_memory_budget_mb must be null or a whole number",
    )
    # A placeholder passes the stack (see the next test) but never reaches the function.
    _refused(stack, variables_for("oci", image_uri="pending"), r"image_uri must be <repository>:<tag>")


def test_targeted_plan_takes_a_placeholder_image(
    make_stack: Callable[..., Stack], variables_for: Variables
) -> None:
    """The deploy flow creates the repository (and bucket) before any image exists."""
    stack = make_stack("s3", state="plan-targeted")
    plan = stack.plan(
        variables_for("s3", image_uri="pending"), targets=["module.image_repository", "module.model_bucket"]
    )
    modules = {c.module_address for c in plan.changes}
    assert modules == {"module.image_repository", "module.model_bucket"}, plan.summary()


# ---------------------------------------------------------------------------- authorization


def _output(plan: PlanResult, name: str) -> str:
    change = plan.raw["output_changes"][name]
    assert not change.get("after_unknown"), f"output {name} is only known after apply"
    return change["after"]


def _routes(plan: PlanResult) -> list[dict[str, Any]]:
    return [c.after for c in plan.by_type("aws_apigatewayv2_route") if c.after]


def test_authorization_jwt(make_stack: Callable[..., Stack], variables_for: Variables) -> None:
    issuer = "https://issuer.example.com/tenant"
    plan = make_stack("oci", state="plan-jwt").plan(
        variables_for("oci", api_authorization="JWT", jwt_issuer=issuer, jwt_audiences=["inference"])
    )
    authorizer = after(plan, "module.api.aws_apigatewayv2_authorizer.jwt[0]")
    assert authorizer["authorizer_type"] == "JWT"
    assert authorizer["identity_sources"] == ["$request.header.Authorization"]
    assert authorizer["jwt_configuration"] == [{"issuer": issuer, "audience": ["inference"]}]
    assert {route["authorization_type"] for route in _routes(plan)} == {"JWT"}
    # Every route names the authorizer, whose id is only known after apply.
    assert all(unknown(plan, c.address).get("authorizer_id") for c in plan.by_type("aws_apigatewayv2_route"))
    assert _output(plan, "api_authorization") == "JWT"  # what make invoke reads


def test_authorization_aws_iam_and_default(
    make_stack: Callable[..., Stack], variables_for: Variables, oci_plan: PlanResult
) -> None:
    plan = make_stack("oci", state="plan-iam").plan(variables_for("oci", api_authorization="AWS_IAM"))
    assert {route["authorization_type"] for route in _routes(plan)} == {"AWS_IAM"}
    assert all(route.get("authorizer_id") is None for route in _routes(plan))
    assert not plan.by_type("aws_apigatewayv2_authorizer")
    assert _output(plan, "api_authorization") == "AWS_IAM"
    # The default stays the sample's public API.
    assert {route["authorization_type"] for route in _routes(oci_plan)} == {"NONE"}
    assert not oci_plan.by_type("aws_apigatewayv2_authorizer")


def test_authorization_variables_are_validated(
    make_stack: Callable[..., Stack], variables_for: Variables
) -> None:
    stack = make_stack("oci", state="plan-auth-invalid")
    _refused(
        stack,
        variables_for("oci", api_authorization="COGNITO"),
        "api_authorization must be NONE, AWS_IAM or JWT",
    )
    _refused(
        stack,
        variables_for("oci", api_authorization="JWT", jwt_issuer="http://issuer.example.com"),
        "jwt_issuer must be an https:// URL",
    )
    _refused(
        stack,
        variables_for("oci", api_authorization="JWT", jwt_issuer="https://issuer.example.com"),
        "JWT needs jwt_issuer and at least one jwt_audiences",
    )
