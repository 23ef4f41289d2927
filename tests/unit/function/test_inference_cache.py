"""The in-memory cache: budget, eviction order (least asked for, then LRU), reloads, revisions, cost."""

from __future__ import annotations

import pytest
from inference.cache import (
    PER_MODEL_OVERHEAD,
    BudgetBusyError,
    ModelCache,
    OverBudgetError,
    Popularity,
    model_cost,
)
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


# --- churn, pins, eviction hook ---------------------------------------------------------------


def test_under_churn_the_budget_holds_at_every_load_and_the_counts_add_up() -> None:
    """A Zipf-like request stream over 12 models, budget for about 3: never over budget at any
    load (the peak), loads = misses, hits + misses = requests, evictions = loads - resident."""
    import random

    rng = random.Random(11)
    budget = 310 * MB
    cache: ModelCache[str] = ModelCache(budget)
    loader = Loader(cache)
    costs = {f"qa-{i:03d}:f": (102 if i % 2 == 0 else 82) * MB for i in range(12)}
    keys = list(costs)
    weights = [1 / (rank + 1) ** 1.1 for rank in range(len(keys))]
    hits = misses = 0
    for _ in range(600):
        key = rng.choices(keys, weights)[0]
        lookup = cache.get_or_load(key, key.split(":")[0], costs[key], loader(key))
        hits += lookup.hit
        misses += not lookup.hit
        assert cache.used_bytes <= budget
    for key, used in zip(loader.calls, loader.used_at_load, strict=True):
        assert used + costs[key] <= budget  # room was made before each load
    assert cache.peak_bytes <= budget and len(cache.keys()) == 3
    assert hits + misses == 600 and sum(cache.loads.values()) == misses == len(loader.calls)
    assert len(cache.evictions) == misses - len(cache.keys())
    assert hits > 150  # Zipf s=1.1: the popular models stay (about 43% hits with 3 of 12 held)


def test_a_pinned_model_is_never_evicted_and_a_load_that_needs_it_is_refused() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    assert cache.get_or_load("a:1", "a", 60 * MB, loader("a:1"), pin=True).hit is False
    fill(cache, loader, "b:1")  # 40 MB: fits beside a
    fill(cache, loader, "c:1", 30 * MB)  # b (unpinned) goes, a stays although least recent
    assert cache.keys() == ["a:1", "c:1"] and cache.evictions == [("b:1", "memory budget")]
    with pytest.raises(BudgetBusyError, match="in use"):
        fill(cache, loader, "d:1", 50 * MB)  # only evicting a would make room
    assert cache.keys() == ["a:1", "c:1"]  # nothing evicted for a refused load
    cache.unpin("a:1")
    fill(cache, loader, "d:1", 50 * MB)
    assert "a:1" not in cache and cache.used_bytes <= 100 * MB


def test_evicting_the_least_recently_used_skips_pins_and_the_kept_key_and_reports_each() -> None:
    seen = []
    cache: ModelCache[str] = ModelCache(1000 * MB, on_evict=seen.append)
    loader = Loader(cache)
    cache.get_or_load("a:1", "a", 10 * MB, loader("a:1"), info="model a")
    cache.get_or_load("b:1", "b", 10 * MB, loader("b:1"), info="model b")
    cache.get_or_load("c:1", "c", 10 * MB, loader("c:1"), info="model c")
    assert cache.pin("a:1") and not cache.pin("zzz")
    assert cache.evict_least_popular("ephemeral storage", keep="b:1") is True
    assert cache.keys() == ["a:1", "b:1"]
    assert [(e.key, e.model_type, e.reason, e.info) for e in seen] == [
        ("c:1", "c", "ephemeral storage", "model c")
    ]
    assert seen[0].seconds >= 0
    assert cache.evict_least_popular("x", keep="b:1") is False  # a is pinned
    assert cache.cost_of("b:1") == 10 * MB and cache.cost_of("c:1") == 0


def ask(cache: ModelCache[str], loader: Loader, key: str, cost: int = 40 * MB) -> bool:
    """What the service does per request: count it, then get or load."""
    cache.note_request(key.split(":")[0])
    return fill(cache, loader, key, cost)


def test_the_least_asked_for_model_goes_first_not_the_least_recent() -> None:
    cache: ModelCache[str] = ModelCache(100 * MB)
    loader = Loader(cache)
    for key in ("a:1", "a:1", "a:1", "b:1"):  # a asked three times, b once and more recently
        ask(cache, loader, key)
    assert ask(cache, loader, "c:1") is False  # room for two: b goes, although a is older
    assert cache.evictions == [("b:1", "memory budget")] and cache.keys() == ["a:1", "c:1"]
    assert ask(cache, loader, "b:1") is False  # b and c asked once each now: the older, c, goes
    assert cache.keys() == ["a:1", "b:1"] and cache.evictions[-1] == ("c:1", "memory budget")
    assert cache.popularity.counts == {"a": 3, "b": 2, "c": 1}


def test_counts_halve_so_a_model_no_longer_asked_for_loses_its_claim() -> None:
    popularity = Popularity(aging_per_slot=4)
    for _ in range(7):
        popularity.note("old", slots=2)  # the 8th request (4 per slot x 2 slots) halves
    popularity.note("new", slots=2)
    assert popularity.counts == {"old": 3}  # 7 // 2; new's single request halves to nothing
    for _ in range(8):
        popularity.note("new", slots=2)
    assert popularity.counts == {"old": 1, "new": 4}
    assert popularity.victim([("old:1", "old"), ("new:1", "new")]) == "old:1"
    assert popularity.victim([("x:1", "x"), ("y:1", "y")]) == "x:1"  # equals: least recent first
    assert popularity.victim([]) is None
