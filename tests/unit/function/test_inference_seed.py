"""The EFS seeder: from moto S3 into a directory, verified, complete folders skipped, manifest last."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inference import seed
from inference.contract import Manifest
from inference.errors import ModelUnavailableError
from inference.stores.files import COMPLETE_MARKER, PART_TAG
from inference.stores.local import efs_store
from inference.stores.s3 import object_key

PREFIX = "seed"


@pytest.fixture
def two_models(fake_model_factory: Callable[..., Any]) -> list[Any]:
    return [
        fake_model_factory("nlp1", {"config.json": 600, "model.safetensors": 90_000}),
        fake_model_factory("nlp2", {"config.json": 500, "model.safetensors": 70_000}),
    ]


def test_seeding_copies_every_model_then_the_manifest_and_skips_complete_folders(
    bucket: str, publish: Any, two_models: list[Any], tmp_path: Path, lambda_context: Any, monkeypatch: Any
) -> None:
    manifest = publish(bucket, PREFIX, two_models)
    root = tmp_path / "efs"
    monkeypatch.setenv("MODEL_BUCKET", bucket)
    monkeypatch.setenv("MODEL_PREFIX", PREFIX)
    monkeypatch.setenv("MODEL_ROOT", str(root))

    first = seed.handler({}, lambda_context)  # the client comes from AWS_ENDPOINT_URL (moto)
    assert first["copied"] == ["nlp1", "nlp2"] and first["skipped"] == []
    assert first["bytes"] == sum(f.model.size for f in two_models)
    assert Manifest.from_json((root / "manifest.json").read_text()) == manifest
    store = efs_store(root)  # what the API function then reads: complete and verified
    for fake in two_models:
        folder = store.materialize(fake.model)
        assert (folder / COMPLETE_MARKER).is_file()
    assert not [p for p in root.rglob("*") if PART_TAG in p.name]

    second = seed.handler({"bucket": bucket, "prefix": PREFIX}, lambda_context)
    assert second["copied"] == [] and second["skipped"] == ["nlp1", "nlp2"] and second["bytes"] == 0


def test_a_failed_copy_writes_no_manifest_and_leaves_no_partial_file(
    bucket: str, publish: Any, two_models: list[Any], tmp_path: Path, s3: Any
) -> None:
    publish(bucket, PREFIX, two_models)
    s3.delete_object(Bucket=bucket, Key=object_key(PREFIX, f"{two_models[1].model.folder}/model.safetensors"))
    root = tmp_path / "efs"
    with pytest.raises(ModelUnavailableError, match=r"'nlp2'.*model.safetensors is missing"):
        seed.seed(bucket, PREFIX, root, client=s3)
    assert not (root / "manifest.json").exists()
    assert not [p for p in root.rglob("*") if PART_TAG in p.name]
    assert (root / two_models[0].model.folder / COMPLETE_MARKER).is_file()  # nlp1 done: kept


def test_a_new_revision_is_added_beside_the_old_one(
    bucket: str, publish: Any, fake_model_factory: Callable[..., Any], tmp_path: Path, s3: Any
) -> None:
    old = fake_model_factory("nlp1", revision="r1")
    new = fake_model_factory("nlp1", revision="r2")
    root = tmp_path / "efs"
    publish(bucket, PREFIX, [old])
    seed.seed(bucket, PREFIX, root, client=s3)
    publish(bucket, PREFIX, [new])
    result = seed.seed(bucket, PREFIX, root, client=s3)
    assert result["copied"] == ["nlp1"]
    assert (root / old.model.folder / COMPLETE_MARKER).is_file()  # a warm function may still read it
    assert efs_store(root).read_manifest().models["nlp1"].revision == "r2"
