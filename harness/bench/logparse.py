"""Reading an environment's log (``.state/logs/<function>/<env-id>.log``) for timings.

What we look for, anything else ignored:
- the local cloud's own line when it started the environment:
  ``[localcloud] <time> cold start in 1.23 s (container ...)`` (container run + runtime listening);
- the function's init timing line (Powertools JSON, ``inference.handler``): message
  ``init timings`` with an ``init_ms`` object (``module_imports``, ``manifest``, ``eager_fetch``,
  ``imports``, ``eager_loads``, ``total``), ``eager`` (per model ``fetch``/``load`` ms) and
  ``threads``. Any JSON line whose message mentions "init" and carries ``init_ms`` or
  ``timings_ms`` is taken, so a renamed field is easy to follow here;
- per-request lines with ``model_type`` and ``cache_hit`` (hits and misses per model),
  ``model loaded`` lines (loads per model), and the S3 store's ``model files downloaded`` lines
  (downloads per model, with ``bytes``);
- the runtime's report lines (``REPORT ... Duration: 78.90 ms``, ``Init Duration: ... ms``), used
  only when the function's own figures are missing.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

_CONTAINER_START = re.compile(r"\[localcloud\].*?cold start in\s*([\d.]+)\s*s\b")
_INIT_DURATION = re.compile(r"Init Duration:\s*([\d.]+)\s*ms")
_REPORT_DURATION = re.compile(r"^\s*REPORT\b.*?(?<!Init )(?<!Billed )\bDuration:\s*([\d.]+)\s*ms")
_LOADED = re.compile(r"\bloaded\b", re.IGNORECASE)
DOWNLOADED_MESSAGE = "model files downloaded"  # the S3 store's line, with ``bytes``

# The init line's fields, grouped into the phases of the cold-start breakdown.
INIT_PHASES = {
    "imports": ("module_imports", "imports", "import", "init_imports"),
    "fetch": ("manifest", "eager_fetch", "fetch", "download"),
    "load": ("eager_loads", "load", "model_load"),
    "warmup": ("warmup", "warm_up"),
    "total": ("total", "init_total"),
}


@dataclass
class LogSummary:
    """What an environment's log says about its start, its init and its requests."""

    container_start_ms: float | None = None
    init_timings_ms: dict[str, float] = field(default_factory=dict)
    eager: dict[str, dict[str, Any]] = field(default_factory=dict)
    threads: int | None = None
    runtime_init_ms: float | None = None
    request_durations_ms: list[float] = field(default_factory=list)
    model_loads: Counter[str] = field(default_factory=Counter)
    cache_hits: Counter[str] = field(default_factory=Counter)
    cache_misses: Counter[str] = field(default_factory=Counter)
    downloads: Counter[str] = field(default_factory=Counter)  # S3 store: model files fetched to /tmp
    downloaded_bytes: int = 0

    @property
    def has_init(self) -> bool:
        return bool(self.init_timings_ms)

    @property
    def init_phases_ms(self) -> dict[str, float]:
        """The init line's fields summed into imports/fetch/load/warmup/total (and other)."""
        phases: dict[str, float] = {}
        for phase, aliases in INIT_PHASES.items():
            values = [self.init_timings_ms[a] for a in aliases if a in self.init_timings_ms]
            if values:
                phases[phase] = sum(values)
        known = {alias for aliases in INIT_PHASES.values() for alias in aliases}
        other = sum(v for k, v in self.init_timings_ms.items() if k not in known)
        if other:
            phases["other"] = other
        return phases

    @property
    def init_total_ms(self) -> float | None:
        """Init wall time: the function's own total, else its phases' sum, else the runtime's.

        The function's figure comes first: the RIE starts the runtime lazily, so its Init
        Duration does not always cover the imports.
        """
        phases = self.init_phases_ms
        if "total" in phases:
            return phases["total"]
        if phases:
            return sum(phases.values())
        return self.runtime_init_ms


def _json_object(line: str) -> dict[str, Any] | None:
    start = line.find("{")
    if start < 0:
        return None
    try:
        value = json.loads(line[start:])
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _numbers(raw: Any) -> dict[str, float]:
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): float(v) for k, v in raw.items() if isinstance(v, int | float) and not isinstance(v, bool)
    }


