"""Logs and metrics: the module-level Powertools singletons every other module shares.

* ``logger``: structured JSON lines. The handler injects the Lambda context (request id,
  cold_start flag); ``store`` is a persistent key set at init; per-request fields (model,
  timings) go in ``extra`` of the one summary line each request logs.
* ``metrics``: CloudWatch embedded-metric-format. Per request, the model's metrics carry a
  ``model_type`` dimension and are flushed once by ``metrics.log_metrics`` (which also emits
  ``ColdStart``). Loads that happen at init, outside any request, go out at once through
  ``emit_model_metric``.

No Tracer: it needs aws-xray-sdk, which the image does not install (and which would add to
every cold start for spans we would not look at).
"""

from __future__ import annotations

import os
import warnings

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME") or "inference"
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "LambdaInference"
MODEL_DIMENSION = "model_type"

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# GET /models and rejected requests carry no model metric; that is expected, not a warning.
warnings.filterwarnings("ignore", message="No application metrics to publish")


def emit_model_metric(name: str, unit: MetricUnit, value: float, model_type: str) -> None:
    """One metric with a model_type dimension, written now (for work done outside a request)."""
    with single_metric(name=name, unit=unit, value=value, namespace=NAMESPACE) as metric:
        metric.add_dimension(name="service", value=SERVICE)
        metric.add_dimension(name=MODEL_DIMENSION, value=model_type)


def add_request_metrics(model_type: str, values: dict[str, tuple[MetricUnit, float]]) -> None:
    """The request's model metrics, flushed with ColdStart when the handler returns."""
    metrics.add_dimension(name=MODEL_DIMENSION, value=model_type)
    for name, (unit, value) in values.items():
        metrics.add_metric(name=name, unit=unit, value=value)


def ms(seconds: float) -> float:
    """Milliseconds, rounded to what is worth printing."""
    return round(seconds * 1000.0, 1)


__all__ = ["MetricUnit", "add_request_metrics", "emit_model_metric", "logger", "metrics", "ms"]
