"""The wheelhouses: every wheel a function image installs, downloaded on the host.

``docker build`` cannot reach PyPI (and runs with ``network_mode="none"``), so pip downloads the
image's requirements here, for the image's platform rather than the host's, and the Dockerfile
installs with ``--no-index``. An image's requirements are ``function/requirements/base.txt`` plus
one file per engine runtime its catalog uses (``torch.txt``, ``onnxruntime.txt``), so a catalog
without torch models builds an image without torch. Each set of runtimes has its own wheelhouse
(``.state/wheelhouse/<runtimes>/``), holding exactly what that image installs. A stamp with the
hash of the inputs makes a second call free; a requirements change downloads again into a fresh
folder that replaces the old one whole.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.locks import file_lock
from harness.paths import FUNCTION_DIR, cache_dir
from harness.progress import Log, say

REQUIREMENTS_DIR = FUNCTION_DIR / "requirements"
BASE_REQUIREMENTS = REQUIREMENTS_DIR / "base.txt"
DEFAULT_RUNTIMES = frozenset({"torch"})
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
REQUIREMENTS_NAME = "requirements.txt"


class WheelhouseError(HarnessError):
    """The wheelhouse cannot be made, or holds something the image must not get."""


def runtime_requirements(runtime: str) -> Path:
    path = REQUIREMENTS_DIR / f"{runtime}.txt"
    if not path.is_file():
        raise WheelhouseError(f"no requirements for the {runtime!r} runtime ({path} is missing)")
    return path


def runtimes_name(runtimes: Iterable[str]) -> str:
    """A set of runtimes as one name: ``onnxruntime``, ``torch``, ``onnxruntime-torch``."""
    return "-".join(sorted(set(runtimes)))


@dataclass(frozen=True)
class Requirements:
    """What one image installs: the base requirements plus those of its engine runtimes."""

    runtimes: frozenset[str]

    @property
    def files(self) -> tuple[Path, ...]:
        return (BASE_REQUIREMENTS, *(runtime_requirements(r) for r in sorted(self.runtimes)))

    @property
    def name(self) -> str:
        return runtimes_name(self.runtimes)

    def text(self) -> str:
        """One requirements file (the image's ``requirements.txt``): every pin, in file order."""
        parts = [f"# {path.relative_to(FUNCTION_DIR)}\n{path.read_text()}" for path in self.files]
        return "\n".join(parts)


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    wheels: tuple[str, ...]
    requirements: Requirements | None = None

    @property
    def requirements_file(self) -> Path:
        """The one requirements file this wheelhouse was downloaded for."""
        return self.path / REQUIREMENTS_NAME

    def listing(self) -> str:
        """Names and sizes of the wheels: what the image's content hash covers (names pin versions)."""
        return "".join(f"{name} {(self.path / name).stat().st_size}\n" for name in self.wheels)


def wheelhouse_dir(requirements: Requirements) -> Path:
    return cache_dir() / "wheelhouse" / requirements.name


def inputs_hash(requirements: Requirements) -> str:
    digest = hashlib.sha256()
    digest.update(requirements.text().encode())
    digest.update(f"pip=={PIP_VERSION} python={PYTHON_VERSION} {' '.join(PLATFORMS)}".encode())
    return digest.hexdigest()


def current_wheelhouse(path: Path, requirements: Requirements | None = None) -> Wheelhouse:
    return Wheelhouse(path, tuple(sorted(p.name for p in path.glob("*.whl"))), requirements)


def ensure_wheelhouse(runtimes: Iterable[str] = DEFAULT_RUNTIMES, log: Log = say) -> Wheelhouse:
    """The wheelhouse of an image with these engine runtimes, downloaded first when stale."""
    requirements = Requirements(frozenset(runtimes))
    target = wheelhouse_dir(requirements)
    wanted = inputs_hash(requirements)
    stamp = target / STAMP_NAME
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return current_wheelhouse(target, requirements)
    with file_lock(target.with_name(f"{target.name}.lock")):
        if stamp.is_file() and stamp.read_text().strip() == wanted:  # done while we waited
            return current_wheelhouse(target, requirements)
        return _replace(requirements, target, wanted, log)


def _replace(requirements: Requirements, target: Path, wanted: str, log: Log) -> Wheelhouse:
    log(
        f"wheelhouse: downloading the {requirements.name} image's requirements for CPython "
        f"{PYTHON_VERSION} manylinux x86_64"
    )
    fresh = target.with_name(target.name + ".partial")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    listed = fresh / REQUIREMENTS_NAME  # kept: the image build installs exactly this file
    listed.write_text(requirements.text())
    _download(listed, fresh, log)
    _check(current_wheelhouse(fresh, requirements))
    (fresh / STAMP_NAME).write_text(wanted + "\n")
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    house = current_wheelhouse(target, requirements)
    size = sum((target / name).stat().st_size for name in house.wheels)
    log(f"wheelhouse: {len(house.wheels)} wheels, {size / 1e6:.0f} MB in {target}")
    return house


def _download(requirements: Path, dest: Path, log: Log) -> None:
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        "-r",
        str(requirements),
        f"pip=={PIP_VERSION}",
        "-d",
        str(dest),
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        "--abi",
        "abi3",
        "--abi",
        "none",
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
    wants_torch = house.requirements is None or "torch" in house.requirements.runtimes
    if cuda or (wants_torch and not torch) or not all("+cpu" in name for name in torch):
        raise WheelhouseError(
            f"the wheelhouse must hold torch's CPU build and no CUDA wheels; got torch={torch}, cuda={cuda}. "
            "The CPU wheel is found through PIP_FIND_LINKS (e.g. /opt/wheels on this machine)."
        )
