"""The CUDA torch size estimate: the measured figure, its pin check, and the image-size arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench import torchsize


def test_the_estimate_is_refused_after_a_torch_bump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "torch-cuda-size.json"
    cache.write_text(json.dumps({"torch_version": "2.13.0", "installed_bytes": 42, "image_bytes": 40}))
    monkeypatch.setattr(torchsize, "pinned_torch_version", lambda: "2.13.0+cpu")
    assert torchsize.cuda_torch_estimate(cache_path=cache)["installed_bytes"] == 42
    monkeypatch.setattr(torchsize, "pinned_torch_version", lambda: "2.14.0")
    stale = r"measured for torch 2\.13\.0, the pin is 2\.14\.0"
    with pytest.raises(torchsize.StaleEstimateError, match=stale):
        torchsize.cuda_torch_estimate(cache_path=cache)


def test_the_committed_cache_matches_the_pin() -> None:
    cached = json.loads(torchsize.CACHE_PATH.read_text())
    assert cached["torch_version"] == torchsize.pinned_torch_version().split("+")[0]
    assert cached["installed_bytes"] == cached["torch"]["installed_bytes"] + sum(
        p["installed_bytes"] for p in cached["cuda_only_packages"]
    )
    assert cached["image_bytes"] == cached["torch"]["image_bytes"] + sum(
        p["image_bytes"] for p in cached["cuda_only_packages"]
    )
    assert cached["image_bytes"] < cached["installed_bytes"]
    assert any(p["name"].startswith("nvidia-") for p in cached["cuda_only_packages"])


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("torch/lib/libtorch_cpu.so", True),
        ("torch/include/ATen/ATen.h", False),
        ("torch/share/cmake/Torch/TorchConfig.cmake", False),
        ("torch/test/test_api", False),
        ("torch/lib/libprotobuf.a", False),
        ("torch/bin/protoc", False),
        ("torch/bin/torch_shm_manager", True),
        ("torch/fx/passes/tests/test_pass_manager.py", False),
        ("nvidia/cublas/lib/libcublas.so.13", True),
        ("triton/__pycache__/x.pyc", False),
        ("torch-2.13.0.dist-info/RECORD", True),
    ],
)
def test_kept_in_image_mirrors_the_dockerfile_trimming(path: str, kept: bool) -> None:
    assert torchsize.kept_in_image(path) is kept


def test_cuda_image_size_swaps_the_cpu_torch_for_the_cuda_install() -> None:
    estimate = {"installed_bytes": 4_700_000_000, "image_bytes": 4_600_000_000}
    assert torchsize.cuda_image_size(1_000_000_000, estimate, cpu_torch_bytes=500_000_000) == 5_100_000_000
    installed, trimmed = torchsize.installed_size("torch"), torchsize.installed_size("torch", trimmed=True)
    assert 100_000_000 < trimmed < installed  # the CPU build in this environment
