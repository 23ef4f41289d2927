"""The Lambda Runtime Interface Emulator, taken from the pinned aws-sam-cli wheel.

The RIE is baked into the function image and used only outside Lambda. It is never run on the
host: it listens on all interfaces and takes any argument as a handler.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from harness.paths import cache_dir

SAM_CLI_VERSION = "1.170.0"
_MEMBER = "samcli/local/rapid/aws-lambda-rie-x86_64"


def rie_path() -> Path:
    return cache_dir() / "bin" / "aws-lambda-rie"


def ensure_rie() -> Path:
    """Return the RIE binary, extracting it from the aws-sam-cli wheel the first time."""
    target = rie_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--quiet",
                "-d",
                tmp,
                f"aws-sam-cli=={SAM_CLI_VERSION}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:  # pip's warnings are noise unless the download failed
            raise RuntimeError(f"cannot download aws-sam-cli=={SAM_CLI_VERSION}:\n{done.stderr}")
        wheel = next(Path(tmp).glob("aws_sam_cli-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            partial = target.with_suffix(".partial")
            partial.write_bytes(archive.read(_MEMBER))
    partial.chmod(0o755)
    partial.replace(target)
    return target
