"""The generated ``local_override.tf`` that turns a root stack into its local-target twin.

The stacks are written for AWS and know nothing about the emulator. For the local target the
harness runs Terraform on a working copy of the stack under the state folder (``workcopy.py``)
and drops an override file into that copy, which Terraform merges per block into the stack:

- ``provider "aws"``: every service the stacks call goes to the local endpoint (the gateway, or
  a test's own moto), with fake credentials and no EC2 metadata or credential checks.
- ``locals { api_base_url }``: the URL the local gateway serves the HTTP API under, instead of
  ``https://<id>.execute-api.<region>.amazonaws.com``.
- ``module "<name>" { source }`` for every module block: the stacks call ``../../modules/<name>``
  relative to their committed folder, which means nothing from the copy, so each source is
  pointed back at the committed module (or at its private copy, below).
- ``lifecycle { ignore_changes }`` where the emulator drops or rewrites fields, so ``terraform
  plan`` after ``apply`` shows no changes.

Override files only merge into the module of their own folder, and the resources that need
``ignore_changes`` live in the shared modules, which must not change for the local target (and
are used by the AWS target at the same time). So for each module listed in
``MODULE_IGNORE_CHANGES`` or ``MODULE_ABSENT_LOCALLY`` the harness keeps a private copy under the
stack's state folder with its own ``local_override.tf`` beside it, and the root override points
that module block's ``source`` at the copy. The copy is re-synced before every run, so it never
drifts from ``modules/``.

Nothing of it is ever written into ``terraform/<variant>/`` or ``modules/``: the AWS target runs
in the committed folder, which holds only committed files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness import local_settings
from harness.terraform.workcopy import GENERATED_MARK, sync_provider_lock, sync_tf_files

OVERRIDE_NAME = "local_override.tf"

#: Provider endpoint keys of every service the stacks (and their modules) call, plus the few the
#: provider itself touches (sts for the account ID). A missing one would silently go to AWS.
SERVICES: tuple[str, ...] = (
    "apigateway",
    "apigatewayv2",
    "cloudwatch",
    "dynamodb",
    "ec2",
    "ecr",
    "efs",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sqs",
    "ssm",
    "sts",
    "xray",
)

#: Fields the emulator drops, by module folder name -> resource address in the module ->
#: attributes. Every entry hides a difference between the local target and AWS, so each one is
#: justified; found by applying each stack against moto, changing it, applying again and planning.
MODULE_IGNORE_CHANGES: dict[str, dict[str, list[str]]] = {
    "inference_api": {
        # moto's UpdateFunctionConfiguration ignores TracingConfig and KMSKeyArn (the local cloud's
        # patched moto adds FileSystemConfigs, ImageConfig and EphemeralStorage, not these): a
        # changed tracing mode or key would be accepted, not stored, and planned again forever.
        # Creation stores both, so a fresh apply still checks them.
        "aws_lambda_function.this": ["tracing_config", "kms_key_arn"],
        # moto implements no apigatewayv2 UpdateStage, and its TagResource does not know stage
        # ARNs (404): any in-place change of the stage (throttling, access log format, tags) would
        # fail the apply after minutes of retries. A new stage gets everything on creation.
        "aws_apigatewayv2_stage.this": ["all"],
    },
    "model_filesystem": {
        # moto does not implement UpdateFileSystem: a changed throughput mode would fail the apply
        # (HTTP 500 retried for minutes). A new file system gets the new mode on creation.
        "aws_efs_file_system.this": ["throughput_mode", "provisioned_throughput_in_mibps"],
        # moto keeps a security group rule's description only for CIDR rules: rules that reference
        # another group or a prefix list read back without one.
        "aws_vpc_security_group_ingress_rule.efs_nfs_from_function": ["description"],
        "aws_vpc_security_group_egress_rule.function_nfs_to_efs": ["description"],
        "aws_vpc_security_group_egress_rule.function_https_to_s3": ["description"],
    },
}

#: Resources the local target does not create, by module folder name -> address -> why: ones the
#: emulator cannot delete, and ones that only cost time there. The local copy of the module gets
#: ``count = 0`` for them; nothing else may reference them.
MODULE_ABSENT_LOCALLY: dict[str, dict[str, str]] = {
    "model_bucket": {
        # Provider 5.100's create and update of a lifecycle configuration wait 10 s, then read it
        # back every 5 s until 10 reads in a row equal what was written: 55 s even when the first
        # read matches, as moto's does (measured with TF_LOG: 10 GETs, 5 s apart, all equal). No
        # answer of the endpoint shortens that fixed wait, and moto never runs lifecycle rules
        # (nothing expires locally either way), so locally the resource is only the 55 s.
        "aws_s3_bucket_lifecycle_configuration.this": (
            "provider waits a fixed 55 s after writing it; moto never applies it: not created locally."
        ),
    },
    "model_filesystem": {
        # moto implements PutFileSystemPolicy but not DeleteFileSystemPolicy: destroy would fail
        # (HTTP 500 retried for minutes). The policy only denies non-TLS access; local mounts are
        # bind mounts without NFS or TLS anyway.
        "aws_efs_file_system_policy.this": "moto has no DeleteFileSystemPolicy: not created locally.",
    },
}

_MODULE_BLOCK = re.compile(r'^module\s+"([^"]+)"\s*\{', re.MULTILINE)
_SOURCE_ARG = re.compile(r'^\s*source\s*=\s*"([^"]+)"', re.MULTILINE)


@dataclass(frozen=True)
class ModuleCall:
    """A ``module`` block of a root stack with a local source."""

    name: str
    source_dir: Path  # the ``source`` argument, resolved from the stack's folder


def _hcl_string(value: str) -> str:
    """A double-quoted HCL string. JSON escaping is valid HCL except for template sequences."""
    return json.dumps(value).replace("${", "$${").replace("%{", "%%{")


def _lifecycle_blocks(ignore_changes: Mapping[str, Sequence[str]]) -> list[str]:
    lines: list[str] = []
    for address, attributes in sorted(ignore_changes.items()):
        if not attributes:
            continue
        resource_type, name = address.split(".", 1)
        # ``all`` is a keyword, not a list element: ignore_changes = all.
        ignored = "all" if list(attributes) == ["all"] else f"[{', '.join(attributes)}]"
        lines += [
            "",
            f'resource "{resource_type}" "{name}" {{',
            "  lifecycle {",
            f"    ignore_changes = {ignored}",
            "  }",
            "}",
        ]
    return lines


def module_calls(stack_dir: Path) -> list[ModuleCall]:
    """The module blocks of a stack whose source is a local path (``./`` or ``../``)."""
    calls: list[ModuleCall] = []
    for tf in sorted(stack_dir.glob("*.tf")):
        if tf.name.endswith("_override.tf") or tf.name == "override.tf":
            continue
        text = tf.read_text()
        for block in _MODULE_BLOCK.finditer(text):
            source = _SOURCE_ARG.search(text, block.end())
            if source and source.group(1).startswith(("./", "../")):
                calls.append(ModuleCall(block.group(1), (stack_dir / source.group(1)).resolve()))
    return calls


def _absent_blocks(absent: Mapping[str, str]) -> list[str]:
    lines: list[str] = []
    for address, reason in sorted(absent.items()):
        resource_type, name = address.split(".", 1)
        lines += ["", f"# {reason}", f'resource "{resource_type}" "{name}" {{', "  count = 0", "}"]
    return lines


def sync_module_copy(
    source_dir: Path,
    copy_dir: Path,
    ignore_changes: Mapping[str, Sequence[str]],
    absent: Mapping[str, str] | None = None,
) -> None:
    """Make ``copy_dir`` the module's ``*.tf`` files plus a ``local_override.tf`` with the ignores
    (and ``count = 0`` for the resources in ``absent``).

    Files are rewritten only when their text changes, and files gone from the module are removed.
    """
    override = (
        "\n".join(
            [
                f"{GENERATED_MARK}: local-target copy of {source_dir.name}.",
                "# Fields the emulator drops (see MODULE_IGNORE_CHANGES) are ignored here only.",
                *_lifecycle_blocks(ignore_changes),
                *_absent_blocks(absent or {}),
            ]
        )
        + "\n"
    )
    sync_tf_files(source_dir, copy_dir, {OVERRIDE_NAME: override})


def render_override(
    endpoint_url: str,
    *,
    ignore_changes: Mapping[str, Sequence[str]] | None = None,
    module_sources: Mapping[str, str] | None = None,
) -> str:
    """The root override's text.

    ``local.api_base_url`` becomes ``<endpoint_url>/_aws/execute-api/<api id>``: the gateway serves
    every deployed HTTP API under that path (docs/design.md); an HCL template, as it references
    ``module.api``. ``module_sources`` maps module block names to replacement sources.
    """
    endpoint = endpoint_url.rstrip("/")
    base = f"{endpoint}/_aws/execute-api/${{module.api.api_id}}"
    width = max(len(s) for s in SERVICES)
    endpoints = "\n".join(f"    {s.ljust(width)} = {_hcl_string(endpoint)}" for s in SERVICES)
    lines = [
        f"{GENERATED_MARK} for the local target, into a working copy of the stack under the",
        "# state folder: do not edit (every run rewrites it), never copy it into terraform/<variant>/.",
        "",
        'provider "aws" {',
        f"  access_key                  = {_hcl_string(local_settings.ACCESS_KEY_ID)}",
        f"  secret_key                  = {_hcl_string(local_settings.SECRET_ACCESS_KEY)}",
        "  skip_credentials_validation = true",
        "  skip_metadata_api_check     = true",
        "  skip_region_validation      = true",
        "  s3_use_path_style           = true",
        "",
        "  endpoints {",
        endpoints,
        "  }",
        "}",
        "",
        "locals {",
        f'  api_base_url = "{base}"',
        "}",
    ]
    for name, source in sorted((module_sources or {}).items()):
        lines += ["", f'module "{name}" {{', f"  source = {_hcl_string(source)}", "}"]
    lines += _lifecycle_blocks(ignore_changes or {})
    return "\n".join(lines) + "\n"


def local_module_sources(stack_dir: Path, work_dir: Path, modules_dir: Path | None = None) -> dict[str, str]:
    """Module block name -> the source that block needs when the stack runs from ``work_dir``.

    Modules with ignores or locally absent resources get their private copy in ``modules_dir``
    (synced here); every other one its committed folder. Sources are relative (``../``): Terraform
    reads only ``./`` and ``../`` paths in place, anything else it would try to download.
    """
    sources: dict[str, str] = {}
    for call in module_calls(stack_dir):
        target = call.source_dir
        ignores = MODULE_IGNORE_CHANGES.get(call.source_dir.name, {})
        absent = MODULE_ABSENT_LOCALLY.get(call.source_dir.name, {})
        if modules_dir is not None and (ignores or absent):
            target = modules_dir / call.source_dir.name
            sync_module_copy(call.source_dir, target, ignores, absent)
        relative = os.path.relpath(target.resolve(), work_dir.resolve())
        sources[call.name] = relative if relative.startswith("../") else f"./{relative}"
    return sources


def sync_local_stack(
    stack_dir: Path,
    work_dir: Path,
    endpoint_url: str | None = None,
    *,
    modules_dir: Path | None = None,
) -> Path:
    """Make ``work_dir`` the local-target twin of ``stack_dir``: its ``*.tf`` plus the override.

    ``modules_dir`` is where the private module copies go (the stack's state folder); without it
    modules keep their committed code; the root stacks' own resources need no ``ignore_changes``
    (the ones the emulator rewrites are all in modules). ``stack_dir`` is only read. Returns the
    override's path.
    """
    text = render_override(
        endpoint_url or local_settings.endpoint_url(),
        module_sources=local_module_sources(stack_dir, work_dir, modules_dir),
    )
    sync_tf_files(stack_dir, work_dir, {OVERRIDE_NAME: text})
    sync_provider_lock(stack_dir, work_dir)
    return work_dir / OVERRIDE_NAME
