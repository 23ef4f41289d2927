"""The real AWS CLI (v1, installed in the venv from requirements/dev) against a local endpoint.

Tests call it the way the README tells users to: ``aws --endpoint-url <local> ...`` with the local
cloud's credentials and region in the environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from harness.local_settings import AWS_ENV


def aws_cli(endpoint_url: str, *args: str) -> str:
    """Run ``aws --endpoint-url <endpoint_url> --output json <args>``; its stdout (fails on an error)."""
    cli = shutil.which("aws", path=str(Path(sys.executable).parent)) or shutil.which("aws")
    assert cli, "the AWS CLI is part of requirements/dev (the venv's bin/aws)"
    env = {**os.environ, **AWS_ENV}
    done = subprocess.run(
        [cli, "--endpoint-url", endpoint_url, "--output", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"aws {' '.join(args)} failed: {done.stderr}"
    return done.stdout
