"""In-memory cache of loaded models, bounded by a memory budget, evicting the least asked for.

Which model leaves when room is needed: the one asked for least often lately, and among equals
the least recently used (``Popularity``). Every request counts, loaded or not, so a model earns
its place by being asked for while out; all counts halve every ``AGING_PER_SLOT`` requests per
model in memory, so a model that stopped being asked for loses its claim within a few hundred
requests (the reset of TinyLFU, Einziger et al. 2017). Under the fleet benchmark's Zipf traffic
(s = 1.1, 50 models, room for 10) 67.2% of requests hit, where an LRU replayed offline on the
same sequence hits 54.9%: 657 loads instead of 901. With no request counted (eager
loads, or a cache whose owner never calls ``note_request``) the order is plain LRU.

Keys are ``ManifestModel.key`` (model_type + the revision's folder), so a warm environment never
reloads a model it holds and a newly published revision is loaded fresh (its older revision is
dropped at that moment: it can no longer be asked for). Room is made *before* a load, so the
budget holds at the peak too (``peak_bytes`` records the most ever held). A model's cost is
estimated from its weight files: float32 weights take in memory what they take on disk, plus a
fixed allowance for tokenizer and Python objects.

A model a request is using is *pinned* (``pin``/``unpin``, or ``get_or_load(pin=True)``) and is
never evicted: Lambda gives an environment one request at a time, but the cache does not rely on
that. When the budget can only be met by evicting a pinned model, the load is refused with
``BudgetBusyError`` (transient: retry) instead of passing the budget. ``on_evict`` tells the
owner which model left memory (the S3 store may then delete its files: a loaded torch model
keeps its safetensors file memory-mapped, so its blocks are not free while it is loaded).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from inference.contract import ManifestModel
from inference.observability import logger

MIB = 1024 * 1024
PER_MODEL_OVERHEAD = 16 * MIB
WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".bin", ".pt", ".pth")

T = TypeVar("T")


def model_cost(model: ManifestModel) -> int:
    """Estimated resident bytes of a loaded model (safetensors preferred, as transformers does;
    an ONNX graph holds its weights in ``model.onnx``)."""
    safetensors = [f.size for f in model.files if f.name.endswith(".safetensors")]
    weights = safetensors or [f.size for f in model.files if f.name.endswith(WEIGHT_SUFFIXES)]
    return sum(weights or [f.size for f in model.files]) + PER_MODEL_OVERHEAD


#: Counts halve after this many requests per model in memory (at least one model's worth).
AGING_PER_SLOT = 20


class Popularity:
    """How often each model_type was asked for lately: the first key of the eviction order.

    Keyed by model_type, not revision, so a new revision inherits the old one's claim. The
    harness replays request sequences through this same class (``harness.bench.lru``).
    """

    def __init__(self, aging_per_slot: int = AGING_PER_SLOT) -> None:
        self.aging_per_slot = aging_per_slot
        self.counts: dict[str, int] = {}
        self._since_aging = 0

    def note(self, model_type: str, slots: int) -> None:
        """One request for ``model_type``; ``slots``: the models in memory now (the aging period)."""
        self.counts[model_type] = self.counts.get(model_type, 0) + 1
        self._since_aging += 1
        if self._since_aging >= self.aging_per_slot * max(slots, 1):
            self.counts = {k: v // 2 for k, v in self.counts.items() if v > 1}
            self._since_aging = 0

    def victim(self, candidates: Iterable[tuple[str, str]]) -> str | None:
        """The key to evict among ``(key, model_type)`` pairs given least recently used first:
        the least asked for, the least recent among equals; None when there is no candidate."""
        ranked = [
            (self.counts.get(model_type, 0), rank, key) for rank, (key, model_type) in enumerate(candidates)
        ]
        return min(ranked)[2] if ranked else None


class OverBudgetError(Exception):
    """One model alone is estimated to need more memory than the whole budget."""


class BudgetBusyError(OverBudgetError):
    """Room can only be made by evicting models that requests are using right now (transient)."""


@dataclass
class Entry(Generic[T]):
    key: str
    model_type: str
    value: T
    cost: int
    loaded_at: float
    info: Any = None  # the owner's description of the entry (the service's ManifestModel)
    pins: int = 0


@dataclass(frozen=True)
class Eviction:
    """A model that left memory: which, why, and how long dropping it took."""

    key: str
    model_type: str
    reason: str
    seconds: float
    info: Any = None


@dataclass(frozen=True)
class Lookup(Generic[T]):
    """The result of ``get_or_load``: the value, whether it was a hit, and the load time."""

    value: T
    hit: bool
    load_seconds: float = 0.0


class ModelCache(Generic[T]):
    """Loaded models within ``budget_bytes``, the least asked for evicted first; thread-safe (one
    load at a time)."""

    def __init__(
        self,
        budget_bytes: int,
        on_evict: Callable[[Eviction], None] | None = None,
        popularity: Popularity | None = None,
    ) -> None:
        self.budget_bytes = budget_bytes
        self.on_evict = on_evict
        self.popularity = popularity or Popularity()
        self._entries: OrderedDict[str, Entry[T]] = OrderedDict()  # least recently used first
        self._lock = threading.RLock()
        self.loads: dict[str, int] = {}
        self.evictions: list[tuple[str, str]] = []  # (key, reason), oldest first
        self.peak_bytes = 0

    @property
    def used_bytes(self) -> int:
        return sum(e.cost for e in self._entries.values())

    def cost_of(self, key: str) -> int:
        """The bytes ``key`` holds in memory (0 when not loaded)."""
        entry = self._entries.get(key)
        return entry.cost if entry is not None else 0

    def pin(self, key: str) -> bool:
        """Mark ``key`` in use (never evicted until ``unpin``); False when it is not loaded."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return False
            entry.pins += 1
            return True

    def unpin(self, key: str) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry.pins > 0:
                entry.pins -= 1

    def note_request(self, model_type: str) -> None:
        """A request asked for ``model_type`` (call once per request, hit or miss)."""
        with self._lock:
            self.popularity.note(model_type, len(self._entries))

    def evict_least_popular(self, reason: str, keep: str = "") -> bool:
        """Evict the least asked-for model no request is using (not ``keep``), the least recently
        used among equals; False if there is none."""
        with self._lock:
            victim = self.popularity.victim(
                (k, e.model_type) for k, e in self._entries.items() if not e.pins and k != keep
            )
            if victim is None:
                return False
            self._evict(victim, reason)
            return True

    def keys(self) -> list[str]:
        """Keys, least recently used first (the eviction order among equally popular models)."""
        return list(self._entries)

    def loaded_model_types(self) -> set[str]:
        return {e.model_type for e in self._entries.values()}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str, pin: bool = False) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            entry.pins += pin
            return entry.value

    def get_or_load(
        self,
        key: str,
        model_type: str,
        cost: int,
        load: Callable[[], T],
        pin: bool = False,
        info: Any = None,
    ) -> Lookup[T]:
        """The cached value, or ``load()`` after evicting enough to stay within the budget.

        ``pin`` marks the value in use (the caller unpins it when done). Raises OverBudgetError
        when the model alone passes the budget, BudgetBusyError when only models in use could
        make room; nothing is evicted in either case.
        """
        with self._lock:
            value = self.get(key, pin=pin)
            if value is not None:
                return Lookup(value, hit=True)
            if cost > self.budget_bytes:
                raise OverBudgetError(
                    f"it needs about {cost / MIB:.0f} MiB and the model memory budget is "
                    f"{self.budget_bytes / MIB:.0f} MiB (MODEL_MEMORY_BUDGET_MB or the function's memory)"
                )
            superseded = [k for k, e in self._entries.items() if e.model_type == model_type and not e.pins]
            evictable = sum(e.cost for e in self._entries.values() if not e.pins)
            if self.used_bytes - evictable + cost > self.budget_bytes:
                raise BudgetBusyError(
                    f"it needs about {cost / MIB:.0f} MiB and the models in use by other requests "
                    f"hold the rest of the {self.budget_bytes / MIB:.0f} MiB budget; retry"
                )
            # A loaded model has no reference cycles: dropping the entry frees it at once (a
            # gc.collect() here would cost ~0.5 s with torch and transformers on the heap).
            for old in superseded:
                self._evict(old, "superseded by a new revision")
            while self.used_bytes + cost > self.budget_bytes and self.evict_least_popular("memory budget"):
                pass
            started = time.perf_counter()
            value = load()
            seconds = time.perf_counter() - started
            self._entries[key] = Entry(key, model_type, value, cost, time.time(), info, pins=int(pin))
            self.peak_bytes = max(self.peak_bytes, self.used_bytes)
            self.loads[key] = self.loads.get(key, 0) + 1
            return Lookup(value, hit=False, load_seconds=seconds)

    def _evict(self, key: str, reason: str) -> None:
        started = time.perf_counter()
        entry = self._entries.pop(key)
        model_type, cost, info = entry.model_type, entry.cost, entry.info
        del entry  # the last reference: the model's memory (and its file mapping) goes now
        seconds = time.perf_counter() - started
        self.evictions.append((key, reason))
        if self.on_evict is not None:
            self.on_evict(Eviction(key, model_type, reason, seconds, info))
        logger.info(
            "evicted model from memory",
            extra={
                "evicted": key,
                "model_type": model_type,
                "reason": reason,
                "freed_mb": round(cost / MIB, 1),
                "used_mb": round(self.used_bytes / MIB, 1),
                "budget_mb": round(self.budget_bytes / MIB, 1),
            },
        )

    def describe(self) -> dict[str, Any]:
        return {
            "used_mb": round(self.used_bytes / MIB, 1),
            "budget_mb": round(self.budget_bytes / MIB, 1),
            "models": self.keys(),
        }
