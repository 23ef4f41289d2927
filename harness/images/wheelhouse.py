"""The wheelhouse: every wheel the function image installs, downloaded on the host.

``docker build`` cannot reach PyPI (and runs with ``network_mode="none"``), so pip downloads
``function/requirements.txt`` here, for the image's platform rather than the host's, and the
Dockerfile installs with ``--no-index``. A stamp with the hash of the inputs makes a second call
free; a requirements change downloads again into a fresh folder that replaces the old one whole.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.images.locks import file_lock
from harness.images.progress import Log, print_line
from harness.paths import FUNCTION_DIR, state_dir

REQUIREMENTS = FUNCTION_DIR / "requirements.txt"
# The image has no pip of its own (Debian's python3 ships none); this wheel installs the rest.
PIP_VERSION = "26.2.1"
# The image's interpreter: Debian bookworm's CPython 3.11 on x86_64 with glibc 2.36.
PYTHON_VERSION = "3.11"
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)
STAMP_NAME = ".inputs.sha256"


class WheelhouseError(HarnessError):
    """The wheelhouse cannot be made, or holds something the image must not get."""


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    wheels: tuple[str, ...]

    def listing(self) -> str:
        """Names and sizes of the wheels: what the image's content hash covers (names pin versions)."""
        return "".join(f"{name} {(self.path / name).stat().st_size}\n" for name in self.wheels)


def wheelhouse_dir() -> Path:
    return state_dir() / "wheelhouse"


def inputs_hash(requirements: Path = REQUIREMENTS) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.read_bytes())
    digest.update(f"pip=={PIP_VERSION} python={PYTHON_VERSION} {' '.join(PLATFORMS)}".encode())
    return digest.hexdigest()


def current_wheelhouse(path: Path | None = None) -> Wheelhouse:
    path = path or wheelhouse_dir()
    return Wheelhouse(path, tuple(sorted(p.name for p in path.glob("*.whl"))))


def ensure_wheelhouse(requirements: Path = REQUIREMENTS, log: Log = print_line) -> Wheelhouse:
    """Return the wheelhouse, downloading it first when the requirements changed."""
    target = wheelhouse_dir()
    wanted = inputs_hash(requirements)
    stamp = target / STAMP_NAME
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return current_wheelhouse(target)
    with file_lock(target.with_name("wheelhouse.lock")):
        if stamp.is_file() and stamp.read_text().strip() == wanted:  # done while we waited
            return current_wheelhouse(target)
        return _replace(requirements, target, wanted, log)


def _replace(requirements: Path, target: Path, wanted: str, log: Log) -> Wheelhouse:
    log(f"wheelhouse: downloading {requirements.name} for CPython {PYTHON_VERSION} manylinux x86_64")
    fresh = target.with_name(target.name + ".partial")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    _download(requirements, fresh, log)
    _check(current_wheelhouse(fresh))
    (fresh / STAMP_NAME).write_text(wanted + "\n")
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    house = current_wheelhouse(target)
    size = sum((target / name).stat().st_size for name in house.wheels)
    log(f"wheelhouse: {len(house.wheels)} wheels, {size / 1e6:.0f} MB in {target}")
    return house


def _download(requirements: Path, dest: Path, log: Log) -> None:
    command = [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--progress-bar", "off",
        "-r", str(requirements), f"pip=={PIP_VERSION}", "-d", str(dest),
        "--only-binary=:all:", "--python-version", PYTHON_VERSION,
        "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
    ]
    for platform in PLATFORMS:
        command += ["--platform", platform]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for line in proc.stdout:
            line = line.rstrip()
            tail = [*tail[-30:], line]
            if line.startswith(("Saved ", "ERROR")):
                log(f"wheelhouse: {line}")
    if proc.returncode != 0:
        raise WheelhouseError("pip download failed:\n" + "\n".join(tail))


def _check(house: Wheelhouse) -> None:
    """Refuse a wheelhouse that would put CUDA into the image (the multi-GB default torch)."""
    cuda = [name for name in house.wheels if name.startswith(("nvidia_", "triton-", "cuda_"))]
    torch = [name for name in house.wheels if name.startswith("torch-")]
    if cuda or not torch or not all("+cpu" in name for name in torch):
        raise WheelhouseError(
            f"the wheelhouse must hold torch's CPU build and no CUDA wheels; got torch={torch}, cuda={cuda}. "
            "The CPU wheel is found through PIP_FIND_LINKS (e.g. /opt/wheels on this machine)."
        )
