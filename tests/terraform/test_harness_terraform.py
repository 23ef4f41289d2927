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
    MODULE_ABSENT_LOCALLY,
    MODULE_IGNORE_CHANGES,
    SERVICES,
    module_calls,
    render_override,
    sync_local_stack,
)
from harness.terraform.runner import ResourceChange, _is_data_address
from harness.terraform.workcopy import GENERATED_MARK, remove_legacy_override

FAKE_TERRAFORM = """#!/bin/sh
# Records its arguments and environment, then behaves per the subcommand.
printf '%s\\n' "$*" >> "$FAKE_TF_LOG"
printf 'TF_DATA_DIR=%s TF_CLI_CONFIG_FILE=%s TF_IN_AUTOMATION=%s AWS_ACCESS_KEY_ID=%s ' \\
  "$TF_DATA_DIR" "$TF_CLI_CONFIG_FILE" "$TF_IN_AUTOMATION" "$AWS_ACCESS_KEY_ID" >> "$FAKE_TF_LOG"
printf 'TF_INPUT=%s TF_CLI_ARGS_plan=%s cwd=%s\\n' "$TF_INPUT" "$TF_CLI_ARGS_plan" "$(pwd -P)" \\
  >> "$FAKE_TF_LOG"
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


def test_local_stack_is_a_working_copy(workspace: Path, tmp_path: Path) -> None:
    stack = tmp_path / "terraform" / "efs"
    shutil.copytree(workspace / "terraform" / "efs", stack)
    (tmp_path / "modules").symlink_to(workspace / "modules")  # ../../modules from the stack
    committed = {p.name: p.read_text() for p in stack.iterdir()}
    calls = {c.name: c.source_dir.name for c in module_calls(stack)}
    assert calls == {
        "image_repository": "image_repository",
        "model_bucket": "model_bucket",
        "model_filesystem": "model_filesystem",
        "api": "inference_api",
        "seeder": "inference_api",
    }
    state = tmp_path / "state" / "local" / "efs"
    work, copies = state / "stack", state / "modules"
    override = sync_local_stack(stack, work, "http://127.0.0.1:1", modules_dir=copies).read_text()
    assert {p.name: p.read_text() for p in stack.iterdir()} == committed, "the stack is only read"
    for name in committed:
        if name.endswith(".tf"):
            assert (work / name).read_text() == committed[name]
    # Every module block is pointed somewhere that resolves from the copy: its private copy when
    # the local target changes it, the committed module otherwise.
    for name, folder in calls.items():
        changed = folder in MODULE_IGNORE_CHANGES or folder in MODULE_ABSENT_LOCALLY
        expected = copies / folder if changed else workspace / "modules" / folder
        source = override.split(f'module "{name}" {{\n  source = "', 1)[1].split('"', 1)[0]
        assert (work / source).resolve() == expected.resolve(), name
    copy_override = (copies / "inference_api" / "local_override.tf").read_text()
    for address, attributes in MODULE_IGNORE_CHANGES["inference_api"].items():
        assert f'resource "{address.split(".")[0]}" "{address.split(".")[1]}"' in copy_override
        assert all(a in copy_override for a in attributes)
    assert (copies / "inference_api" / "main.tf").read_text() == (
        workspace / "modules" / "inference_api" / "main.tf"
    ).read_text()
    # Files gone from the module or the stack go from the copies too; others stay.
    (copies / "inference_api" / "stale.tf").write_text("# old\n")
    (work / "stale.tf").write_text("# old\n")
    (work / ".terraform.lock.hcl").write_text("# kept\n")
    sync_local_stack(stack, work, "http://127.0.0.1:1", modules_dir=copies)
    assert not (copies / "inference_api" / "stale.tf").exists() and not (work / "stale.tf").exists()
    # The committed provider lock is the copy's: init checks the hashes an AWS run checks.
    assert (work / ".terraform.lock.hcl").read_text() == (stack / ".terraform.lock.hcl").read_text()


def test_lifecycle_configuration_is_absent_locally(workspace: Path, tmp_path: Path) -> None:
    """Its fixed 55 s wait is gone from local applies; the committed module still has it for AWS."""
    stack = tmp_path / "terraform" / "s3"
    shutil.copytree(workspace / "terraform" / "s3", stack)
    (tmp_path / "modules").symlink_to(workspace / "modules")
    copies = tmp_path / "state" / "modules"
    sync_local_stack(stack, tmp_path / "state" / "stack", "http://127.0.0.1:1", modules_dir=copies)
    local = (copies / "model_bucket" / "local_override.tf").read_text()
    assert 'resource "aws_s3_bucket_lifecycle_configuration" "this" {\n  count = 0\n}' in local
    committed = (workspace / "modules" / "model_bucket" / "main.tf").read_text()
    assert 'resource "aws_s3_bucket_lifecycle_configuration" "this"' in committed
    assert not list((workspace / "modules" / "model_bucket").glob("*_override.tf"))


def test_legacy_override_is_removed_but_not_a_users(tmp_path: Path) -> None:
    (tmp_path / "local_override.tf").write_text(f"{GENERATED_MARK} for the local target\n")
    assert remove_legacy_override(tmp_path) and not (tmp_path / "local_override.tf").exists()
    assert not remove_legacy_override(tmp_path)
    (tmp_path / "local_override.tf").write_text("# mine\n")
    assert not remove_legacy_override(tmp_path) and (tmp_path / "local_override.tf").exists()


def test_ignore_changes_entries_name_real_resources(workspace: Path) -> None:
    """A typo in MODULE_IGNORE_CHANGES would make Terraform fail on "Missing resource to override"."""
    for module, resources in [*MODULE_IGNORE_CHANGES.items(), *MODULE_ABSENT_LOCALLY.items()]:
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
    assert f"cwd={stack.work_dir}" in calls[1] and stack.work_dir.is_relative_to(stack.state_dir)
    assert (stack.work_dir / "local_override.tf").exists() and (stack.work_dir / "main.tf").exists()
    assert sorted(p.name for p in stack.stack_dir.iterdir()) == ["main.tf"], "committed folder untouched"


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


def test_both_targets_leave_the_committed_folder_alone(
    fake_stack: tuple[Stack, Path, list[str]], tmp_path: Path
) -> None:
    """And both delete the override an earlier harness wrote there (a user's own one stays)."""
    stack, log, lines = fake_stack
    legacy = stack.stack_dir / "local_override.tf"
    legacy.write_text(f"{GENERATED_MARK} for the local target: old layout\n")
    stack.prepare()
    assert not legacy.exists() and any("removed the old generated" in line for line in lines)
    legacy.write_text(f"{GENERATED_MARK} for the local target: old layout\n")
    aws = Stack("demo", "aws", stacks_dir=stack.stack_dir.parent, state_root=tmp_path / "state",
                terraform_bin=stack._tf.terraform_bin_path)  # fmt: skip
    aws.plan({"image_uri": "r:t"})
    assert not legacy.exists()
    assert aws.work_dir == aws.stack_dir and aws.state_dir != stack.state_dir
    assert f"cwd={aws.stack_dir}" in log.read_text()
    assert sorted(p.name for p in stack.stack_dir.iterdir()) == ["main.tf"]


def test_run_by_hand_passes_the_deploy_variables(fake_stack: tuple[Stack, Path, list[str]]) -> None:
    stack, log, _ = fake_stack
    var_file = stack.state_dir / "deploy-variables.json"
    var_file.parent.mkdir(parents=True, exist_ok=True)
    var_file.write_text('{"image_uri": "r:t"}')
    assert stack.run_by_hand(["plan", "-no-color"], var_file=var_file) == 2
    calls = log.read_text().splitlines()
    assert calls[-2] == "plan -no-color" and f"cwd={stack.work_dir}" in calls[-1]
    assert f"TF_CLI_ARGS_plan=-var-file={var_file}" in calls[-1] and "TF_INPUT= " in calls[-1]


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
