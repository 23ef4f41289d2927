"""What a default (CUDA) torch install would have added to the image, from PyPI's metadata.

``pip install torch==<pin>`` on Linux x86_64 takes PyPI's CUDA build plus the CUDA libraries it
requires (nvidia-*, cuda-*, triton). We size that without downloading any large wheel:
- PyPI's simple API (JSON, PEP 691/700) gives each wheel's size and URL;
- each wheel is read with HTTP range requests, never downloaded whole: its zip central directory
  gives the installed (unpacked) size, the sum of its files' sizes, and its METADATA gives the
  Requires-Dist, which we resolve for CPython 3.11 on manylinux x86_64, skipping what the CPU
  install has too (the packages installed in this environment, which hold the function's
  requirements). A few hundred kB per wheel.
The result is cached in ``bench/torch-cuda-size.json``: PyPI is asked once per torch pin, and
the benchmark itself runs offline. The CPU side is the installed torch's RECORD, on this machine.
Both sides are also counted as the image keeps them (``image_bytes``: function/Dockerfile deletes
torch's headers, static libraries, test binaries and every tests/ and __pycache__ folder).
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import io
import json
import re
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.paths import FUNCTION_DIR, REPO_ROOT

CACHE_PATH = REPO_ROOT / "bench" / "torch-cuda-size.json"
INDEX = "https://pypi.org/simple"
PYTHON = (3, 11)
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 4, -1)] + [
    "manylinux2014_x86_64",
    "manylinux2010_x86_64",
    "manylinux1_x86_64",
    "linux_x86_64",
]
MARKER_ENVIRONMENT = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.0",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "",
    "platform_system": "Linux",
    "platform_version": "",
    "python_full_version": "3.11.0",
    "python_version": "3.11",
    "sys_platform": "linux",
}
_TIMEOUT = 60


def pinned_torch_version(requirements: Path = FUNCTION_DIR / "requirements" / "torch.txt") -> str:
    for line in requirements.read_text().splitlines():
        match = re.match(r"^\s*torch\s*==\s*([^\s;#]+)", line)
        if match:
            return match.group(1)
    raise ValueError(f"no torch pin in {requirements}")


def installed_size(distribution: str, trimmed: bool = False) -> int:
    """Bytes on disk of an installed distribution, from its RECORD (as the image keeps it if trimmed)."""
    files = importlib.metadata.distribution(distribution).files or []
    return sum(f.size or 0 for f in files if not trimmed or kept_in_image(str(f)))


# --- PyPI --------------------------------------------------------------------------------------


class _RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file through HTTP range requests."""

    def __init__(self, session: Any, url: str, size: int) -> None:
        self.session, self.url, self.size, self.position = session, url, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer: Any) -> int:
        if self.position >= self.size or not len(buffer):
            return 0
        last = min(self.size, self.position + len(buffer)) - 1
        response = self.session.get(
            self.url, headers={"Range": f"bytes={self.position}-{last}"}, timeout=_TIMEOUT
        )
        response.raise_for_status()
        if response.status_code != 206:
            raise OSError(f"{self.url} ignores range requests")
        data = response.content
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


# What function/Dockerfile deletes from the installed packages (kept in step with it by hand).
_TRIMMED = re.compile(
    r"^torch/(include|share|test)/"
    r"|^torch/lib/[^/]+\.a$"
    r"|^torch/bin/(?!torch_shm_manager$)"
    r"|(^|/)(tests|__pycache__)/"
)


def kept_in_image(path: str) -> bool:
    """Whether the image build keeps this file of an installed package (see function/Dockerfile)."""
    return not _TRIMMED.search(path)


def _wheel_contents(session: Any, url: str, size: int) -> tuple[int, int, str]:
    """(unpacked size, size kept in the image, METADATA text) of a remote wheel."""
    raw = _RangeFile(session, url, size)
    with zipfile.ZipFile(io.BufferedReader(raw, buffer_size=1 << 20)) as archive:
        infos = archive.infolist()
        metadata = next(i for i in infos if re.fullmatch(r"[^/]+\.dist-info/METADATA", i.filename))
        unpacked = sum(info.file_size for info in infos)
        kept = sum(info.file_size for info in infos if kept_in_image(info.filename))
        return unpacked, kept, archive.read(metadata).decode("utf-8")


def _target_tags() -> set[str]:
    from packaging import tags

    interpreter = f"cp{PYTHON[0]}{PYTHON[1]}"
    found = tags.cpython_tags(PYTHON, abis=[interpreter, "abi3", "none"], platforms=PLATFORMS)
    compatible = tags.compatible_tags(PYTHON, interpreter=interpreter, platforms=PLATFORMS)
    return {str(tag) for tag in (*found, *compatible)}


