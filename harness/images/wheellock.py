"""The lock files of the function images' wheels: every wheel, pinned by version and sha256.

``function/requirements/*.txt`` name the direct dependencies; ``python -m harness lock`` resolves
each set an image can install (base plus every combination of engine runtimes) with ``pip
download`` for the image's platform, hashes every wheel it saved, and writes
``function/requirements/locks/<runtimes>.txt`` in pip's hash-checking format, plus ``pip.txt``
for the pip wheel that installs the rest inside the image. The wheelhouse downloads a lock with
``--require-hashes`` and the Dockerfile installs it the same way, so a wheel that differs from
the one locked, or a dependency the lock does not name, fails the build instead of entering the
image. Each lock records the sha256 of the requirements it came from: a requirements change
without a new lock is refused, not silently resolved afresh.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from inference.contract import sha256_of_file
from packaging.utils import canonicalize_name, parse_wheel_filename

from harness.errors import HarnessError
from harness.images.requirements import (
    PLATFORMS,
    PYTHON_VERSION,
    REQUIREMENTS_DIR,
    Requirements,
    every_requirements_set,
    pip_download,
)
from harness.paths import REPO_ROOT
from harness.progress import Log, say

LOCKS_DIR = REQUIREMENTS_DIR / "locks"
PIP_LOCK = LOCKS_DIR / "pip.txt"
# The image has no pip of its own (Debian's python3 ships none); this wheel installs the rest.
PIP_VERSION = "26.2.1"
LOCK_COMMAND = "python -m harness lock"
_INPUTS_LINE = "# inputs sha256: "
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)\s+\\?\s*--hash=sha256:([0-9a-f]{64})\s*$")


class LockError(HarnessError):
    """A lock file is missing, stale (its requirements changed) or not in the expected format."""


@dataclass(frozen=True)
class LockedWheel:
    """One pinned wheel: its project (canonical name), exact version and the sha256 of its file."""

    name: str
    version: str
    sha256: str

    def requirement(self) -> str:
        return f"{self.name}=={self.version} \\\n    --hash=sha256:{self.sha256}"


@dataclass(frozen=True)
class WheelLock:
    """A parsed lock file."""

    path: Path
    inputs_sha256: str
    wheels: tuple[LockedWheel, ...]

    def find(self, wheel_file: str) -> LockedWheel | None:
        """The pin a wheel file's name (project and version) matches, if any."""
        name, version, _, _ = parse_wheel_filename(wheel_file)
        for wheel in self.wheels:
            if wheel.name == canonicalize_name(name) and wheel.version == str(version):
                return wheel
        return None


def lock_path(requirements: Requirements) -> Path:
    return LOCKS_DIR / f"{requirements.name}.txt"


def inputs_sha256(requirements: Requirements) -> str:
    """What a lock was resolved from: the requirements, pip's version, the image's platform."""
    digest = hashlib.sha256(requirements.text().encode())
    digest.update(f"pip=={PIP_VERSION} python={PYTHON_VERSION} {' '.join(PLATFORMS)}".encode())
    return digest.hexdigest()


def parse_lock(path: Path) -> WheelLock:
    """Read a lock written by ``write_lock`` (one pin per entry, its hash on the next line)."""
    if not path.is_file():
        raise LockError(f"{_shown(path)} is missing; `{LOCK_COMMAND}` writes it")
    text = path.read_text()
    header = [line for line in text.splitlines() if line.startswith(_INPUTS_LINE)]
    inputs = header[0][len(_INPUTS_LINE) :] if header else ""
    entries = re.sub(r"\\\n\s*", " ", text)  # pip's line continuation, joined
    wheels = []
    for number, line in enumerate(entries.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = _PIN.match(line)
        if not match:
            expected = "`name==version --hash=sha256:<hex>`"
            where = f"{_shown(path)}: line {number} (continuations joined)"
            raise LockError(f"{where} is not {expected}: {line[:80]}")
        wheels.append(LockedWheel(canonicalize_name(match[1]), match[2], match[3]))
    return WheelLock(path, inputs.strip(), tuple(wheels))


def current_lock(requirements: Requirements) -> WheelLock:
    """The committed lock of ``requirements``, refused when the requirements changed since."""
    lock = parse_lock(lock_path(requirements))
    if lock.inputs_sha256 != inputs_sha256(requirements):
        raise LockError(
            f"{_shown(lock.path)} is stale: {', '.join(_shown(p) for p in requirements.files)} "
            f"changed since it was written; run `{LOCK_COMMAND}` and commit the locks"
        )
    return lock


def current_pip_lock() -> WheelLock:
    """The committed lock of the pip wheel, refused when ``PIP_VERSION`` changed since."""
    lock = parse_lock(PIP_LOCK)
    if lock.inputs_sha256 != _pip_inputs():
        raise LockError(f"{_shown(PIP_LOCK)} is stale (PIP_VERSION is {PIP_VERSION}); run `{LOCK_COMMAND}`")
    return lock


def _pip_inputs() -> str:
    return hashlib.sha256(f"pip=={PIP_VERSION}".encode()).hexdigest()


def render_lock(title: str, inputs: str, wheels: list[LockedWheel], sources: str) -> str:
    header = [
        f"# {title}: each wheel pinned by version and sha256 (pip --require-hashes).",
        f"# Generated by `{LOCK_COMMAND}` from {sources}",
        f"# for CPython {PYTHON_VERSION} manylinux x86_64; do not edit by hand.",
        f"{_INPUTS_LINE}{inputs}",
    ]
    body = [wheel.requirement() for wheel in sorted(wheels, key=lambda w: w.name)]
    return "\n".join([*header, *body]) + "\n"


def lock_requirements(requirements: Requirements, log: Log = say) -> tuple[list[LockedWheel], LockedWheel]:
    """Resolve ``requirements`` (and the pinned pip) for the image, and pin what pip saved."""
    with tempfile.TemporaryDirectory(prefix="wheellock-") as tmp:
        listed = Path(tmp) / "requirements.txt"
        listed.write_text(requirements.text())
        saved = Path(tmp) / "wheels"
        pip_download(["-r", str(listed), f"pip=={PIP_VERSION}"], saved, log, f"lock {requirements.name}")
        wheels = []
        for wheel_file in sorted(saved.glob("*.whl")):
            name, version, _, _ = parse_wheel_filename(wheel_file.name)
            wheels.append(LockedWheel(canonicalize_name(name), str(version), sha256_of_file(wheel_file)))
    pip = next(w for w in wheels if w.name == "pip")
    return [w for w in wheels if w.name != "pip"], pip


def write_locks(log: Log = say) -> list[Path]:
    """Regenerate every lock (one per set of runtimes) and the pip lock; returns their paths."""
    LOCKS_DIR.mkdir(parents=True, exist_ok=True)
    written, pips = [], set()
    for requirements in every_requirements_set():
        wheels, pip = lock_requirements(requirements, log)
        pips.add(pip)
        sources = "function/requirements/{" + ", ".join(p.name for p in requirements.files) + "}"
        title = f"The {requirements.name} function image"
        path = lock_path(requirements)
        path.write_text(render_lock(title, inputs_sha256(requirements), wheels, sources))
        log(f"lock: {_shown(path)}: {len(wheels)} wheels")
        written.append(path)
    if len(pips) != 1:
        raise LockError(f"the requirement sets resolved different pip wheels: {sorted(pips, key=str)}")
    pip_title = "The pip that installs the image's wheels"
    PIP_LOCK.write_text(render_lock(pip_title, _pip_inputs(), [pips.pop()], f"pip=={PIP_VERSION}"))
    written.append(PIP_LOCK)
    return written


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
