"""The in-memory LRU: budget, eviction order, reloads, revisions, cost estimate."""

from __future__ import annotations

import pytest
from inference.cache import PER_MODEL_OVERHEAD, ModelCache, OverBudgetError, model_cost
from inference.contract import FileDigest, ManifestModel

MB = 1024 * 1024


class Loader:
    """Counts loads and records the cache's usage at the moment of each load (the peak)."""

    def __init__(self, cache: ModelCache[str]) -> None:
        self.cache = cache
        self.calls: list[str] = []
        self.used_at_load: list[int] = []

    def __call__(self, key: str):
        def load() -> str:
            self.calls.append(key)
            self.used_at_load.append(self.cache.used_bytes)
            return f"model:{key}"

        return load


def fill(cache: ModelCache[str], loader: Loader, key: str, cost: int = 40 * MB) -> bool:
    model_type = key.split(":")[0]
    return cache.get_or_load(key, model_type, cost, loader(key)).hit


def test_a_warm_cache_never_reloads_what_it_holds() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    assert fill(cache, loader, "a:1") is False
    assert [fill(cache, loader, "a:1") for _ in range(3)] == [True, True, True]
    assert loader.calls == ["a:1"] and cache.loads == {"a:1": 1}


def test_the_least_recently_used_model_is_evicted_and_its_reload_is_counted() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    fill(cache, loader, "a:1")
    fill(cache, loader, "b:1")
    fill(cache, loader, "a:1")  # a is now the most recently used
    fill(cache, loader, "c:1")  # 120 MB > 100 MB: b goes, not a
    assert cache.keys() == ["a:1", "c:1"]
    assert cache.evictions == [("b:1", "memory budget")]
    assert fill(cache, loader, "b:1") is False  # reloaded (and a goes now)
    assert cache.loads == {"a:1": 1, "b:1": 2, "c:1": 1}
    assert cache.keys() == ["c:1", "b:1"]


def test_the_budget_holds_at_every_load_not_only_after() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    costs = {"a:1": 30, "b:1": 50, "c:1": 60, "d:1": 10, "e:1": 95, "f:1": 5}
    for key, cost in costs.items():
        fill(cache, loader, key, cost * MB)
        assert cache.used_bytes <= cache.budget_bytes
    for key, used in zip(loader.calls, loader.used_at_load, strict=True):
        assert used + costs[key] * MB <= cache.budget_bytes  # room was made before loading


def test_a_model_larger_than_the_whole_budget_is_refused_without_evicting() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    fill(cache, loader, "a:1")
    with pytest.raises(OverBudgetError, match="needs about 101 MiB"):
        fill(cache, loader, "b:1", 101 * MB)
    assert cache.keys() == ["a:1"]


def test_a_new_revision_replaces_the_old_one_of_its_model_type() -> None:
    cache: ModelCache[str] = ModelCache(1000 * MB)
    loader = Loader(cache)
    fill(cache, loader, "nlp1:models/x/rev1")
    fill(cache, loader, "nlp2:models/y/rev1")
    fill(cache, loader, "nlp1:models/x/rev2")
    assert cache.keys() == ["nlp2:models/y/rev1", "nlp1:models/x/rev2"]
    assert cache.evictions == [("nlp1:models/x/rev1", "superseded by a new revision")]
    assert cache.loaded_model_types() == {"nlp1", "nlp2"}


def test_a_failed_load_leaves_the_cache_unchanged() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)

    def broken() -> str:
        raise OSError("bad file")

    with pytest.raises(OSError):
        cache.get_or_load("a:1", "a", 10 * MB, broken)
    assert cache.keys() == [] and cache.loads == {}


def test_the_cost_counts_weights_once_preferring_safetensors() -> None:
    def model(*files: tuple[str, int]) -> ManifestModel:
        return ManifestModel("m", "s", "r", "f", tuple(FileDigest(n, size, "0" * 64) for n, size in files))

    both = model(("model.safetensors", 90 * MB), ("pytorch_model.bin", 90 * MB), ("vocab.txt", MB))
    assert model_cost(both) == 90 * MB + PER_MODEL_OVERHEAD
    assert (
        model_cost(model(("pytorch_model.bin", 50 * MB), ("config.json", 1))) == 50 * MB + PER_MODEL_OVERHEAD
    )
    assert model_cost(model(("weights.onnx", 7 * MB))) == 7 * MB + PER_MODEL_OVERHEAD
