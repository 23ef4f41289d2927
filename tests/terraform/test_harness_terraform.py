"""Unit tests of harness/terraform: CLI config, override, runner plumbing. Seconds, no cloud.

The runner is exercised against a fake ``terraform`` script, which shows what reaches the CLI
(flags, environment) and that output is streamed and failures carry stderr.
"""

from __future__ import annotations

import json
import shutil
import stat
from pathlib import Path

import pytest

from harness.terraform import Stack, TerraformError
from harness.terraform.cliconfig import (
    MirrorNotFoundError,
    find_plugin_mirror,
    render_cli_config,
    terraform_env,
    write_cli_config,
)
from harness.terraform.override import (
    MODULE_IGNORE_CHANGES,
    SERVICES,
    module_calls,
    remove_override,
    render_override,
    write_override,
)
from harness.terraform.runner import ResourceChange, _is_data_address

FAKE_TERRAFORM = """#!/bin/sh
# Records its arguments and environment, then behaves per the subcommand.
printf '%s\\n' "$*" >> "$FAKE_TF_LOG"
printf 'TF_DATA_DIR=%s TF_CLI_CONFIG_FILE=%s TF_IN_AUTOMATION=%s AWS_ACCESS_KEY_ID=%s\\n' \\
  "$TF_DATA_DIR" "$TF_CLI_CONFIG_FILE" "$TF_IN_AUTOMATION" "$AWS_ACCESS_KEY_ID" >> "$FAKE_TF_LOG"
case "$1" in
  init) echo "Initializing the backend..."; echo "Terraform has been successfully initialized!";;
  apply) echo "module.x.aws_thing.this: Creating..."; echo "Apply complete!";;
  plan) echo "Plan: 1 to add"; exit 2;;
  show) echo '{"resource_changes": [{"address": "aws_thing.this", "type": "aws_thing", "name": "this",
        "mode": "managed", "change": {"actions": ["create"], "before": null, "after": {"a": 1}}}]}';;
  output) echo '{"api_url": {"value": "http://x/develop/", "type": "string", "sensitive": false}}';;
  destroy) echo "Error: something broke" >&2; exit 1;;
esac
"""


# ---------------------------------------------------------------------------- CLI config


def test_cli_config_uses_only_the_mirror(tmp_path: Path) -> None:
    text = render_cli_config(Path("/opt/tf-plugins"))
    assert 'path    = "/opt/tf-plugins"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text


