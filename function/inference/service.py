"""What one function environment does: manifest -> store -> memory cache -> answer.

The service holds the environment's state (store, manifest cache, loaded models, per-model
counters and failures) and is what the routes call. It knows nothing about events or HTTP; it
raises the typed errors of ``inference.errors`` and returns plain dicts in the shapes of
docs/design.md.

A miss runs one at a time per environment (Lambda sends an environment one request at a time;
the lock keeps the accounting exact if it ever did not): make room on local disk (the S3 store
keeps a loaded model's files, so unloading the least recently used models may come first), fetch,
then make room in memory and load. A model that fails is not tried again before its backoff
ends (``inference.backoff``); the others are not disturbed: files are verified before any model
is evicted for it.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from inference import engines
from inference.backoff import FailureBackoff
from inference.cache import BudgetBusyError, Eviction, ModelCache, OverBudgetError, model_cost
from inference.config import Settings
from inference.contract import Manifest, ManifestModel
from inference.errors import (
    BadRequestError,
    ModelNotFoundError,
    ModelUnavailableError,
    ServiceUnavailableError,
    clip,
    excerpt,
)
from inference.manifests import ManifestCache
from inference.observability import MetricUnit, add_request_metrics, emit_model_metric, logger, ms
from inference.qa import UnanswerableInputError
from inference.stores.base import ManifestUnavailableError, ModelStore

if TYPE_CHECKING:
    from inference.api import QARequest

# What both routes say when nothing was ever read from the store: the store's own error (a bucket,
# a path) goes to the log only.
MANIFEST_UNREADABLE = "the model store's manifest cannot be read"


@dataclass
class Loaded:
    """A model ready to answer, and what getting it cost this request."""

    model: ManifestModel
    handle: Any
    hit: bool
    fetch_seconds: float = 0.0
    load_seconds: float = 0.0


@dataclass
class ModelStats:
    """What one model_type cost this environment since init (``GET /models``)."""

    hits: int = 0
    misses: int = 0
    last_load_ms: float | None = None


@dataclass
class Prefetched:
    """An eager model's files made local during init (or why that failed)."""

    model: ManifestModel
    folder: Path | None = None
    error: BaseException | None = None
    fetch_seconds: float = 0.0


@dataclass
class InitReport:
    """Timings of the init phase, logged as one line the benchmark parses."""

    seconds: dict[str, float] = field(default_factory=dict)
    eager: dict[str, dict[str, Any]] = field(default_factory=dict)


