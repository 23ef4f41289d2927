"""Static checks of the Terraform code: fmt, validate, checkov, README tables. No cloud needed.

``validate`` and checkov run on the test's copy of the stacks (no generated overrides, no
``.terraform``), so what is checked is exactly what is committed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.paths import MODULES_DIR, REPO_ROOT, TERRAFORM_DIR, VARIANTS
from harness.terraform import docs
from harness.terraform.cliconfig import write_cli_config
from harness.terraform.override import render_override

MODULES = ("image_repository", "inference_api", "model_bucket", "model_filesystem")
CHECKOV_CANDIDATES = (REPO_ROOT / ".state" / "tools" / "checkov" / "bin" / "checkov",)
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def _terraform(
    args: list[str], cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["terraform", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )


def test_fmt(terraform_bin: str, pristine_tree: Path) -> None:
    """``terraform fmt -check -recursive`` over modules/ and terraform/ (generated files excluded)."""
    for folder in ("modules", "terraform", "fixtures"):
        result = _terraform(["fmt", "-check", "-recursive", "-diff", "-no-color", folder], cwd=pristine_tree)
        assert result.returncode == 0, (
            f"terraform fmt would change {folder}/:\n{result.stdout}{result.stderr}"
        )


def test_generated_override_is_fmt_clean(terraform_bin: str, tmp_path: Path) -> None:
    """The harness writes the override next to committed code; it must not be the odd one out."""
    (tmp_path / "local_override.tf").write_text(
        render_override(
            "http://127.0.0.1:4566",
            ignore_changes={"aws_lambda_invocation.seed": ["triggers"], "aws_x.y": ["all"]},
            module_sources={"api": "../../.state/terraform/local/s3/modules/inference_api"},
        )
    )
    result = _terraform(["fmt", "-check", "-diff", "-no-color", "."], cwd=tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
@pytest.mark.parametrize("path", [f"modules/{m}" for m in MODULES] + [f"terraform/{v}" for v in VARIANTS])
def test_validate(terraform_bin: str, pristine_tree: Path, tmp_path: Path, path: str) -> None:
    """``init -backend=false`` with the provider mirror, then ``validate``, for every module and root."""
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(write_cli_config(path=tmp_path / "terraformrc")),
        "TF_DATA_DIR": str(tmp_path / ".terraform"),
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
    }
    directory = pristine_tree / path
    # A root stack's committed lock must already hold what init installs from the mirror.
    readonly = ["-lockfile=readonly"] if path.startswith("terraform/") else []
    init_args = ["init", "-backend=false", "-input=false", "-no-color", *readonly]
    init = _terraform(init_args, cwd=directory, env=env)
    assert init.returncode == 0, init.stderr or init.stdout
    result = _terraform(["validate", "-json", "-no-color"], cwd=directory, env=env)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


def _checkov() -> str | None:
    explicit = os.environ.get("CHECKOV_BIN")
    for candidate in (Path(explicit),) if explicit else CHECKOV_CANDIDATES:
        if candidate.exists():
            return str(candidate)
    return shutil.which("checkov")


@pytest.mark.slow
def test_checkov_zero_failed(pristine_tree: Path) -> None:
    """checkov over modules/ and terraform/ (a pristine copy, test fixtures left out): zero failed
    checks; every skip says why in place."""
    checkov = _checkov()
    if checkov is None:
        pytest.skip(
            "checkov is not installed: python3 -m venv .state/tools/checkov && "
            ".state/tools/checkov/bin/pip install checkov (make setup does this)"
        )
    # --skip-download and BC_SKIP_MAPPING: offline, never a call to the vendor's API.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    result = subprocess.run(
        [checkov, "--framework", "terraform", "--skip-download", "--compact", "-o", "json",
         "-d", str(pristine_tree), "--skip-path", "fixtures"],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']}): {check['check_name']}"
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    assert not failed, "checkov failed checks:\n" + "\n".join(failed)
    assert sum(report["summary"]["parsing_errors"] for report in reports) == 0
    assert sum(report["summary"]["passed"] for report in reports) > 100


def test_every_checkov_skip_is_justified() -> None:
    """A skip without a reason is a silenced finding; each one must say why it does not apply."""
    skips = []
    for tf in sorted([*MODULES_DIR.rglob("*.tf"), *TERRAFORM_DIR.rglob("*.tf")]):
        if tf.name.endswith("_override.tf"):
            continue
        for number, line in enumerate(tf.read_text().splitlines(), 1):
            if match := SKIP_COMMENT.search(line):
                skips.append((f"{tf.relative_to(REPO_ROOT)}:{number}", match.group(1), match.group(2) or ""))
    assert skips, "expected the documented checkov skips"
    unjustified = [f"{where} {check}" for where, check, reason in skips if len(reason.strip()) < 20]
    assert not unjustified, f"checkov skips without a reason: {unjustified}"


def test_readme_tables_are_current() -> None:
    """The inputs/outputs tables match the code (``python -m harness.terraform.docs`` refreshes)."""
    stale = [str(d) for d in docs.documented_dirs() if docs.update_readme(d, check=True)]
    assert not stale, f"stale README tables (run python -m harness.terraform.docs): {stale}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_root_readme_documents_aws_target(variant: str) -> None:
    text = (TERRAFORM_DIR / variant / "README.md").read_text()
    for needle in ("costs money", "terraform destroy", "terraform init", "terraform apply",
                   "get-login-password", "docker push", "AWS_PROFILE", "TF_VAR_region"):  # fmt: skip
        assert needle in text, f"terraform/{variant}/README.md does not mention {needle!r}"


@pytest.mark.parametrize("module", MODULES)
def test_module_layout(module: str) -> None:
    """terraform-aws-modules layout: one job per file, every variable typed and described."""
    directory = MODULES_DIR / module
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
        assert (directory / name).exists(), f"modules/{module}/{name} is missing"
    variables, outputs = docs.parse(directory)
    assert variables and outputs
    for variable in variables:
        assert variable.description, f"{module}: variable {variable.name} has no description"
        assert variable.type != "any", f"{module}: variable {variable.name} has no type"
    for output in outputs:
        assert output.description, f"{module}: output {output.name} has no description"
    main = (directory / "main.tf").read_text()
    names = re.findall(r'^resource\s+"[^"]+"\s+"([^"]+)"', main, re.MULTILINE)
    assert "this" in names, f"{module}: its main resource is not named 'this'"
    versions = (directory / "versions.tf").read_text()
    # Modules take a lower bound (terraform-aws-modules' habit): the release the stacks are tested on.
    assert 'required_version = ">= 1.5"' in versions and 'version = ">= 5.100"' in versions


@pytest.mark.parametrize("variant", VARIANTS)
def test_stacks_bound_the_provider_and_commit_its_lock(variant: str) -> None:
    """``~> 5.100`` in every root stack, and a committed lock with the release and its hash."""
    stack = TERRAFORM_DIR / variant
    versions = (stack / "versions.tf").read_text()
    assert re.search(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*"~> 5\.100"', versions), versions
    lock = (stack / ".terraform.lock.hcl").read_text()
    provider = re.search(r'provider "registry.terraform.io/hashicorp/aws" \{(.*?)\n\}', lock, re.DOTALL)
    assert provider, lock
    version = re.search(r'version\s*=\s*"(5\.(\d+)\.\d+)"', provider[1])
    assert version and int(version[2]) >= 100, provider[1]
    assert re.search(r'"h1:[A-Za-z0-9+/=]{44}"', provider[1]), "the lock holds no h1: hash"
    relative = f"terraform/{variant}/.terraform.lock.hcl"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", relative], cwd=REPO_ROOT, capture_output=True, check=False
    )
    assert tracked.returncode == 0, f"{relative} is not committed"
    ignored = subprocess.run(["git", "check-ignore", "-q", relative], cwd=REPO_ROOT, check=False)
    assert ignored.returncode == 1, f"{relative} is git-ignored"