def test_find_plugin_mirror_honours_env(tmp_path: Path) -> None:
    (tmp_path / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    assert find_plugin_mirror({"TF_PLUGIN_MIRROR": str(tmp_path)}) == tmp_path
    with pytest.raises(MirrorNotFoundError, match="TF_PLUGIN_MIRROR"):
        find_plugin_mirror({"TF_PLUGIN_MIRROR": str(tmp_path / "nowhere")})


def test_write_cli_config_is_stable(tmp_path: Path) -> None:
    path = write_cli_config(Path("/m"), path=tmp_path / "terraformrc")
    mtime = path.stat().st_mtime_ns
    assert write_cli_config(Path("/m"), path=path) == path
    assert path.stat().st_mtime_ns == mtime, "an unchanged config must not be rewritten"


def test_env_local_target_never_uses_caller_credentials(tmp_path: Path) -> None:
    base = {"AWS_PROFILE": "prod", "AWS_SESSION_TOKEN": "t", "PATH": "/bin"}
    env = terraform_env("local", "s3", data_dir=tmp_path / "d", cli_config=tmp_path / "rc", base=base)
    assert env["AWS_ACCESS_KEY_ID"] == "test" and "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    assert env["TF_DATA_DIR"] == str(tmp_path / "d") and env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "rc")
    assert env["TF_IN_AUTOMATION"] == "1" and env["TF_INPUT"] == "0"
    aws = terraform_env("aws", "s3", data_dir=tmp_path / "d", cli_config=tmp_path / "rc", base=base)
    assert aws["AWS_PROFILE"] == "prod" and "AWS_ACCESS_KEY_ID" not in aws


# ---------------------------------------------------------------------------- override


def test_override_points_every_service_at_the_endpoint() -> None:
    text = render_override("http://127.0.0.1:4599/")
    for service in SERVICES:
        assert '"http://127.0.0.1:4599"' in text and f"    {service} " in text
    assert "skip_credentials_validation = true" in text and "s3_use_path_style           = true" in text
    assert 'api_base_url = "http://127.0.0.1:4599/_aws/execute-api/${module.api.api_id}"' in text
    # The account ID is asked from STS (moto answers 123456789012): ARNs built from it, like the
    # API's execution ARN in the invoke permission, must look like AWS's.
    assert "skip_requesting_account_id" not in text


def test_override_module_copies(workspace: Path, tmp_path: Path) -> None:
    stack = tmp_path / "terraform" / "efs"
    shutil.copytree(workspace / "terraform" / "efs", stack)
    (tmp_path / "modules").symlink_to(workspace / "modules")  # ../../modules from the stack
    calls = {c.name: c.source_dir.name for c in module_calls(stack)}
    assert calls == {
        "image_repository": "image_repository",
        "model_bucket": "model_bucket",
        "model_filesystem": "model_filesystem",
        "api": "inference_api",
        "seeder": "inference_api",
    }
    copies = tmp_path / "state" / "modules"
    override = write_override(stack, "http://127.0.0.1:1", modules_dir=copies).read_text()
    assert 'module "api" {' in override and 'module "seeder" {' in override
    assert 'module "model_bucket"' not in override, "modules without ignores keep their source"
    copy_override = (copies / "inference_api" / "local_override.tf").read_text()
    for address, attributes in MODULE_IGNORE_CHANGES["inference_api"].items():
        assert f'resource "{address.split(".")[0]}" "{address.split(".")[1]}"' in copy_override
        assert all(a in copy_override for a in attributes)
    assert (copies / "inference_api" / "main.tf").read_text() == (
        workspace / "modules" / "inference_api" / "main.tf"
    ).read_text()
    # Files gone from the module go from the copy too.
    (copies / "inference_api" / "stale.tf").write_text("# old\n")
    write_override(stack, "http://127.0.0.1:1", modules_dir=copies)
    assert not (copies / "inference_api" / "stale.tf").exists()
    assert remove_override(stack) and not (stack / "local_override.tf").exists()
    assert not remove_override(stack)


def test_ignore_changes_entries_name_real_resources(workspace: Path) -> None:
    """A typo in MODULE_IGNORE_CHANGES would make Terraform fail on "Missing resource to override"."""
    for module, resources in MODULE_IGNORE_CHANGES.items():
        text = "".join(p.read_text() for p in (workspace / "modules" / module).glob("*.tf"))
        for address in resources:
            resource_type, name = address.split(".")
            assert f'resource "{resource_type}" "{name}"' in text, f"{module}: no {address}"


# ---------------------------------------------------------------------------- runner


@pytest.fixture
def fake_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Stack, Path, list[str]]:
    binary = tmp_path / "terraform"
    binary.write_text(FAKE_TERRAFORM)
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    stacks = tmp_path / "stacks"
    (stacks / "demo").mkdir(parents=True)
    (stacks / "demo" / "main.tf").write_text('locals {\n  api_base_url = "x"\n}\n')
    log = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_TF_LOG", str(log))
    monkeypatch.setenv("TF_PLUGIN_MIRROR", str(tmp_path))
    (tmp_path / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    lines: list[str] = []
    stack = Stack(
        "demo",
        endpoint_url="http://127.0.0.1:1",
        stacks_dir=stacks,
        state_root=tmp_path / "state",
        progress=lines.append,
        terraform_bin=str(binary),
    )
    return stack, log, lines


def test_runner_flags_env_and_streaming(fake_stack: tuple[Stack, Path, list[str]]) -> None:
    stack, log, lines = fake_stack
    stack.state_path.parent.mkdir(parents=True, exist_ok=True)
    stack.state_path.write_text("{}")  # the fake does not write state; output() reads only if present
    outputs = stack.apply({"image_uri": "r:t", "nothing": None, "tags": {"a": "b"}}, targets=["module.x"])
    calls = log.read_text().splitlines()
    init, apply = calls[0], calls[2]
    assert init.startswith("init ") and f"-backend-config=path={stack.state_path}" in init
    assert "-reconfigure" in init and "-input=false" in init
    assert apply.startswith("apply ") and "-auto-approve" in apply and "-target=module.x" in apply
    assert "-force" not in apply and "-var-file=" in apply
    assert f"TF_DATA_DIR={stack.data_dir}" in calls[1] and "AWS_ACCESS_KEY_ID=test" in calls[1]
    assert "module.x.aws_thing.this: Creating..." in lines, "output lines reach the progress callback"
    assert outputs == {"api_url": "http://x/develop/"}
    assert (stack.stack_dir / "local_override.tf").exists()


def test_runner_init_only_when_needed(fake_stack: tuple[Stack, Path, list[str]]) -> None:
    stack, _, _ = fake_stack
    stack.data_dir.mkdir(parents=True)
    assert stack.init() is True
    assert stack.init() is False, "nothing changed: no second init"
    (stack.stack_dir / "extra.tf").write_text("# a new file, maybe a new module block\n")
    assert stack.init() is True


def test_runner_plan_parses_changes(fake_stack: tuple[Stack, Path, list[str]]) -> None:
    stack, log, _ = fake_stack
    plan = stack.plan({"image_uri": "r:t"})
    assert plan.has_changes
    assert [c.address for c in plan.changes] == ["aws_thing.this"]
    assert plan.counts()["aws_thing"] == 1
    assert "-detailed-exitcode" in log.read_text()


def test_runner_failure_carries_stderr(fake_stack: tuple[Stack, Path, list[str]]) -> None:
    stack, _, lines = fake_stack
    stack.state_path.parent.mkdir(parents=True, exist_ok=True)
    stack.state_path.write_text("{}")
    with pytest.raises(TerraformError, match="something broke") as failure:
        stack.destroy({"image_uri": "r:t"})
    assert failure.value.returncode == 1
    assert "Error: something broke" in lines, "stderr is streamed too"


def test_aws_target_removes_the_override(fake_stack: tuple[Stack, Path, list[str]], tmp_path: Path) -> None:
    stack, _, _ = fake_stack
    stack.prepare()
    assert (stack.stack_dir / "local_override.tf").exists()
    aws = Stack("demo", "aws", stacks_dir=stack.stack_dir.parent, state_root=tmp_path / "state",
                terraform_bin=stack._tf.terraform_bin_path)  # fmt: skip
    aws.prepare()
    assert not (stack.stack_dir / "local_override.tf").exists()
    assert aws.state_dir != stack.state_dir


def test_unknown_target_or_variant() -> None:
    with pytest.raises(ValueError, match="target"):
        Stack("s3", "gcp")
    with pytest.raises(ValueError, match="variant"):
        Stack("nope")


@pytest.mark.parametrize(
    ("address", "is_data"),
    [
        ("data.aws_partition.current", True),
        ("module.api.data.aws_iam_policy_document.this", True),
        ('module.x["a.b"].data.y.z', True),
        ("module.api.aws_lambda_function.this", False),
        ("module.data.aws_s3_bucket.this", False),
        ("aws_lambda_invocation.seed[0]", False),
    ],
)
def test_data_addresses(address: str, is_data: bool) -> None:
    assert _is_data_address(address) is is_data


def test_resource_change_from_json() -> None:
    change = ResourceChange.from_json(
        json.loads('{"address": "a.b", "type": "a", "name": "b", "change": {"actions": ["no-op"]}}')
    )
    assert change.is_noop and change.mode == "managed"
