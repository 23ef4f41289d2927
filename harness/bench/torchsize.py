"""What a default (CUDA) torch install would have added to the image: a figure measured once.

``pip install torch==<pin>`` on Linux x86_64 takes PyPI's CUDA build plus the CUDA libraries it
requires (nvidia-*, cuda-*, triton). ``bench/torch-cuda-size.json`` holds their sizes for the
pinned torch, measured on 2026-11-25 from PyPI's metadata (each wheel's zip central directory
read by HTTP range requests; installed bytes, and bytes as function/Dockerfile's trimming keeps
them). The resolver that measured it (~200 lines of wheel selection and marker evaluation) was
dropped: the figure serves one README row, and PyPI is not reachable from the benchmark anyway.
After a torch bump the estimate is refused (the benchmark then reports no CUDA row) until the
file is re-measured for the new pin. The CPU side is the installed torch's RECORD, here.
"""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path
from typing import Any

from harness.paths import FUNCTION_DIR, REPO_ROOT

CACHE_PATH = REPO_ROOT / "bench" / "torch-cuda-size.json"


class StaleEstimateError(RuntimeError):
    """The measured CUDA estimate is for another torch than the pinned one."""


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


def cuda_torch_estimate(cache_path: Path = CACHE_PATH) -> dict[str, Any]:
    """The measured estimate for the pinned torch; StaleEstimateError when it is for another."""
    version = pinned_torch_version().split("+")[0]
    estimate = json.loads(cache_path.read_text())
    if estimate.get("torch_version") != version:
        raise StaleEstimateError(
            f"{cache_path.name} was measured for torch {estimate.get('torch_version')}, the pin is {version}"
        )
    return estimate


def cuda_image_size(image_bytes: int, estimate: dict[str, Any], cpu_torch_bytes: int | None = None) -> int:
    """The image size had the default CUDA torch been installed instead of the CPU build.

    Both sides as the image build leaves them (its trimming applied): the image, minus the CPU
    torch it holds, plus CUDA torch and the CUDA-only packages.
    """
    if cpu_torch_bytes is None:
        cpu_torch_bytes = installed_size("torch", trimmed=True)
    return image_bytes - cpu_torch_bytes + int(estimate.get("image_bytes", estimate["installed_bytes"]))
