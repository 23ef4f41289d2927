"""The CUDA torch size estimate, offline: wheel choice, markers, range reads, the cache."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from harness.bench import torchsize


def _wheel(name: str, size: int = 100, yanked: bool = False) -> dict[str, Any]:
    return {"filename": name, "size": size, "url": f"https://files.example/{name}", "yanked": yanked}


def test_best_wheel_takes_the_highest_matching_version_for_linux_x86_64_py311() -> None:
    files = [
        _wheel("cuda_bindings-13.0.3-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl", 1),
        _wheel("cuda_bindings-13.5.0-cp311-cp311-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl", 2),
        _wheel("cuda_bindings-13.5.0-cp312-cp312-manylinux_2_24_x86_64.manylinux_2_28_x86_64.whl", 3),
        _wheel("cuda_bindings-13.6.0-cp311-cp311-win_amd64.whl", 4),
        _wheel("cuda_bindings-14.0.0-cp311-cp311-manylinux_2_28_x86_64.whl", 5),
        _wheel("cuda_bindings-13.5.1-cp311-cp311-manylinux_2_28_x86_64.whl", 6, yanked=True),
        _wheel("cuda_bindings-13.5.2-cp311-cp311-manylinux_2_34_x86_64.whl", 7),  # glibc too new
        {"filename": "cuda_bindings-13.5.3.tar.gz", "size": 8, "url": "x"},
    ]
    assert torchsize._best_wheel(files, "<14,>=13.0.3")["size"] == 2


def test_best_wheel_ignores_local_builds_and_accepts_pure_python() -> None:
    files = [
        _wheel("torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl", 1),
        _wheel("torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl", 2),
        _wheel("cuda_toolkit-13.0.3.0-py2.py3-none-any.whl", 3),
    ]
    assert torchsize._best_wheel(files, "==2.13.0")["size"] == 2
    assert torchsize._best_wheel(files[2:], "==13.0.3")["size"] == 3  # 13.0.3 == 13.0.3.0
    with pytest.raises(LookupError):
        torchsize._best_wheel(files[:1], "==2.13.0")


def test_requirements_follow_markers_and_extras() -> None:
    metadata = "\n".join(
        [
            "Metadata-Version: 2.4",
            "Name: torch",
            "Version: 2.13.0",
            "Requires-Dist: filelock",
            'Requires-Dist: nvidia-nccl-cu13==2.29.7; platform_system == "Linux"',
            'Requires-Dist: pywin32; sys_platform == "win32"',
            'Requires-Dist: triton==3.7.1; platform_system == "Linux" and python_version < "3.15"',
            'Requires-Dist: nvidia-cublas==13.1.*; extra == "cublas"',
            'Requires-Dist: optree>=0.13.0; extra == "optree"',
            "",
        ]
    )
    names = [r.name for r in torchsize._requirements(metadata, ())]
    assert names == ["filelock", "nvidia-nccl-cu13", "triton"]
    with_extra = [r.name for r in torchsize._requirements(metadata, ("cublas",))]
    assert "nvidia-cublas" in with_extra and "optree" not in with_extra


class _FakeSession:
    """Serves one in-memory file with HTTP range semantics (and counts what was read)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.bytes_sent = 0

    def get(self, url: str, headers: dict[str, str], timeout: float) -> Any:
        first, last = headers["Range"].removeprefix("bytes=").split("-")
        chunk = self.data[int(first) : int(last) + 1]
        self.bytes_sent += len(chunk)

        class Response:
            status_code = 206
            content = chunk

            def raise_for_status(self) -> None:
                return None

        return Response()


def test_wheel_contents_reads_sizes_and_metadata_through_ranges() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("pkg/big.so", b"\0" * 5_000_000)
        archive.writestr("pkg/__init__.py", "x = 1\n")
        archive.writestr("pkg/tests/t.py", "y = 2\n")
        archive.writestr("pkg-1.0.dist-info/METADATA", "Name: pkg\nVersion: 1.0\nRequires-Dist: dep\n")
    data = buffer.getvalue()
    session = _FakeSession(data)
    unpacked, kept, metadata = torchsize._wheel_contents(session, "https://files.example/pkg.whl", len(data))
    assert unpacked == 5_000_000 + 6 + 6 + len("Name: pkg\nVersion: 1.0\nRequires-Dist: dep\n")
    assert kept == unpacked - 6  # pkg/tests/ is trimmed in the image
    assert "Requires-Dist: dep" in metadata
    assert session.bytes_sent < len(data)  # only the central directory and METADATA were read


def test_the_cached_estimate_is_used_for_the_pinned_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "torch-cuda-size.json"
    cache.write_text(json.dumps({"torch_version": "2.13.0", "installed_bytes": 42, "image_bytes": 40}))
    monkeypatch.setattr(torchsize, "pinned_torch_version", lambda: "2.13.0")

    def no_network(version: str) -> dict[str, Any]:
        raise AssertionError("PyPI must not be asked when the cache is current")

    monkeypatch.setattr(torchsize, "fetch_estimate", no_network)
    assert torchsize.cuda_torch_estimate(cache_path=cache)["installed_bytes"] == 42

    monkeypatch.setattr(torchsize, "pinned_torch_version", lambda: "2.14.0")
    monkeypatch.setattr(
        torchsize, "fetch_estimate", lambda v: {"torch_version": v, "installed_bytes": 7, "image_bytes": 6}
    )
    assert torchsize.cuda_torch_estimate(cache_path=cache)["installed_bytes"] == 7
    assert json.loads(cache.read_text())["torch_version"] == "2.14.0"


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
