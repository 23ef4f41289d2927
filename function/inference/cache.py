"""In-memory LRU of loaded models, bounded by a memory budget.

Keys are ``ManifestModel.key`` (model_type + the revision's folder), so a warm environment never
reloads a model it holds and a newly published revision is loaded fresh (its older revision is
dropped at that moment: it can no longer be asked for). Room is made *before* a load, so the
budget holds at the peak too. A model's cost is estimated from its weight files: float32 weights
take in memory what they take on disk, plus a fixed allowance for tokenizer and Python objects.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
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


class OverBudgetError(Exception):
    """One model alone is estimated to need more memory than the whole budget."""


@dataclass
class Entry(Generic[T]):
    key: str
    model_type: str
    value: T
    cost: int
    loaded_at: float


@dataclass(frozen=True)
class Lookup(Generic[T]):
    """The result of ``get_or_load``: the value, whether it was a hit, and the load time."""

    value: T
    hit: bool
    load_seconds: float = 0.0


class ModelCache(Generic[T]):
    """Least-recently-used models within ``budget_bytes``; thread-safe (one load at a time)."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._entries: OrderedDict[str, Entry[T]] = OrderedDict()
        self._lock = threading.RLock()
        self.loads: dict[str, int] = {}
        self.evictions: list[tuple[str, str]] = []  # (key, reason), oldest first

    @property
    def used_bytes(self) -> int:
        return sum(e.cost for e in self._entries.values())

    def keys(self) -> list[str]:
        """Keys, least recently used first."""
        return list(self._entries)

    def loaded_model_types(self) -> set[str]:
        return {e.model_type for e in self._entries.values()}

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: str) -> T | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry.value

    def get_or_load(self, key: str, model_type: str, cost: int, load: Callable[[], T]) -> Lookup[T]:
        """The cached value, or ``load()`` after evicting enough to stay within the budget."""
        with self._lock:
            value = self.get(key)
            if value is not None:
                return Lookup(value, hit=True)
            if cost > self.budget_bytes:
                raise OverBudgetError(
                    f"it needs about {cost / MIB:.0f} MiB and the model memory budget is "
                    f"{self.budget_bytes / MIB:.0f} MiB (MODEL_MEMORY_BUDGET_MB or the function's memory)"
                )
            # A loaded model has no reference cycles: dropping the entry frees it at once (a
            # gc.collect() here would cost ~0.5 s with torch and transformers on the heap).
            for old in [e for e in self._entries.values() if e.model_type == model_type]:
                self._evict(old.key, "superseded by a new revision")
            while self._entries and self.used_bytes + cost > self.budget_bytes:
                self._evict(next(iter(self._entries)), "memory budget")
            started = time.perf_counter()
            value = load()
            seconds = time.perf_counter() - started
            self._entries[key] = Entry(key, model_type, value, cost, time.time())
            self.loads[key] = self.loads.get(key, 0) + 1
            return Lookup(value, hit=False, load_seconds=seconds)

    def _evict(self, key: str, reason: str) -> None:
        entry = self._entries.pop(key)
        self.evictions.append((key, reason))
        logger.info(
            "evicted model from memory",
            extra={
                "evicted": key,
                "model_type": entry.model_type,
                "reason": reason,
                "freed_mb": round(entry.cost / MIB, 1),
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
