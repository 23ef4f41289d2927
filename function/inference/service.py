"""What one function environment does: manifest -> store -> memory cache -> answer.

The service holds the environment's state (store, manifest cache, loaded models) and is what
the routes call. It knows nothing about events or HTTP; it raises the typed errors of
``inference.errors`` and returns plain dicts in the shapes of docs/design.md.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from inference import engines
from inference.cache import ModelCache, OverBudgetError, model_cost
from inference.config import Settings
from inference.contract import ManifestModel
from inference.errors import BadRequestError, ModelNotFoundError, ModelUnavailableError, excerpt
from inference.manifests import ManifestCache
from inference.observability import MetricUnit, add_request_metrics, emit_model_metric, logger, ms
from inference.qa import UnanswerableInputError
from inference.stores.base import ManifestUnavailableError, ModelStore

if TYPE_CHECKING:
    from inference.api import QARequest


@dataclass
class Loaded:
    """A model ready to answer, and what getting it cost this request."""

    model: ManifestModel
    handle: Any
    hit: bool
    fetch_seconds: float = 0.0
    load_seconds: float = 0.0


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

    def __init__(self, settings: Settings, store: ModelStore, cache: ModelCache[Any] | None = None) -> None:
        self.settings = settings
        self.store = store
        self.cache: ModelCache[Any] = cache or ModelCache(settings.memory_budget_bytes)
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

    def model_types(self) -> list[str]:
        return sorted(self.manifests.get().models)

    def manifest_model(self, model_type: str) -> ManifestModel:
        try:
            manifest = self.manifests.get()
        except ManifestUnavailableError as exc:
            logger.error("manifest unavailable", extra={"model_type": excerpt(model_type), "error": str(exc)})
            raise ModelUnavailableError(model_type, "the model store's manifest cannot be read") from exc
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
        """The loaded model from memory, or fetched and loaded (evicting least recently used)."""
        handle = self.cache.get(model.key)
        if handle is not None:
            return Loaded(model, handle, hit=True)
        runtime = self._runtime(model)  # before fetching: a model this image cannot run costs nothing
        fetch_seconds = 0.0
        folder = prefetched
        if folder is None:
            folder, fetch_seconds = self.fetch(model)

        def load() -> Any:
            try:
                return runtime.load_model(folder, model.engine)
            except Exception as exc:
                logger.exception("model load failed", extra={"model_type": model.model_type})
                raise ModelUnavailableError(model.model_type, "its files could not be loaded") from exc

        try:
            lookup = self.cache.get_or_load(model.key, model.model_type, model_cost(model), load)
        except OverBudgetError as exc:
            raise ModelUnavailableError(model.model_type, str(exc)) from exc
        if not lookup.hit:
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

    def answer(self, request: QARequest, request_id: str) -> dict[str, Any]:
        """The 200 body of ``POST /`` (docs/design.md)."""
        model = self.manifest_model(request.model_type)
        loaded = self.get_model(model)
        started = time.perf_counter()
        try:
            result = loaded.handle.answer(request.question, request.context, self.settings.limits)
        except UnanswerableInputError as exc:
            raise BadRequestError(str(exc)) from exc
        inference_seconds = time.perf_counter() - started
        timings = {
            "fetch": ms(loaded.fetch_seconds),
            "load": ms(loaded.load_seconds),
            "inference": ms(inference_seconds),
        }
        values = {
            "ModelCacheHit" if loaded.hit else "ModelCacheMiss": (MetricUnit.Count, 1),
            "InferenceLatency": (MetricUnit.Milliseconds, timings["inference"]),
        }
        if not loaded.hit:
            values["ModelLoadTime"] = (MetricUnit.Milliseconds, timings["load"])
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
            "request_id": request_id,
        }

    def list_models(self) -> dict[str, Any]:
        """The 200 body of ``GET /models``: the manifest and what this environment holds now."""
        manifest = self.manifests.get()
        return {
            "models": {
                mt: {
                    "source": m.source,
                    "revision": m.revision,
                    "eager": m.eager,
                    "engine": m.engine,
                    "loaded": m.key in self.cache,
                }
                for mt, m in sorted(manifest.models.items())
            },
            "store": self.store.name,
            "runtimes": list(engines.installed_runtimes()),
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
                loaded = self.get_model(item.model, prefetched=item.folder)
            except Exception as exc:
                logger.error(
                    "eager model failed to load at init", extra={"model_type": mt, "error": str(exc)}
                )
                report.eager[mt] = {"error": str(exc)}
                continue
            report.eager[mt] = {"fetch": ms(item.fetch_seconds), "load": ms(loaded.load_seconds)}
            if not loaded.hit:
                emit_model_metric("ModelCacheMiss", MetricUnit.Count, 1, mt)
                emit_model_metric("ModelLoadTime", MetricUnit.Milliseconds, ms(loaded.load_seconds), mt)
        report.seconds["eager_loads"] = time.perf_counter() - started
