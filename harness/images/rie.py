"""The Lambda Runtime Interface Emulator, taken from the pinned aws-sam-cli wheel.

The RIE is baked into the function image and used only outside Lambda. It is never run on the
host: it listens on all interfaces and takes any argument as a handler. The wheel is pinned by
version and sha256: pip downloads it with ``--require-hashes``, and the file is hashed again
before anything is read out of it, so a wheel that is not the one pinned never reaches an image.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from inference.contract import sha256_of_file

from harness.errors import HarnessError
from harness.paths import cache_dir

SAM_CLI_VERSION = "1.170.0"
# sha256 of aws_sam_cli-1.170.0-py3-none-any.whl, as PyPI serves it.
SAM_CLI_SHA256 = "24ebaf5ecba38dc1758089968cb89ab61e124b84e92a344fc7a2771a47f4d0bf"
_MEMBER = "samcli/local/rapid/aws-lambda-rie-x86_64"


class RieError(HarnessError):
    """The aws-sam-cli wheel cannot be downloaded, or is not the one pinned."""


def rie_path() -> Path:
    return cache_dir() / "bin" / "aws-lambda-rie"


def ensure_rie() -> Path:
    """Return the RIE binary, extracting it from the aws-sam-cli wheel the first time."""
    target = rie_path()
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        extract_rie(download_sam_cli_wheel(Path(tmp)), target)
    return target


def download_sam_cli_wheel(dest: Path) -> Path:
    """``pip download`` the pinned aws-sam-cli wheel into ``dest`` (pip checks its sha256)."""
    pinned = dest / "aws-sam-cli.requirements.txt"
    pinned.write_text(f"aws-sam-cli=={SAM_CLI_VERSION} --hash=sha256:{SAM_CLI_SHA256}\n")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--require-hashes",
            "--quiet",
            "-d",
            str(dest),
            "-r",
            str(pinned),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:  # pip's warnings are noise unless the download failed
        raise RieError(f"cannot download aws-sam-cli=={SAM_CLI_VERSION}:\n{done.stderr}")
    return next(dest.glob("aws_sam_cli-*.whl"))


def extract_rie(wheel: Path, target: Path, sha256: str = SAM_CLI_SHA256) -> Path:
    """Write the RIE out of ``wheel`` to ``target`` (atomically), after checking the wheel's sha256."""
    actual = sha256_of_file(wheel)
    if actual != sha256:
        raise RieError(
            f"{wheel.name} has sha256 {actual}, not the pinned {sha256} (SAM_CLI_SHA256 in "
            "harness/images/rie.py); refusing to extract the RIE from it"
        )
    partial = target.with_suffix(".partial")
    with zipfile.ZipFile(wheel) as archive:
        partial.write_bytes(archive.read(_MEMBER))
    partial.chmod(0o755)
    partial.replace(target)
    return target