def _read_json_line(summary: LogSummary, obj: dict[str, Any]) -> None:
    message = str(obj.get("message", ""))
    timings = obj.get("init_ms", obj.get("timings_ms"))
    if not summary.init_timings_ms and "init" in message.lower() and isinstance(timings, dict):
        summary.init_timings_ms = _numbers(timings)
        if isinstance(obj.get("eager"), dict):
            summary.eager = {str(k): v for k, v in obj["eager"].items() if isinstance(v, dict)}
        if isinstance(obj.get("threads"), int):
            summary.threads = obj["threads"]
        return
    model_type = obj.get("model_type")
    if not model_type:
        return
    if message == DOWNLOADED_MESSAGE:
        summary.downloads[str(model_type)] += 1
        if isinstance(obj.get("bytes"), int):
            summary.downloaded_bytes += obj["bytes"]
        return
    if isinstance(obj.get("cache_hit"), bool):
        (summary.cache_hits if obj["cache_hit"] else summary.cache_misses)[str(model_type)] += 1
    if _LOADED.search(message) and "fail" not in message.lower():
        summary.model_loads[str(model_type)] += 1


def parse_log(text: str) -> LogSummary:
    summary = LogSummary()
    for line in text.splitlines():
        container = _CONTAINER_START.search(line)
        if container:
            if summary.container_start_ms is None:
                summary.container_start_ms = float(container.group(1)) * 1000.0
            continue
        obj = _json_object(line)
        if obj is not None:
            _read_json_line(summary, obj)
            continue
        init = _INIT_DURATION.search(line)
        if init and summary.runtime_init_ms is None:
            summary.runtime_init_ms = float(init.group(1))
        report = _REPORT_DURATION.search(line)
        if report:
            summary.request_durations_ms.append(float(report.group(1)))
    return summary


BREAKDOWN_PARTS = ("container_start", "init_imports", "model_fetch", "model_load", "first_inference", "other")


def cold_start_breakdown(
    client_ms: float, timings_ms: dict[str, float], log: LogSummary
) -> dict[str, float | None]:
    """Split one cold request's latency into parts that add up to it.

    - ``container_start``: the local cloud's "cold start in" line (container run until the
      runtime listens);
    - ``init_imports``: the function's module and torch/transformers imports;
    - ``model_fetch``: the part of init that neither imports nor loads explain (the eager models'
      fetch that did not overlap the imports), plus the request's own fetch;
      ``model_fetch_raw`` is the full fetch time, overlapped or not;
    - ``model_load``: eager loads at init plus the request's own load;
    - ``first_inference``: the request's inference;
    - ``other``: the rest (interpreter and runtime start before the handler module runs, the
      gateway and HTTP hops, the handler's bookkeeping).
    Parts we cannot know (no init line, no container line) are None and fall into ``other``.
    """
    phases = log.init_phases_ms
    init_total = log.init_total_ms
    imports = phases.get("imports")
    init_load = phases.get("load", 0.0)
    if init_total is not None:
        hidden = (imports or 0.0) + init_load + phases.get("warmup", 0.0)
        init_fetch: float | None = max(0.0, init_total - hidden)
    else:
        init_fetch = None
    if timings_ms:
        request_ms = sum(timings_ms.values())
    else:
        request_ms = log.request_durations_ms[0] if log.request_durations_ms else 0.0
    parts: dict[str, float | None] = {
        "container_start": log.container_start_ms,
        "init_imports": imports,
        "model_fetch": (init_fetch or 0.0) + timings_ms.get("fetch", 0.0),
        "model_load": init_load + phases.get("warmup", 0.0) + timings_ms.get("load", 0.0),
        "first_inference": timings_ms.get("inference"),
    }
    known = sum(v for v in parts.values() if v is not None)
    if not timings_ms:
        known += request_ms
    parts["other"] = max(0.0, client_ms - known)
    return {
        "total": client_ms,
        **parts,
        "model_fetch_raw": phases.get("fetch", 0.0) + timings_ms.get("fetch", 0.0),
        "init_total": init_total,
        "request": request_ms,
    }
