"""The service under churn with real models: budget at the peak, counters, a broken model's
backoff (503 without re-reading the store) while the others answer, and GET /models."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from inference.api import QARequest
from inference.backoff import FailureBackoff
from inference.config import Settings
from inference.contract import ManifestModel, model_folder
from inference.errors import ModelUnavailableError
from inference.observability import metrics
from inference.service import InferenceService
from inference.stores.local import LocalStore

MB = 1024 * 1024
EXPECTED = {"nlp1": "The year 1886", "nlp2": "1886"}
BASES = {"f0": "nlp1", "f1": "nlp2", "f2": "nlp1", "f3": "nlp2", "bad": "nlp2"}


class CountingStore(LocalStore):
    """The EFS store, counting how often each model's files are read (verified)."""

    def __init__(self, root: Path) -> None:
        super().__init__("efs", root, check_sha256=True)
        self.reads: Counter[str] = Counter()

    def materialize(self, model: ManifestModel) -> Path:
        self.reads[model.model_type] += 1
        return super().materialize(model)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fleet_root(
    tmp_path: Path, offline_models: dict[str, ManifestModel], snapshots: dict[str, Path], store_tools: Any
) -> Path:
    """Five model types copying the two offline models; 'bad' has one flipped weight byte."""
    models = {}
    for model_type, base in BASES.items():
        source = offline_models[base]
        model = ManifestModel(
            model_type, f"test/{model_type}", "r1", model_folder(f"test/{model_type}", "r1"), source.files
        )
        store_tools.link_model(tmp_path, model, snapshots[base])
        models[model_type] = model
    weights = tmp_path / models["bad"].folder / "model.safetensors"
    weights.unlink()
    shutil.copyfile(snapshots["nlp2"] / "model.safetensors", weights)
    with open(weights, "r+b") as stream:  # same size, another sha256
        stream.seek(weights.stat().st_size // 2)
        byte = stream.read(1)
        stream.seek(-1, 1)
        stream.write(bytes([byte[0] ^ 0xFF]))
    store_tools.write_manifest(tmp_path, models)
    return tmp_path


def ask(service: InferenceService, model_type: str, car: tuple[str, str]) -> dict[str, Any]:
    context, question = car
    try:
        return service.answer(QARequest(model_type, question, context), "rid")
    finally:
        metrics.clear_metrics()


def test_churn_with_a_broken_model(fleet_root: Path, car: tuple[str, str]) -> None:
    clock = Clock()
    store = CountingStore(fleet_root)
    settings = Settings(store="efs", model_root=fleet_root, memory_budget_mb=200, manifest_ttl_seconds=60)
    service = InferenceService(settings, store, backoff=FailureBackoff(5, 60, clock=clock))
    asked: Counter[str] = Counter()
    for model_type in ("f0", "f1", "f2", "bad", "f3", "f0", "bad", "f1", "f1", "bad"):
        asked[model_type] += 1
        if model_type == "bad":
            with pytest.raises(ModelUnavailableError, match=r"'bad' is unavailable: .*sha256"):
                ask(service, model_type, car)
        else:
            body = ask(service, model_type, car)
            assert body["answer"] == EXPECTED[BASES[model_type]]
        assert service.cache.used_bytes <= 200 * MB
    assert store.reads["bad"] == 1  # the two retries inside the backoff read nothing
    clock.now += 5.1
    with pytest.raises(ModelUnavailableError):
        ask(service, "bad", car)
    asked["bad"] += 1
    assert store.reads["bad"] == 2  # tried again once the wait was over

    assert service.cache.popularity.counts == dict(asked)  # every request counts once, refused or not
    listing = service.list_models()
    models = listing["models"]
    for model_type, count in asked.items():
        assert models[model_type]["hits"] + models[model_type]["misses"] == count, model_type
    assert models["f1"]["hits"] >= 1 and models["bad"]["hits"] == 0
    assert sum(m["loaded"] for m in models.values()) == len(service.cache.keys()) == 2
    assert sum(m["bytes_in_memory"] for m in models.values()) == listing["memory"]["used_bytes"]
    assert listing["memory"]["budget_bytes"] == 200 * MB
    assert listing["memory"]["used_bytes"] <= listing["memory"]["peak_bytes"] <= 200 * MB
    assert models["f0"]["last_load_ms"] > 0 and models["bad"]["last_load_ms"] is None
    assert models["f0"]["failure"] is None
    failure = models["bad"]["failure"]
    assert "sha256" in failure["error"] and 9 < failure["retry_after_s"] <= 10  # second wait: 10 s
    assert "disk" not in listing  # EFS reads in place
    assert not models["bad"]["loaded"] and models["bad"]["bytes_in_memory"] == 0
