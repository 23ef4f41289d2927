"""Terraform for the root stacks: CLI config (provider mirror), local override, and the runner.

``Stack(variant, target)`` is the one entry point the deploy flow and the tests use.
"""

from harness.terraform.runner import PlanResult, ResourceChange, Stack, TerraformError

__all__ = ["PlanResult", "ResourceChange", "Stack", "TerraformError"]
