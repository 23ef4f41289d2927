"""The Lambda entry point ``inference.handler.handler``: HTTP API events and direct invokes.

Init (module scope, once per environment, outside any request) reads the settings, opens the
store, and loads the models the manifest marks eager. The slow parts overlap: a worker thread
reads the manifest and fetches the eager models' files (the S3 store makes its S3 client
there, on first use; downloads and hashing release the GIL) while this thread imports the engine
runtimes the image holds (torch + transformers, ~2 s; onnxruntime, ~0.2 s). Init never raises:
a failure is logged with its traceback and requests then answer 503 (ServiceUnavailableError when
nothing could be set up, ModelUnavailableError naming the model when only that model failed,
retried on each request).

Init ends with one log line, message ``init timings``, whose ``init_ms`` object holds
``module_imports``, ``manifest``, ``eager_fetch``, ``imports`` (the engine runtimes),
``eager_loads`` and ``total`` (wall time from the first line of this module; less than the sum,
because fetching overlaps the imports), and whose ``eager`` object holds each eager model's
``fetch``/``load`` milliseconds (or its ``error``).
"""

from __future__ import annotations

import time

_MODULE_START = time.perf_counter()

import gc  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

from inference import engines  # noqa: E402
from inference.api import handle_direct, handle_http, http_response, is_http_event, log_error  # noqa: E402
from inference.config import Settings  # noqa: E402
from inference.errors import BadRequestError, ServiceUnavailableError  # noqa: E402
from inference.observability import logger, metrics, ms  # noqa: E402
from inference.service import InferenceService, InitReport  # noqa: E402
from inference.stores import open_store  # noqa: E402

INIT_FAILED = "the function could not initialise; see its logs"


@dataclass
class Environment:
    """What init produced: a service, or the reason there is none."""

    service: InferenceService | None
    error: str | None
    report: InitReport


def _warm_up(service: InferenceService, report: InitReport) -> None:
    """Import the engine runtimes here while a thread fetches the eager models, then load them."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="init-prefetch") as pool:
        prefetch = pool.submit(service.prefetch_eager, report)
        started = time.perf_counter()
        try:
            service.import_runtimes()
        except Exception:  # requests will retry the import and answer 503 if it still fails
            logger.exception("engine runtime import failed at init")
        report.seconds["imports"] = time.perf_counter() - started
        prefetched = prefetch.result()
    service.load_eager(prefetched, report)


def _freeze_init_heap() -> None:
    """Move everything init allocated out of the garbage collector's reach (``gc.freeze``).

    Importing torch and transformers leaves about 340,000 tracked objects on the heap. Every full
    (generation 2) collection walked them all: 180-260 ms, about once per 40 model loads, since
    loading a model allocates enough objects to trigger one. In a 50-model fleet that stall was
    the p99 (in process: load p99 296 ms against a 83 ms median; frozen: 128 ms). Frozen objects
    are still freed by reference counting; only cyclic garbage made during init would outlive
    its use, and init makes little. No ``gc.collect()`` first: it would cost the cold start the
    same ~200 ms.
    """
    gc.freeze()


def initialise() -> Environment:
    """Settings, store, manifest and eager models; never raises (see the module docstring)."""
    report = InitReport()
    report.seconds["module_imports"] = time.perf_counter() - _MODULE_START
    try:
        settings = Settings.from_env()
        logger.append_keys(store=settings.store)
        service = InferenceService(settings, open_store(settings))
    except Exception:
        # In full in the log (a ConfigError names the variable); callers only learn that init
        # failed: a setting's value, a bucket name or a path is not theirs to read.
        logger.exception("init failed: this environment cannot serve requests")
        report.seconds["total"] = time.perf_counter() - _MODULE_START
        return Environment(None, INIT_FAILED, report)
    try:
        _warm_up(service, report)
    except Exception:  # a bug in warming up must not cost the environment: models load on use
        logger.exception("eager loading failed at init; models will load on first use")
    _freeze_init_heap()
    report.seconds["total"] = time.perf_counter() - _MODULE_START
    logger.info(
        "init timings",
        extra={
            "init_ms": {name: ms(seconds) for name, seconds in report.seconds.items()},
            "eager": report.eager,
            "store": service.store.describe(),
            "threads": settings.inference_threads(),
            "runtimes": list(engines.installed_runtimes()),
            "memory_budget_mb": settings.memory_budget_mb,
        },
    )
    return Environment(service, None, report)


environment = initialise()


def current_service() -> InferenceService:
    if environment.service is None:
        raise ServiceUnavailableError(environment.error or INIT_FAILED)
    return environment.service


def _request_id(event: Any, context: Any) -> str:
    rid = getattr(context, "aws_request_id", None)
    if not rid and isinstance(event, Mapping) and isinstance(event.get("requestContext"), Mapping):
        rid = event["requestContext"].get("requestId")
    return str(rid or uuid.uuid4())


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def handler(event: Any, context: Any) -> dict[str, Any]:
    """API Gateway HTTP API (payload 2.0) events go to the routes; any other event is a request."""
    request_id = _request_id(event, context)
    try:
        if is_http_event(event):
            return handle_http(event, current_service, request_id)
        if isinstance(event, Mapping) and "requestContext" in event:
            raise BadRequestError(
                "unsupported event: the API integration must use payload_format_version 2.0"
            )
        return handle_direct(event, current_service, request_id)
    except Exception as error:  # last resort: whatever happened, the caller gets our error shape
        status, body = log_error(error, request_id)
        if isinstance(event, Mapping) and "requestContext" in event:
            return http_response(status, body)
        return {**body, "statusCode": status}
