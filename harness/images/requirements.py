"""What a function image installs, by name: ``function/requirements/base.txt`` plus one file per
engine runtime (``torch.txt``, ``onnxruntime.txt``), and the ``pip download`` that fetches them.

These files name the direct dependencies a person chooses; the lock files beside them
(``function/requirements/locks/``, ``wheellock.py``) pin every wheel that follows from them. The
download is for the image's platform rather than the host's: Debian bookworm's CPython 3.11 on
x86_64 (glibc 2.36), binary wheels only.
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.errors import HarnessError
from harness.paths import FUNCTION_DIR
from harness.progress import Log, run_logged

REQUIREMENTS_DIR = FUNCTION_DIR / "requirements"
BASE_REQUIREMENTS = REQUIREMENTS_DIR / "base.txt"
# The image's interpreter: Debian bookworm's CPython 3.11 on x86_64 with glibc 2.36.
PYTHON_VERSION = "3.11"
PLATFORMS = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)),
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
)


class RequirementsError(HarnessError):
    """A runtime has no requirements file, or pip cannot download a set of requirements."""


def runtime_requirements(runtime: str) -> Path:
    path = REQUIREMENTS_DIR / f"{runtime}.txt"
    if not path.is_file():
        raise RequirementsError(f"no requirements for the {runtime!r} runtime ({path} is missing)")
    return path


def runtimes_name(runtimes: Iterable[str]) -> str:
    """A set of runtimes as one name: ``onnxruntime``, ``torch``, ``onnxruntime-torch``."""
    return "-".join(sorted(set(runtimes)))


def known_runtimes() -> tuple[str, ...]:
    """Every engine runtime with a requirements file (all but base.txt)."""
    return tuple(sorted(p.stem for p in REQUIREMENTS_DIR.glob("*.txt") if p != BASE_REQUIREMENTS))


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
        """One requirements file: every direct pin, in file order."""
        parts = [f"# {path.relative_to(FUNCTION_DIR)}\n{path.read_text()}" for path in self.files]
        return "\n".join(parts)


def every_requirements_set() -> tuple[Requirements, ...]:
    """Each set of runtimes an image can install (every non-empty combination), so each has a lock."""
    runtimes = known_runtimes()
    return tuple(
        Requirements(frozenset(combination))
        for size in range(1, len(runtimes) + 1)
        for combination in itertools.combinations(runtimes, size)
    )


def pip_download(arguments: Sequence[str], dest: Path, log: Log, what: str) -> None:
    """``pip download`` of ``arguments`` (requirements, ``-r`` files, flags) into ``dest``, for the
    image's interpreter and platform; each saved wheel is logged, the tail of a failure raised.

    The CPU torch wheel comes from the machine's pip configuration (``PIP_FIND_LINKS``, e.g.
    /opt/wheels here), as every pip run does: nothing here names where it lies.
    """
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--progress-bar",
        "off",
        *arguments,
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
    returncode, tail = run_logged(command, log, ("Saved ", "ERROR"), what)
    if returncode != 0:
        raise RequirementsError(f"pip download failed:\n{tail}")