def _best_wheel(files: list[dict[str, Any]], specifier: str, exclude_local: bool = True) -> dict[str, Any]:
    """The wheel pip would take: the highest matching version with a wheel for our platform."""
    from packaging.specifiers import SpecifierSet
    from packaging.utils import parse_wheel_filename

    spec = SpecifierSet(specifier)
    wanted = _target_tags()
    candidates: list[tuple[Any, dict[str, Any]]] = []
    for entry in files:
        filename = entry["filename"]
        if not filename.endswith(".whl") or entry.get("yanked"):
            continue
        try:
            _, version, _, wheel_tags = parse_wheel_filename(filename)
        except ValueError:
            continue
        if (exclude_local and version.local) or version not in spec:
            continue
        if {str(tag) for tag in wheel_tags} & wanted:
            candidates.append((version, entry))
    if not candidates:
        raise LookupError(f"no wheel for {specifier!r} among {len(files)} files")
    return max(candidates, key=lambda item: item[0])[1]


def _requirements(metadata: str, extras: Iterable[str]) -> list[Any]:
    from packaging.requirements import Requirement

    parsed = email.parser.Parser().parsestr(metadata)
    wanted: list[Any] = []
    for line in parsed.get_all("Requires-Dist") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        if marker is None or any(marker.evaluate({**MARKER_ENVIRONMENT, "extra": e}) for e in ("", *extras)):
            wanted.append(requirement)
    return wanted


def _installed_here(name: str) -> bool:
    try:
        importlib.metadata.distribution(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def fetch_estimate(torch_version: str, session: Any = None) -> dict[str, Any]:
    """Ask PyPI what the CUDA torch install is made of (about 20 projects); see the module doc."""
    import requests
    from packaging.utils import canonicalize_name

    session = session or requests.Session()

    def project_files(name: str) -> list[dict[str, Any]]:
        response = session.get(
            f"{INDEX}/{canonicalize_name(name)}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            timeout=_TIMEOUT,
        )
        response.raise_for_status()
        return response.json()["files"]

    def describe(name: str, specifier: str) -> tuple[dict[str, Any], str]:
        wheel = _best_wheel(project_files(name), specifier)
        unpacked, kept, metadata = _wheel_contents(session, wheel["url"], int(wheel["size"]))
        entry = {
            "name": str(canonicalize_name(name)),
            "filename": wheel["filename"],
            "wheel_bytes": int(wheel["size"]),
            "installed_bytes": unpacked,
            "image_bytes": kept,
        }
        return entry, metadata

    torch_entry, torch_metadata = describe("torch", f"=={torch_version}")
    packages: list[dict[str, Any]] = []
    queue = _requirements(torch_metadata, ())
    seen = {"torch"}
    while queue:
        requirement = queue.pop(0)
        name = str(canonicalize_name(requirement.name))
        if name in seen or _installed_here(name):
            continue
        seen.add(name)
        entry, metadata = describe(name, str(requirement.specifier))
        entry["required_as"] = str(requirement)
        packages.append(entry)
        queue.extend(_requirements(metadata, requirement.extras))
    return {
        "torch_version": torch_version,
        "platform": f"cp{PYTHON[0]}{PYTHON[1]} {PLATFORMS[0]}",
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": f"{INDEX} (PEP 691 JSON; wheels read by HTTP range: central directory + METADATA)",
        "torch": torch_entry,
        "cuda_only_packages": sorted(packages, key=lambda p: -p["installed_bytes"]),
        "wheel_bytes": torch_entry["wheel_bytes"] + sum(p["wheel_bytes"] for p in packages),
        "installed_bytes": torch_entry["installed_bytes"] + sum(p["installed_bytes"] for p in packages),
        "image_bytes": torch_entry["image_bytes"] + sum(p["image_bytes"] for p in packages),
    }


def cuda_torch_estimate(refresh: bool = False, cache_path: Path = CACHE_PATH) -> dict[str, Any]:
    """The cached estimate for the pinned torch (fetched from PyPI when missing or stale)."""
    version = pinned_torch_version().split("+")[0]
    if cache_path.is_file() and not refresh:
        cached = json.loads(cache_path.read_text())
        if cached.get("torch_version") == version and "image_bytes" in cached:
            return cached
    estimate = fetch_estimate(version)
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    cache_path.write_text(json.dumps(estimate, indent=2) + "\n")
    return estimate


def cuda_image_size(image_bytes: int, estimate: dict[str, Any], cpu_torch_bytes: int | None = None) -> int:
    """The image size had the default CUDA torch been installed instead of the CPU build.

    Both sides as the image build leaves them (its trimming applied): the image, minus the CPU
    torch it holds, plus CUDA torch and the CUDA-only packages.
    """
    if cpu_torch_bytes is None:
        cpu_torch_bytes = installed_size("torch", trimmed=True)
    return image_bytes - cpu_torch_bytes + int(estimate.get("image_bytes", estimate["installed_bytes"]))
