"""S3 publishing against a real moto server: multipart, sha256 metadata, manifest last, no re-upload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from inference.contract import MANIFEST_NAME, Manifest

from harness.local_settings import AWS_ENV
from harness.models.bundle import build_bundle, manifest_sha256
from harness.models.publish_s3 import PublishError, PublishResult, object_key, publish_to_s3
from harness.models.resolve import load_catalog
from harness.paths import CATALOGS_DIR, hf_cache_dir

PREFIX = "models"


@dataclass
class Published:
    bundle: Path
    bucket: str
    manifest: Manifest
    result: PublishResult
    lines: list[str]
    operations: list[tuple[str, str]]  # (S3 operation, key) in the order they were sent


def _record_operations(client: Any, operations: list[tuple[str, str]]) -> list[str]:
    """Hook the client so every object write is recorded; returns the handler ids to unhook."""
    ids = []
    for op in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):

        def record(params: dict[str, Any], op: str = op, **_: Any) -> None:
            operations.append((op, params["Key"]))

        handler_id = f"models-test-{op}"
        client.meta.events.register(f"before-parameter-build.s3.{op}", record, unique_id=handler_id)
        ids.append((f"before-parameter-build.s3.{op}", handler_id))
    return ids


@pytest.fixture(scope="module")
def published(models_s3: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Published]:
    """The offline catalog bundled and published once; the tests below build on that state."""
    root = tmp_path_factory.mktemp("publish")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_CACHE", str(hf_cache_dir()))
        env.setenv("HF_HUB_OFFLINE", "1")
        manifest = build_bundle(load_catalog("offline"), root / "offline", progress=lambda _: None)
    bucket = "models-publish-test"
    models_s3.create_bucket(Bucket=bucket)
    lines: list[str] = []
    operations: list[tuple[str, str]] = []
    hooks = _record_operations(models_s3, operations)
    try:
        result = publish_to_s3(
            root / "offline", bucket, PREFIX, s3_client=models_s3, progress=lines.append, progress_interval=0
        )
    finally:
        for event, handler_id in hooks:
            models_s3.meta.events.unregister(event, unique_id=handler_id)
    yield Published(root / "offline", bucket, manifest, result, lines, operations)


def _keys(manifest: Manifest) -> list[str]:
    return [f"{PREFIX}/{m.folder}/{f.name}" for m in manifest.models.values() for f in m.files]


def test_first_publish_uploads_everything_multipart_and_the_manifest_last(
    published: Published, models_s3: Any
) -> None:
    manifest_key = f"{PREFIX}/{MANIFEST_NAME}"
    result = published.result
    assert sorted(result.uploaded) == sorted([*_keys(published.manifest), manifest_key])
    assert result.skipped == () and result.uploaded[-1] == manifest_key
    assert published.operations[-1] == ("PutObject", manifest_key)  # nothing is written after it
    assert result.manifest_sha256 == manifest_sha256(published.bundle)
    assert result.bytes_uploaded == sum(m.size for m in published.manifest.models.values()) + len(
        (published.bundle / MANIFEST_NAME).read_bytes()
    )

    for model in published.manifest.models.values():
        for f in model.files:
            head = models_s3.head_object(Bucket=published.bucket, Key=f"{PREFIX}/{model.folder}/{f.name}")
            assert head["ContentLength"] == f.size and head["Metadata"] == {"sha256": f.sha256}
            parts = -(-f.size // (8 * 1024 * 1024))
            if f.name == "model.safetensors":  # 86 MiB and 66 MiB: multipart in 8 MiB parts
                assert head["ETag"].strip('"').endswith(f"-{parts}"), head["ETag"]
            else:
                assert "-" not in head["ETag"]
    body = models_s3.get_object(Bucket=published.bucket, Key=manifest_key)
    assert body["Body"].read() == (published.bundle / MANIFEST_NAME).read_bytes()
    assert body["Metadata"] == {"sha256": result.manifest_sha256}

    big = [line for line in published.lines if "minilm-l6-h384-squad" in line and "model.safetensors" in line]
    assert any("%" in line and " of 86.1 MiB" in line for line in big)  # bytes and percent
    assert any(line.startswith("    uploaded") and "MiB/s" in line for line in big)
    assert "uploaded 11 objects" in published.lines[-1]


def test_republish_uploads_nothing(published: Published, models_moto_endpoint: str) -> None:
    """Also the default client: AWS_ENDPOINT_URL from the environment, as the harness sets it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", models_moto_endpoint)
        for name, value in AWS_ENV.items():
            env.setenv(name, value)
        again = publish_to_s3(published.bundle, published.bucket, PREFIX, progress=lambda _: None)
    assert again.uploaded == () and again.bytes_uploaded == 0
    assert len(again.skipped) == 11 and again.manifest_sha256 == published.result.manifest_sha256


