"""Fixtures of the function's unit tests: the offline models, stores on disk and a moto server.

The two models of ``<repo>/../shared/hf-cache`` (or $LAMBDA_INFERENCE_SHARED/hf-cache) are hashed
and loaded once per session. Model stores on disk link to the read-only snapshot files instead
of copying them. The moto server is real (HTTP on 127.0.0.1, a free port) and boto3 reaches it
through AWS_ENDPOINT_URL, exactly as the function does in the local cloud.
"""

from __future__ import annotations

import importlib
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from inference.contract import Manifest, ManifestModel, digest_file, model_folder

from harness.example import CAR_CONTEXT, CAR_QUESTION
from harness.local_settings import AWS_ENV
from tests.servers import threaded_moto

REPO_ROOT = Path(__file__).resolve().parents[3]

OFFLINE_MODELS = {  # model_type -> (repo id, revision, eager), as catalogs/offline.json
    "nlp1": ("local/minilm-l6-h384-squad", "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411", True),
    "nlp2": ("local/minilm-l3-h384-squad", "7b1d26e8fd7dfeba584d828213e5c65d51f52219", False),
}
MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt")


def shared_dir() -> Path:
    return Path(os.environ.get("LAMBDA_INFERENCE_SHARED") or REPO_ROOT.parent / "shared")


@pytest.fixture(scope="session")
def snapshots() -> dict[str, Path]:
    """model_type -> the read-only snapshot folder of each offline model."""
    cache = shared_dir() / "hf-cache"
    folders = {
        mt: cache / f"models--{repo.replace('/', '--')}" / "snapshots" / rev
        for mt, (repo, rev, _eager) in OFFLINE_MODELS.items()
    }
    missing = [str(p) for p in folders.values() if not (p / "model.safetensors").is_file()]
    if missing:
        pytest.fail(f"offline models missing (see ../shared/hf-cache/README.md): {missing}")
    return folders


@pytest.fixture(scope="session")
def offline_models(snapshots: dict[str, Path]) -> dict[str, ManifestModel]:
    """The manifest entries of the offline catalog, built with the contract module (hashed once)."""
    models = {}
    for mt, (repo, rev, eager) in OFFLINE_MODELS.items():
        files = tuple(digest_file(snapshots[mt] / name) for name in MODEL_FILES)
        models[mt] = ManifestModel(mt, repo, rev, model_folder(repo, rev), files, eager)
    return models


def link_model(root: Path, model: ManifestModel, source: Path) -> None:
    """Put ``model``'s files into a store root as symlinks to ``source`` (no 160 MB copies)."""
    folder = root / model.folder
    folder.mkdir(parents=True, exist_ok=True)
    for f in model.files:
        target = folder / f.name
        if not target.exists():
            target.symlink_to(source / f.name)


def write_manifest(root: Path, models: dict[str, ManifestModel]) -> Manifest:
    manifest = Manifest(models=dict(models), catalog="offline")
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text(manifest.to_json())
    return manifest


@pytest.fixture(scope="session")
def car() -> tuple[str, str]:
    """(context, question) of the sample's request (../shared/hf-cache/README.md)."""
    return CAR_CONTEXT, CAR_QUESTION


@pytest.fixture(scope="session")
def store_tools() -> Any:
    """Helpers to lay out a store on disk: ``link_model`` and ``write_manifest``."""
    return StoreTools


class StoreTools:
    link_model = staticmethod(link_model)
    write_manifest = staticmethod(write_manifest)


def threads_for_tests() -> int:
    return max(1, min(2, len(os.sched_getaffinity(0))))


@pytest.fixture(scope="session")
def loaded_models(snapshots: dict[str, Path]) -> dict[str, Any]:
    """Both offline models loaded by the torch engine, once per session."""
    from inference.engines import torch_runtime

    torch_runtime.configure_threads(threads_for_tests())
    return {mt: torch_runtime.load_model(folder) for mt, folder in snapshots.items()}


@pytest.fixture(scope="session")
def exported_folders(
    snapshots: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Path]]:
    """engine -> model_type -> the folder of the offline model exported for that ONNX engine.

    Exported by the harness's publisher (``harness.models.export``), as ``make publish`` does,
    into a state folder of the session's own.
    """
    from harness.models.export import export_model
    from harness.models.resolve import ResolvedModel, select_files

    state = tmp_path_factory.mktemp("export-state")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAMBDA_INFERENCE_STATE", str(state))
        folders: dict[str, dict[str, Path]] = {}
        for engine in ("onnx", "onnx-int8"):
            folders[engine] = {}
            for mt, (repo, rev, eager) in OFFLINE_MODELS.items():
                folder = snapshots[mt]
                resolved = ResolvedModel(mt, repo, rev, eager, folder, select_files(folder), repo, engine)
                folders[engine][mt] = export_model(resolved, engine, progress=lambda _line: None).directory
    return folders


@pytest.fixture(scope="session")
def onnx_models(exported_folders: dict[str, dict[str, Path]]) -> dict[str, dict[str, Any]]:
    """engine -> model_type -> the exported model loaded by the ONNX runtime."""
    from inference.engines import onnx_runtime

    onnx_runtime.configure_threads(threads_for_tests())
    return {
        engine: {mt: onnx_runtime.load_model(folder, engine) for mt, folder in by_type.items()}
        for engine, by_type in exported_folders.items()
    }


