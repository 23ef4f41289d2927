"""The wheelhouses: every wheel a function image installs, downloaded on the host from its lock.

``docker build`` cannot reach PyPI (and runs with ``network_mode="none"``), so pip downloads the
image's wheels here, for the image's platform rather than the host's, and the Dockerfile
installs with ``--no-index``. An image installs ``function/requirements/base.txt`` plus one file
per engine runtime its catalog uses (``torch.txt``, ``onnxruntime.txt``), so a catalog without
torch models builds an image without torch; what it gets is exactly the committed lock of that
set (``wheellock.py``), downloaded with ``--require-hashes``: no wheel the lock does not name,
none whose sha256 differs. Each set of runtimes has its own wheelhouse
(``.state/wheelhouse/<runtimes>/``). A stamp with the hash of the locks makes a second call free;
a changed lock downloads again into a fresh folder that replaces the old one whole.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.images.locks import file_lock
from harness.images.requirements import PLATFORMS, PYTHON_VERSION, Requirements, pip_download
from harness.images.wheellock import current_lock, current_pip_lock, parse_lock
from harness.paths import cache_dir
from harness.progress import Log, say

DEFAULT_RUNTIMES = frozenset({"torch"})
STAMP_NAME = ".inputs.sha256"
REQUIREMENTS_NAME = "requirements.txt"
PIP_LOCK_NAME = "pip.txt"


class WheelhouseError(HarnessError):
    """The wheelhouse cannot be made, or holds something the image must not get."""


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    wheels: tuple[str, ...]
    requirements: Requirements | None = None

    @property
    def requirements_file(self) -> Path:
        """The lock this wheelhouse was downloaded from: what the image installs, hash-checked."""
        return self.path / REQUIREMENTS_NAME

    @property
    def pip_lock_file(self) -> Path:
        """The pin and sha256 of the pip wheel the image build runs."""
        return self.path / PIP_LOCK_NAME

    def listing(self) -> str:
        """Names and sizes of the wheels: what the image's content hash covers (names pin versions)."""
        return "".join(f"{name} {(self.path / name).stat().st_size}\n" for name in self.wheels)


def wheelhouse_dir(requirements: Requirements) -> Path:
    return cache_dir() / "wheelhouse" / requirements.name


def inputs_hash(lock_text: str, pip_lock_text: str) -> str:
    digest = hashlib.sha256()
    digest.update(lock_text.encode() + b"\0" + pip_lock_text.encode())
    digest.update(f"python={PYTHON_VERSION} {' '.join(PLATFORMS)}".encode())
    return digest.hexdigest()


def current_wheelhouse(path: Path, requirements: Requirements | None = None) -> Wheelhouse:
    return Wheelhouse(path, tuple(sorted(p.name for p in path.glob("*.whl"))), requirements)


def ensure_wheelhouse(runtimes: Iterable[str] = DEFAULT_RUNTIMES, log: Log = say) -> Wheelhouse:
    """The wheelhouse of an image with these engine runtimes, downloaded first when stale."""
    requirements = Requirements(frozenset(runtimes))
    lock = current_lock(requirements)  # refuses a missing or stale lock before any download
    lock_text, pip_lock_text = lock.path.read_text(), current_pip_lock().path.read_text()
    target = wheelhouse_dir(requirements)
    wanted = inputs_hash(lock_text, pip_lock_text)
    stamp = target / STAMP_NAME
    if stamp.is_file() and stamp.read_text().strip() == wanted:
        return current_wheelhouse(target, requirements)
    with file_lock(target.with_name(f"{target.name}.lock")):
        if stamp.is_file() and stamp.read_text().strip() == wanted:  # done while we waited
            return current_wheelhouse(target, requirements)
        return _replace(requirements, lock_text, pip_lock_text, target, wanted, log)


def _replace(
    requirements: Requirements, lock_text: str, pip_lock_text: str, target: Path, wanted: str, log: Log
) -> Wheelhouse:
    log(
        f"wheelhouse: downloading the {requirements.name} image's locked wheels (--require-hashes) "
        f"for CPython {PYTHON_VERSION} manylinux x86_64"
    )
    fresh = target.with_name(target.name + ".partial")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir(parents=True)
    listed = fresh / REQUIREMENTS_NAME  # kept: the image build installs exactly this file
    listed.write_text(lock_text)
    pip_listed = fresh / PIP_LOCK_NAME
    pip_listed.write_text(pip_lock_text)
    # Resolution stays on (no --no-deps): a dependency the lock does not pin fails the download.
    pip_download(["--require-hashes", "-r", str(listed), "-r", str(pip_listed)], fresh, log, "wheelhouse")
    house = current_wheelhouse(fresh, requirements)
    check_covered(house)
    _check_cpu_torch(house)
    (fresh / STAMP_NAME).write_text(wanted + "\n")
    shutil.rmtree(target, ignore_errors=True)
    fresh.rename(target)
    house = current_wheelhouse(target, requirements)
    size = sum((target / name).stat().st_size for name in house.wheels)
    log(f"wheelhouse: {len(house.wheels)} wheels, {size / 1e6:.0f} MB in {target}")
    return house


def check_covered(house: Wheelhouse) -> None:
    """Refuse a wheelhouse holding a wheel its locks do not pin (pip checked the hashes it saved)."""
    locks = (parse_lock(house.requirements_file), parse_lock(house.pip_lock_file))
    unpinned = [name for name in house.wheels if not any(lock.find(name) for lock in locks)]
    if unpinned:
        raise WheelhouseError(f"{house.path} holds wheels no lock pins: {', '.join(unpinned)}")


def _check_cpu_torch(house: Wheelhouse) -> None:
    """Refuse a wheelhouse that would put CUDA into the image (the multi-GB default torch)."""
    cuda = [name for name in house.wheels if name.startswith(("nvidia_", "triton-", "cuda_"))]
    torch = [name for name in house.wheels if name.startswith("torch-")]
    wants_torch = house.requirements is None or "torch" in house.requirements.runtimes
    if cuda or (wants_torch and not torch) or not all("+cpu" in name for name in torch):
        raise WheelhouseError(
            f"the wheelhouse must hold torch's CPU build and no CUDA wheels; got torch={torch}, cuda={cuda}. "
            "The CPU wheel is found through PIP_FIND_LINKS (e.g. /opt/wheels on this machine)."
        )
