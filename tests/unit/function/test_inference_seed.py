"""The EFS seeder: from moto S3 into a directory, verified, complete folders skipped, manifest last;
two seeders at once take turns."""

from __future__ import annotations

import json
import threading
import time
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
    assert second["copied"] == [] and second["rehashed"] == [] and second["skipped"] == ["nlp1", "nlp2"]
    assert second["bytes"] == 0


def test_a_file_written_over_on_the_mount_is_repaired_and_old_markers_are_stamped(
    bucket: str, publish: Any, two_models: list[Any], tmp_path: Path, s3: Any
) -> None:
    publish(bucket, PREFIX, two_models)
    root = tmp_path / "efs"
    seed.seed(bucket, PREFIX, root, client=s3)
    nlp1, nlp2 = (root / fake.model.folder for fake in two_models)
    weights = nlp1 / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(bytes(len(good)))  # same size, other bytes: only the sha256 tells
    marker = nlp2 / COMPLETE_MARKER
    recorded = json.loads(marker.read_text())
    marker.write_text(json.dumps({k: v for k, v in recorded.items() if k != "stamps"}))  # an older seeder's

    again = seed.seed(bucket, PREFIX, root, client=s3)
    assert again["copied"] == ["nlp1"] and again["rehashed"] == ["nlp2"] and again["skipped"] == []
    assert again["bytes"] == len(good) and weights.read_bytes() == good
    assert "stamps" in json.loads(marker.read_text())
    third = seed.seed(bucket, PREFIX, root, client=s3)
    assert third["skipped"] == ["nlp1", "nlp2"] and third["bytes"] == 0


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


def _run_in_thread(results: dict[str, Any], name: str, *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            results[name] = seed.seed(*args)
        except BaseException as exc:  # the test reports it, not the thread
            results[name] = exc

    thread = threading.Thread(target=run, name=f"seeder-{name}")
    thread.start()
    return thread


def test_two_seeders_at_once_take_turns_and_the_second_finds_everything_copied(
    bucket: str, publish: Any, two_models: list[Any], tmp_path: Path, s3: Any, monkeypatch: Any
) -> None:
    """Started together on slow copies, both would copy (and one's sweep delete the other's
    partial files) if they did not take turns: the one that comes second finds every folder
    complete and copies nothing."""
    publish(bucket, PREFIX, two_models)
    root = tmp_path / "efs"
    real = seed.download_model

    def slow(*args: Any, **kwargs: Any) -> int:
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(seed, "download_model", slow)
    results: dict[str, Any] = {}
    threads = [_run_in_thread(results, name, bucket, PREFIX, root, s3) for name in ("a", "b")]
    for thread in threads:
        thread.join(30)
    assert not [r for r in results.values() if isinstance(r, BaseException)], results
    assert sorted(r["copied"] for r in results.values()) == [[], ["nlp1", "nlp2"]]
    assert max(r["lock_wait_seconds"] for r in results.values()) >= 0.5  # two slow copies waited
    store = efs_store(root)
    for fake in two_models:
        store.materialize(fake.model)  # every file verified (sha256)
    assert not [p for p in root.rglob("*") if PART_TAG in p.name]


def test_a_seeder_that_read_an_older_manifest_cannot_write_it_over_a_newer_one(
    bucket: str,
    publish: Any,
    fake_model_factory: Callable[..., Any],
    tmp_path: Path,
    s3: Any,
    monkeypatch: Any,
) -> None:
    """Run 1 copies r1 slowly; r2 is published and run 2 starts meanwhile. Run 2 reads the bucket's
    manifest only in its turn, after run 1 wrote r1's: the file system ends on r2, never rolled
    back to r1 by the run that started first and would otherwise finish last."""
    old = fake_model_factory("nlp1", revision="r1")
    new = fake_model_factory("nlp1", revision="r2")
    publish(bucket, PREFIX, [old])
    root = tmp_path / "efs"
    copying, finish = threading.Event(), threading.Event()
    real = seed.download_model

    def first_waits(*args: Any, **kwargs: Any) -> int:
        if not copying.is_set():
            copying.set()
            assert finish.wait(30)
        return real(*args, **kwargs)

    monkeypatch.setattr(seed, "download_model", first_waits)
    results: dict[str, Any] = {}
    first = _run_in_thread(results, "first", bucket, PREFIX, root, s3)
    assert copying.wait(30)  # run 1 has read r1's manifest and is copying
    publish(bucket, PREFIX, [new])
    second = _run_in_thread(results, "second", bucket, PREFIX, root, s3)
    second.join(0.5)
    assert second.is_alive(), results  # run 2 waits for run 1's turn to end
    finish.set()
    first.join(30)
    second.join(30)
    assert results["first"]["copied"] == ["nlp1"] and results["second"]["copied"] == ["nlp1"]
    assert results["second"]["lock_wait_seconds"] >= 0.5
    assert efs_store(root).read_manifest().models["nlp1"].revision == "r2"
    for fake in (old, new):  # both revisions complete: a warm function may still read r1
        assert (root / fake.model.folder / COMPLETE_MARKER).is_file()
    assert not [p for p in root.rglob("*") if PART_TAG in p.name]
