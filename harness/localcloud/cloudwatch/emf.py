"""CloudWatch Embedded Metric Format: a JSON log line with ``_aws.CloudWatchMetrics`` -> metrics.

Parsed generically, as CloudWatch does: every directive of ``CloudWatchMetrics`` (namespace,
dimension sets, metric definitions) times every dimension set times every metric it defines, with
the values (a number or a list of up to 100) and dimension values read from the root object.
A dimension set that names a missing or non-string member, or a metric whose value is missing or
not numeric, is skipped (CloudWatch drops them too); the line stays in the log either way.
"""

from __future__ import annotations

import json
import math
from typing import Any

from harness.localcloud.cloudwatch.metric import Metric

MAX_VALUES = 100
MAX_DIMENSIONS = 30


def is_emf(message: str) -> bool:
    """A cheap pre-check before parsing (every log line passes here)."""
    return message.startswith("{") and '"_aws"' in message and '"CloudWatchMetrics"' in message


def parse_emf(message: str, default_timestamp_ms: int) -> list[Metric]:
    """The metrics an EMF line defines; [] for anything that is not a valid EMF document."""
    try:
        root = json.loads(message)
    except ValueError:
        return []
    meta = root.get("_aws") if isinstance(root, dict) else None
    if not isinstance(meta, dict) or not isinstance(meta.get("CloudWatchMetrics"), list):
        return []
    timestamp = meta.get("Timestamp")
    timestamp_ms = int(timestamp) if _is_number(timestamp) else default_timestamp_ms
    metrics: list[Metric] = []
    for directive in meta["CloudWatchMetrics"]:
        if isinstance(directive, dict) and isinstance(directive.get("Namespace"), str):
            metrics.extend(_directive(directive, root, timestamp_ms))
    return metrics


def _directive(directive: dict[str, Any], root: dict[str, Any], timestamp_ms: int) -> list[Metric]:
    dimension_sets = [
        dimensions
        for names in directive.get("Dimensions") or [[]]
        if (dimensions := _dimensions(names, root)) is not None
    ]
    metrics = []
    for definition in directive.get("Metrics") or ():
        if not isinstance(definition, dict) or not isinstance(definition.get("Name"), str):
            continue
        values = _values(root.get(definition["Name"]))
        if not values:
            continue
        resolution = 1 if definition.get("StorageResolution") == 1 else 60
        for dimensions in dimension_sets:
            metrics.append(
                Metric(
                    namespace=directive["Namespace"],
                    name=definition["Name"],
                    values=values,
                    timestamp_ms=timestamp_ms,
                    unit=str(definition.get("Unit") or "None"),
                    dimensions=dimensions,
                    storage_resolution=resolution,
                )
            )
    return metrics


def _dimensions(names: Any, root: dict[str, Any]) -> tuple[tuple[str, str], ...] | None:
    if not isinstance(names, list) or len(names) > MAX_DIMENSIONS:
        return None
    values = [root.get(name) for name in names]
    if not all(isinstance(name, str) for name in names) or not all(isinstance(v, str) for v in values):
        return None
    return tuple(zip(names, values, strict=True))


def _values(raw: Any) -> tuple[float, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items or len(items) > MAX_VALUES or not all(_is_number(item) for item in items):
        return ()
    return tuple(float(item) for item in items)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
