"""The fleet catalog: names, distinct reproducible copies whose tensors are their base's, limits."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from inference.contract import MANIFEST_NAME, Manifest

from harness.images.limits import LAMBDA_IMAGE_LIMIT_BYTES, ImageTooLargeError, check_baked_size
from harness.models import fleet
from harness.models.bundle import build_bundle, default_bundle_dir
from harness.models.publish_s3 import publish_to_s3
from harness.models.resolve import CatalogError, load_catalog


@pytest.fixture(autouse=True)
def _fresh_memo() -> None:
    fleet._generated.clear()  # each test has its own state folder


def _tensors(path: Path) -> tuple[dict, bytes]:
    """(the tensor entries of the header, the bytes after the header) of a safetensors file."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    header.pop("__metadata__", None)
    return header, data[8 + length :]


def test_model_types_are_readable_and_wide_enough() -> None:
    assert fleet.model_types(3) == ["qa-000", "qa-001", "qa-002"]
    assert len(fleet.model_types(200)) == 200 and fleet.model_types(200)[-1] == "qa-199"
    assert fleet.model_types(1001)[-1] == "qa-1000" and fleet.model_types(1001)[0] == "qa-0000"


def test_fleet_size_from_the_environment() -> None:
    assert fleet.fleet_size({}) == fleet.DEFAULT_FLEET_SIZE == 50
    assert fleet.fleet_size({"FLEET_SIZE": "200"}) == 200
    for bad in ("0", "-3", "many", "10001"):
        with pytest.raises(CatalogError, match="FLEET_SIZE"):
            fleet.fleet_size({"FLEET_SIZE": bad})


def test_copies_are_distinct_and_keep_their_base_tensors(
    models_hf_env: Path,
    models_offline_snapshots: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("FLEET_SIZE", "3")
    catalog = load_catalog("fleet")
    assert catalog.name == "fleet" and sorted(catalog.models) == ["qa-000", "qa-001", "qa-002"]
    recorded = json.loads(fleet.fleet_catalog_path().read_text())["models"]
    assert [recorded[mt]["base"] for mt in sorted(recorded)] == ["nlp1", "nlp2", "nlp1"]

    bases = {
        "qa-000": models_offline_snapshots["local/minilm-l6-h384-squad"],
        "qa-001": models_offline_snapshots["local/minilm-l3-h384-squad"],
        "qa-002": models_offline_snapshots["local/minilm-l6-h384-squad"],
    }
    digests = set()
    for model_type, base in bases.items():
        copy = Path(str(catalog.models[model_type].source.path)) / fleet.WEIGHTS_FILE
        assert _tensors(copy) == _tensors(base / fleet.WEIGHTS_FILE)  # same tensors, same bytes
        (length,) = struct.unpack("<Q", copy.read_bytes()[:8])
        assert length % 8 == 0  # safetensors' alignment kept
        digests.add(hashlib.sha256(copy.read_bytes()).hexdigest())
    assert len(digests) == 3  # every copy is a file of its own

    manifest = build_bundle(catalog, tmp_path / "bundle", progress=lambda _: None)
    folders = {m.folder for m in manifest.models.values()}
    assert len(folders) == 3 and all(m.engine == "torch" for m in manifest.models.values())


def test_regenerating_writes_nothing_and_repairs_a_damaged_copy(models_hf_env: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    fleet.generate_fleet(2, progress=lines.append)
    assert "2 written" in lines[-1]
    weights = fleet.fleet_dir() / "models" / "qa-001" / fleet.WEIGHTS_FILE
    before = (weights.stat().st_mtime_ns, hashlib.sha256(weights.read_bytes()).hexdigest())

    fleet.generate_fleet(2, progress=lines.append)
    assert "0 written, 2 unchanged" in lines[-1]
    assert weights.stat().st_mtime_ns == before[0]

    weights.write_bytes(weights.read_bytes()[:1000])  # truncated by a crash
    fleet.generate_fleet(2, progress=lines.append)
    assert "1 written" in lines[-1]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == before[1]  # reproducible

    dest = tmp_path / "bundle"
    build_bundle(fleet.fleet_catalog(2), dest, progress=lines.append)
    text = (dest / MANIFEST_NAME).read_text()
    fleet._generated.clear()
    build_bundle(fleet.fleet_catalog(2), dest, progress=lines.append)
    assert (dest / MANIFEST_NAME).read_text() == text and "manifest unchanged" in lines[-1]
    assert set(Manifest.from_json(text).models) == {"qa-000", "qa-001"}


def test_the_oci_size_check_names_the_size_and_the_way_out(models_hf_env: Path) -> None:
    fifty = check_baked_size("fleet", fleet.planned_sizes(50), fleet.FLEET_RUNTIMES)
    assert 4e9 < fifty < 6e9  # 50 models of 66-87 MB plus the torch image
    with pytest.raises(ImageTooLargeError) as failure:
        check_baked_size("fleet", fleet.planned_sizes(200), fleet.FLEET_RUNTIMES)
    message = str(failure.value)
    assert "17.0 GB" in message and "200 models" in message
    assert "VARIANT=s3" in message and "FLEET_SIZE" in message
    assert check_baked_size("x", [LAMBDA_IMAGE_LIMIT_BYTES - 922 * 1000**2], {"torch"})


def test_publishing_an_unchanged_fleet_uploads_nothing(models_hf_env: Path, models_s3: Any) -> None:
    bucket = "fleet-publish-test"
    models_s3.create_bucket(Bucket=bucket)
    dest = fleet_bundle(2)
    lines: list[str] = []
    first = publish_to_s3(dest, bucket, "models", s3_client=models_s3, progress=lines.append)
    assert len(first.uploaded) == 2 * 5 + 1  # five files per model, then the manifest
    fleet._generated.clear()
    again = publish_to_s3(fleet_bundle(2), bucket, "models", s3_client=models_s3, progress=lines.append)
    assert again.uploaded == () and len(again.skipped) == 11
    assert "uploaded 0 objects" in lines[-1] and "skipped 11 unchanged" in lines[-1]


def fleet_bundle(size: int) -> Path:
    dest = default_bundle_dir(fleet.FLEET_NAME)
    build_bundle(fleet.fleet_catalog(size), dest, progress=lambda _: None)
    return dest