# --- the handler over an EFS-style store of the offline models -----------------------------------


@pytest.fixture(scope="session")
def store_root(
    tmp_path_factory: pytest.TempPathFactory,
    offline_models: dict[str, ManifestModel],
    snapshots: dict[str, Path],
    store_tools: Any,
) -> Path:
    """An EFS-style store: both offline models (linked) and two bad ones.

    'broken' has a truncated weights file (the store refuses it); 'garbage' has files that match
    its manifest but are no model (the store accepts them, loading fails).
    """
    root = tmp_path_factory.mktemp("efs-store")
    for mt, model in offline_models.items():
        store_tools.link_model(root, model, snapshots[mt])
    bad: dict[str, ManifestModel] = {}
    for mt in ("broken", "garbage"):
        folder = root / model_folder(f"test/{mt}", "r1")
        folder.mkdir(parents=True)
        (folder / "config.json").write_text('{"model_type": "bert"}')
        (folder / "model.safetensors").write_bytes(b"\0" * 4096)
        files = tuple(digest_file(folder / n) for n in ("config.json", "model.safetensors"))
        bad[mt] = ManifestModel(mt, f"test/{mt}", "r1", model_folder(f"test/{mt}", "r1"), files)
    (root / bad["broken"].folder / "model.safetensors").write_bytes(b"\0" * 1000)  # truncated
    store_tools.write_manifest(root, {**offline_models, **bad})
    return root


@pytest.fixture(scope="session")
def handler(store_root: Path) -> Iterator[ModuleType]:
    """``inference.handler`` imported (init run) with the EFS store; nlp1 is eager."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("MODEL_STORE", "efs")
        env.setenv("MODEL_ROOT", str(store_root))
        env.setenv("MAX_CONTEXT_CHARS", "5000")
        env.setenv("MAX_WINDOWS", "4")
        env.setenv("MODEL_MEMORY_BUDGET_MB", "1024")
        env.setenv("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "3538")
        module = sys.modules.get("inference.handler")
        module = importlib.reload(module) if module else importlib.import_module("inference.handler")
        yield module


# --- synthetic models (store tests need bytes, not weights) ------------------------------------


@dataclass
class FakeModel:
    """A model of random bytes: its manifest entry and the local files it was built from."""

    model: ManifestModel
    source: Path


def make_fake_model(base: Path, model_type: str, sizes: dict[str, int], revision: str = "r1") -> FakeModel:
    source = base / f"src-{model_type}-{revision}"
    source.mkdir(parents=True)
    for name, size in sizes.items():
        (source / name).write_bytes(os.urandom(size))
    files = tuple(digest_file(source / name) for name in sizes)
    repo = f"test/{model_type}"
    return FakeModel(ManifestModel(model_type, repo, revision, model_folder(repo, revision), files), source)


@pytest.fixture
def fake_model_factory(tmp_path: Path):
    def make(model_type: str, sizes: dict[str, int] | None = None, revision: str = "r1") -> FakeModel:
        return make_fake_model(
            tmp_path, model_type, sizes or {"config.json": 700, "weights.bin": 40_000}, revision
        )

    return make


# --- moto ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real moto server on 127.0.0.1, reached through AWS_ENDPOINT_URL for the whole session."""
    with threaded_moto() as endpoint, pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ENDPOINT_URL", endpoint)
        for name, value in AWS_ENV.items():
            env.setenv(name, value)
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        env.delenv("AWS_PROFILE", raising=False)
        yield endpoint


@pytest.fixture(scope="session")
def s3(moto_endpoint: str) -> Any:
    """A botocore client as the function would make it, pointed at moto by the environment alone
    (it writes too: buckets and objects; the function's own reads go through ``s3_client``)."""
    from inference.stores.s3 import botocore_s3_client

    client = botocore_s3_client()
    assert client.meta.endpoint_url == moto_endpoint
    return client


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"models-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture(scope="session")
def publish(s3: Any):
    """``publish(bucket, prefix, fakes)``: upload fake models to moto, the manifest last."""

    def run(bucket: str, prefix: str, fakes: list[FakeModel], catalog: str = "test") -> Manifest:
        return publish_to_s3(s3, bucket, prefix, fakes, catalog)

    return run


def publish_to_s3(
    s3: Any, bucket: str, prefix: str, fakes: list[FakeModel], catalog: str = "test"
) -> Manifest:
    """Upload model files, then the manifest last (what the harness's publisher does)."""
    from inference.stores.s3 import object_key

    for fake in fakes:
        for f in fake.model.files:
            key = object_key(prefix, f"{fake.model.folder}/{f.name}")
            s3.put_object(Bucket=bucket, Key=key, Body=(fake.source / f.name).read_bytes())
    manifest = Manifest(models={f.model.model_type: f.model for f in fakes}, catalog=catalog)
    s3.put_object(Bucket=bucket, Key=object_key(prefix, "manifest.json"), Body=manifest.to_json().encode())
    return manifest


# --- Lambda -------------------------------------------------------------------------------------


@dataclass
class LambdaContext:
    function_name: str = "inference-test"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:inference-test"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext(aws_request_id=str(uuid.uuid4()))


@pytest.fixture(autouse=True)
def _reset_metrics() -> Iterator[None]:
    """Metrics are process-wide singletons: every test starts and ends with none pending."""
    from inference.observability import metrics

    metrics.clear_metrics()
    yield
    metrics.clear_metrics()
