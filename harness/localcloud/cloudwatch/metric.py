"""One CloudWatch metric data point, as ``put_metric_data`` takes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# CloudWatch's units; any other is sent as "None" (PutMetricData would refuse the whole batch).
_SIZES = ("Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes")
_BITS = ("Bits", "Kilobits", "Megabits", "Gigabits", "Terabits")
UNITS = frozenset(
    {"Seconds", "Microseconds", "Milliseconds", "Percent", "Count", "Count/Second", "None", *_SIZES, *_BITS}
    | {f"{unit}/Second" for unit in _SIZES + _BITS}
)


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    values: tuple[float, ...]
    timestamp_ms: int
    unit: str = "None"
    dimensions: tuple[tuple[str, str], ...] = ()
    storage_resolution: int = 60

    def datum(self) -> dict[str, Any]:
        """The ``MetricData`` entry (one value, or up to 100 as ``Values``)."""
        datum: dict[str, Any] = {
            "MetricName": self.name,
            "Timestamp": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC),
            "Unit": self.unit if self.unit in UNITS else "None",
            "StorageResolution": self.storage_resolution,
        }
        if self.dimensions:
            datum["Dimensions"] = [{"Name": name, "Value": value} for name, value in self.dimensions]
        if len(self.values) == 1:
            datum["Value"] = self.values[0]
        else:
            datum["Values"] = list(self.values)
        return datum