def test_new_revision_uploads_only_its_files_then_the_manifest(
    published: Published, models_s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_cache_dir()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    new_files = tmp_path / "nlp2-v2"
    new_files.mkdir()
    for name, body in {"config.json": "{}", "model.safetensors": "w2", "vocab.txt": "v"}.items():
        (new_files / name).write_text(body)
    raw = json.loads((CATALOGS_DIR / "offline.json").read_text())
    raw["models"]["nlp2"] = {"path": str(new_files)}
    (tmp_path / "offline.json").write_text(json.dumps(raw))
    v2 = build_bundle(load_catalog(tmp_path / "offline.json"), tmp_path / "bundle", progress=lambda _: None)

    result = publish_to_s3(tmp_path / "bundle", published.bucket, PREFIX, s3_client=models_s3, progress=print)
    new_keys = [
        f"{PREFIX}/{v2.models['nlp2'].folder}/{n}" for n in ("config.json", "model.safetensors", "vocab.txt")
    ]
    assert list(result.uploaded) == [*new_keys, f"{PREFIX}/{MANIFEST_NAME}"]
    assert result.manifest_sha256 != published.result.manifest_sha256
    old_nlp2 = published.manifest.models["nlp2"]  # immutable folders: the old one stays for warm readers
    models_s3.head_object(Bucket=published.bucket, Key=f"{PREFIX}/{old_nlp2.folder}/model.safetensors")

    # Rolling back is publishing the old bundle again: only the manifest changes.
    back = publish_to_s3(published.bundle, published.bucket, PREFIX, s3_client=models_s3, progress=print)
    assert back.uploaded == (f"{PREFIX}/{MANIFEST_NAME}",)


def test_errors_name_the_way_out(published: Published, models_s3: Any, tmp_path: Path) -> None:
    with pytest.raises(PublishError, match=r"no-such-bucket.*Terraform"):
        publish_to_s3(published.bundle, "no-such-bucket", PREFIX, s3_client=models_s3, progress=print)
    with pytest.raises(PublishError, match="build the bundle first"):
        publish_to_s3(tmp_path, published.bucket, PREFIX, s3_client=models_s3, progress=print)

    files = tmp_path / "tiny"
    files.mkdir()
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        (files / name).write_text("x")
    (tmp_path / "tiny.json").write_text(json.dumps({"models": {"qa": {"path": "tiny"}}}))
    manifest = build_bundle(load_catalog(tmp_path / "tiny.json"), tmp_path / "bundle", progress=print)
    changed = tmp_path / "bundle" / manifest.models["qa"].folder / "vocab.txt"
    changed.unlink()
    changed.write_text("y")  # same size, other bytes: the sha256 metadata would lie
    with pytest.raises(PublishError, match=r"vocab.txt does not match manifest.json: rebuild the bundle"):
        publish_to_s3(tmp_path / "bundle", published.bucket, "tiny", s3_client=models_s3, progress=print)
    assert "Contents" not in models_s3.list_objects_v2(Bucket=published.bucket, Prefix="tiny/")


@pytest.mark.parametrize(
    ("prefix", "key"),
    [("", "manifest.json"), ("models", "models/manifest.json"), ("/a/b/", "a/b/manifest.json")],
)
def test_object_key(prefix: str, key: str) -> None:
    assert object_key(prefix, MANIFEST_NAME) == key