class InferenceService:
    """The models of one store, loaded on demand into a memory-bounded LRU cache."""

    def __init__(
        self,
        settings: Settings,
        store: ModelStore,
        cache: ModelCache[Any] | None = None,
        backoff: FailureBackoff | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.cache: ModelCache[Any] = cache or ModelCache(settings.memory_budget_bytes)
        self.cache.on_evict = self._unloaded
        self.backoff = backoff or FailureBackoff(
            settings.failure_backoff_seconds, settings.failure_backoff_max_seconds
        )
        self.stats: dict[str, ModelStats] = {}
        self._miss_lock = threading.Lock()
        self.manifests = ManifestCache(store, settings.manifest_ttl_seconds)
        self._runtimes: dict[str, ModuleType] = {}
        self._runtimes_lock = threading.Lock()

    # --- the engines' runtimes (torch, onnxruntime), each imported once -------------------------

    def runtime(self, name: str) -> ModuleType:
        """An engine runtime, imported on first need and its threads set from the CPU share."""
        with self._runtimes_lock:
            if name not in self._runtimes:
                module = engines.import_runtime(name)
                module.configure_threads(self.settings.inference_threads())
                self._runtimes[name] = module
            return self._runtimes[name]

    def import_runtimes(self) -> None:
        """Import every runtime the image holds (init does this beside the eager fetches)."""
        for name in engines.installed_runtimes():
            self.runtime(name)

    # --- manifest ---------------------------------------------------------------------------

    def manifest_model(self, model_type: str, manifest: Manifest | None = None) -> ManifestModel:
        """The model's manifest entry, from ``manifest`` when the caller already read it."""
        if manifest is None:
            try:
                manifest = self.manifests.get()
            except ManifestUnavailableError as exc:
                logger.error(
                    "manifest unavailable", extra={"model_type": excerpt(model_type), "error": str(exc)}
                )
                raise ModelUnavailableError(model_type, MANIFEST_UNREADABLE) from exc
        model = manifest.models.get(model_type)
        if model is None:
            raise ModelNotFoundError(model_type, manifest.models)
        return model

    # --- models ------------------------------------------------------------------------------

    def fetch(self, model: ManifestModel) -> tuple[Path, float]:
        """The model's verified local folder and how long the store took to provide it."""
        started = time.perf_counter()
        try:
            folder = self.store.materialize(model)
        except ModelUnavailableError:
            raise
        except Exception as exc:
            logger.exception("model store failed", extra={"model_type": model.model_type})
            raise ModelUnavailableError(
                model.model_type, "its files could not be read from the store"
            ) from exc
        return folder, time.perf_counter() - started

    def get_model(self, model: ManifestModel, prefetched: Path | None = None) -> Loaded:
        """The loaded model, pinned (``release`` it): from memory, or fetched and loaded.

        Counts a hit or a miss for the model; a failure is remembered and answered from memory
        (503 with the reason) until its backoff ends, so a broken model costs no store reads.
        """
        stats = self.stats.setdefault(model.model_type, ModelStats())
        self.cache.note_request(model.model_type)
        handle = self.cache.get(model.key, pin=True)
        if handle is not None:
            stats.hits += 1
            return Loaded(model, handle, hit=True)
        stats.misses += 1
        with self._miss_lock:
            handle = self.cache.get(model.key, pin=True)  # another thread may have loaded it
            if handle is not None:
                return Loaded(model, handle, hit=True)
            # Before the backoff: a runtime the image lacks costs no store read and is not the
            # model's failure (the same model answers once an image with the runtime is deployed).
            runtime = self._runtime(model)
            failure = self.backoff.blocked(model.key)
            if failure is not None:
                retry = failure.retry_after(self.backoff.clock())
                reason = f"{failure.error} (next attempt in {retry:.0f} s)"
                raise ModelUnavailableError(model.model_type, reason)
            try:
                loaded = self._fetch_and_load(model, runtime, prefetched)
            except BudgetBusyError as exc:  # transient: the models in use will be released
                raise ModelUnavailableError(model.model_type, str(exc)) from exc
            except ModelUnavailableError as exc:
                failure = self.backoff.record(model.key, exc.reason)
                logger.warning(
                    "model failed; backing off",
                    extra={
                        "model_type": model.model_type,
                        "error": exc.reason,
                        "attempts": failure.attempts,
                        "retry_after_s": round(self.backoff.wait_seconds(failure.attempts), 1),
                    },
                )
                raise
            self.backoff.succeeded(model.key)
        if not loaded.hit:
            stats.last_load_ms = ms(loaded.load_seconds)
        return loaded

    def release(self, loaded: Loaded) -> None:
        """The request is done with the model: it may be evicted again."""
        self.cache.unpin(loaded.model.key)

    def _fetch_and_load(self, model: ManifestModel, runtime: ModuleType, prefetched: Path | None) -> Loaded:
        fetch_seconds = 0.0
        folder = prefetched
        if folder is None:
            self._make_disk_room(model)
            folder, fetch_seconds = self.fetch(model)

        def load() -> Any:
            try:
                return runtime.load_model(folder, model.engine)
            except Exception as exc:
                logger.exception("model load failed", extra={"model_type": model.model_type})
                raise ModelUnavailableError(model.model_type, "its files could not be loaded") from exc

        try:
            lookup = self.cache.get_or_load(
                model.key, model.model_type, model_cost(model), load, pin=True, info=model
            )
        except BudgetBusyError:
            raise
        except OverBudgetError as exc:
            raise ModelUnavailableError(model.model_type, str(exc)) from exc
        if not lookup.hit:
            self.store.loaded(model)
            logger.info(
                "model loaded",
                extra={
                    "model_type": model.model_type,
                    "source": model.source,
                    "revision": model.revision,
                    "engine": model.engine,
                    "fetch_ms": ms(fetch_seconds),
                    "load_ms": ms(lookup.load_seconds),
                    "cache": self.cache.describe(),
                },
            )
        return Loaded(model, lookup.value, lookup.hit, fetch_seconds, lookup.load_seconds)

    def _make_disk_room(self, model: ManifestModel) -> None:
        """Unload the least popular models while their kept files are all that stands between
        ``model`` and the local disk budget (S3 store; the others copy nothing)."""
        while self.store.shortfall(model) > 0:
            if not self.cache.evict_least_popular("ephemeral storage", keep=model.key):
                return  # nothing left to unload: the store refuses with a 503 naming the sizes

    def _unloaded(self, eviction: Eviction) -> None:
        """A model left memory: its files may go from local disk, and its metric goes out now."""
        if isinstance(eviction.info, ManifestModel):
            self.store.unloaded(eviction.info)
        emit_model_metric(
            "ModelUnloadingTime", MetricUnit.Milliseconds, ms(eviction.seconds), eviction.model_type
        )

    def _runtime(self, model: ManifestModel) -> ModuleType:
        """The runtime of the model's engine, or a 503 that names the model and the engine."""
        try:
            return self.runtime(model.runtime)
        except engines.RuntimeMissingError as exc:
            raise ModelUnavailableError(
                model.model_type,
                f"it runs on the {model.engine!r} engine, and {exc}; deploy an image built from a "
                f"catalog that uses {model.engine!r}",
            ) from exc
        except Exception as exc:
            logger.exception("inference runtime import failed", extra={"runtime": model.runtime})
            raise ModelUnavailableError(
                model.model_type, f"the {model.engine!r} engine could not be loaded"
            ) from exc

    # --- requests ----------------------------------------------------------------------------

    def answer(self, request: QARequest, request_id: str, manifest: Manifest | None = None) -> dict[str, Any]:
        """The 200 body of ``POST /`` (docs/design.md); ``manifest`` as the route already read it."""
        model = self.manifest_model(request.model_type, manifest)
        try:
            loaded = self.get_model(model)
        except ModelUnavailableError:
            add_request_metrics(model.model_type, {"ModelCacheHit": (MetricUnit.Count, 0)})
            raise
        started = time.perf_counter()
        try:
            result = loaded.handle.answer(request.question, request.context, self.settings.limits)
        except UnanswerableInputError as exc:
            raise BadRequestError(str(exc)) from exc
        finally:
            self.release(loaded)
        inference_seconds = time.perf_counter() - started
        timings = {
            "fetch": ms(loaded.fetch_seconds),
            "load": ms(loaded.load_seconds),
            "inference": ms(inference_seconds),
        }
        values = {
            "ModelCacheHit": (MetricUnit.Count, 1 if loaded.hit else 0),
            "InferenceLatency": (MetricUnit.Milliseconds, timings["inference"]),
            "LoadedModelCount": (MetricUnit.Count, len(self.cache.keys())),
        }
        if not loaded.hit:
            values["ModelLoadingTime"] = (MetricUnit.Milliseconds, timings["load"])
            values["ModelDownloadingTime"] = (MetricUnit.Milliseconds, timings["fetch"])
        add_request_metrics(model.model_type, values)
        logger.info(
            "question answered",
            extra={
                "model_type": model.model_type,
                "revision": model.revision,
                "engine": model.engine,
                "cache_hit": loaded.hit,
                "timings_ms": timings,
                "context_chars": len(request.context),
            },
        )
        return {
            "answer": result.text,
            "score": result.score,
            "start": result.start,
            "end": result.end,
            "model_type": model.model_type,
            "model": {"source": model.source, "revision": model.revision, "engine": model.engine},
            "timings_ms": timings,
            "cache_hit": loaded.hit,
            "request_id": request_id,
        }

    def list_models(self) -> dict[str, Any]:
        """The 200 body of ``GET /models``: the manifest and what this environment holds now.

        Without a manifest there is nothing to list: 503, as ``POST /`` answers (the
        ManifestUnavailableError itself is no InferenceError, and once came out as a 500).
        """
        try:
            manifest = self.manifests.get()
        except ManifestUnavailableError as exc:
            logger.error("manifest unavailable", extra={"route": "GET /models", "error": str(exc)})
            raise ServiceUnavailableError(MANIFEST_UNREADABLE) from exc
        body: dict[str, Any] = {
            "models": {mt: self._model_status(m) for mt, m in sorted(manifest.models.items())},
            "store": self.store.name,
            "runtimes": list(engines.installed_runtimes()),
            "memory": {
                "used_bytes": self.cache.used_bytes,
                "budget_bytes": self.cache.budget_bytes,
                "peak_bytes": self.cache.peak_bytes,
            },
        }
        disk = self.store.disk_usage()
        if disk is not None:
            body["disk"] = {
                "used_bytes": disk.used_bytes,
                "budget_bytes": disk.budget_bytes,
                "peak_bytes": disk.peak_bytes,
            }
        return body

    def _model_status(self, model: ManifestModel) -> dict[str, Any]:
        stats = self.stats.get(model.model_type, ModelStats())
        failure = self.backoff.last(model.key)
        return {
            "source": model.source,
            "revision": model.revision,
            "eager": model.eager,
            "engine": model.engine,
            "loaded": model.key in self.cache,
            "bytes_in_memory": self.cache.cost_of(model.key),
            "hits": stats.hits,
            "misses": stats.misses,
            "last_load_ms": stats.last_load_ms,
            "failure": None
            if failure is None
            else {
                "error": clip(failure.error, 200),
                "retry_after_s": round(failure.retry_after(self.backoff.clock()), 1),
            },
        }

    # --- init ---------------------------------------------------------------------------------

    def prefetch_eager(self, report: InitReport) -> list[Prefetched]:
        """Read the manifest and make every eager model's files local (runs beside the imports)."""
        started = time.perf_counter()
        try:
            manifest = self.manifests.get()
        except ManifestUnavailableError as exc:
            logger.error("manifest unavailable at init", extra={"error": str(exc)})
            return []
        finally:
            report.seconds["manifest"] = time.perf_counter() - started
        started = time.perf_counter()
        done = []
        for model in sorted((m for m in manifest.models.values() if m.eager), key=lambda m: m.model_type):
            if model.runtime not in engines.installed_runtimes():  # it would answer 503: fetch nothing
                missing = engines.RuntimeMissingError(f"this image cannot run the {model.engine!r} engine")
                done.append(Prefetched(model, error=missing))
                continue
            try:
                folder, seconds = self.fetch(model)
                done.append(Prefetched(model, folder, fetch_seconds=seconds))
            except Exception as exc:
                done.append(Prefetched(model, error=exc))
        report.seconds["eager_fetch"] = time.perf_counter() - started
        return done

    def load_eager(self, prefetched: list[Prefetched], report: InitReport) -> None:
        """Load what ``prefetch_eager`` made local; a failing model is logged, not fatal."""
        started = time.perf_counter()
        for item in prefetched:
            mt = item.model.model_type
            if item.error is not None:
                logger.error(
                    "eager model unavailable at init", extra={"model_type": mt, "error": str(item.error)}
                )
                report.eager[mt] = {"error": str(item.error)}
                continue
            try:
                loaded = self._fetch_and_load(item.model, self._runtime(item.model), item.folder)
            except Exception as exc:
                logger.error(
                    "eager model failed to load at init", extra={"model_type": mt, "error": str(exc)}
                )
                report.eager[mt] = {"error": str(exc)}
                continue
            self.release(loaded)
            report.eager[mt] = {"fetch": ms(item.fetch_seconds), "load": ms(loaded.load_seconds)}
            if not loaded.hit:  # not a request: neither a hit nor a miss, but the load is recorded
                self.stats.setdefault(mt, ModelStats()).last_load_ms = ms(loaded.load_seconds)
                emit_model_metric("ModelLoadingTime", MetricUnit.Milliseconds, ms(loaded.load_seconds), mt)
                emit_model_metric("ModelDownloadingTime", MetricUnit.Milliseconds, ms(item.fetch_seconds), mt)
        report.seconds["eager_loads"] = time.perf_counter() - started
