"""Each root stack's committed ``.terraform.lock.hcl``: the AWS provider's version and hashes.

The stacks bound the provider (``~> 5.100``, ``terraform/_shared/versions.tf``); the lock pins
the exact release and the ``h1:`` hash of its package, so ``terraform init`` on any machine
installs that build or fails. It is written from the filesystem mirror the harness uses
(``cliconfig.find_plugin_mirror``), for ``linux_amd64`` only: that is the platform this project
runs Terraform on, and the only one the mirror holds. The generated local working copy gets the
same lock (``workcopy.sync_provider_lock``), so a local run checks the hashes an AWS run checks.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import TERRAFORM_DIR, VARIANTS
from harness.progress import Log, say
from harness.terraform.cliconfig import PROVIDER_SOURCE, find_plugin_mirror, render_cli_config
from harness.terraform.workcopy import LOCK_FILE_NAME

PLATFORMS = ("linux_amd64",)


class ProviderLockError(HarnessError):
    """``terraform init`` or ``terraform providers lock`` failed for a stack."""


def write_provider_locks(log: Log = say, terraform: str = "terraform") -> list[Path]:
    """Regenerate ``terraform/<variant>/.terraform.lock.hcl`` for every stack from the mirror."""
    binary = shutil.which(terraform)
    if binary is None:
        raise ProviderLockError("terraform is not on PATH")
    mirror = find_plugin_mirror()
    written = []
    with tempfile.TemporaryDirectory(prefix="provider-lock-") as tmp:
        cli_config = Path(tmp) / "terraformrc"
        cli_config.write_text(render_cli_config(mirror))
        for variant in VARIANTS:
            stack = TERRAFORM_DIR / variant
            env = {
                "PATH": "/usr/bin:/bin",
                "HOME": tmp,
                "TF_CLI_CONFIG_FILE": str(cli_config),
                "TF_DATA_DIR": str(Path(tmp) / variant),  # modules and providers, never in the stack
                "TF_IN_AUTOMATION": "1",
                "CHECKPOINT_DISABLE": "1",
            }
            (stack / LOCK_FILE_NAME).unlink(missing_ok=True)  # re-resolved, not merged into an old one
            _run([binary, "init", "-backend=false", "-input=false", "-no-color"], stack, env)
            platforms = [f"-platform={p}" for p in PLATFORMS]
            _run([binary, "providers", "lock", "-no-color", f"-fs-mirror={mirror}", *platforms], stack, env)
            log(f"lock: terraform/{variant}/{LOCK_FILE_NAME} ({PROVIDER_SOURCE} from {mirror})")
            written.append(stack / LOCK_FILE_NAME)
    return written


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise ProviderLockError(f"{' '.join(command[1:3])} in {cwd} failed:\n{done.stderr or done.stdout}")
