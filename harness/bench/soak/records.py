"""What a soak measured, as typed records: the layout of ``bench/results/soak.json``.

``Sample`` is one look at the host every ~10 s; ``SoakRecord`` is the whole run: the plan, the
requests and their latency, the flatness of each memory series, the growth of logs and state,
the targets and the samples themselves (so the plot and a later report need nothing else).
Records as in ``harness.bench.records``: every field has a default, field order is key order.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from harness.bench.jsonrecord import Record, optional
from harness.bench.records import Summary, TargetCheck
from harness.bench.results import Machine

SOAK_JSON = "soak.json"
SOAK_PNG = "soak.png"


@dataclass
class Sample(Record):
    """One look at the host, ``t_s`` seconds after the load started.

    Memory is what ``docker stats`` shows for a container (usage minus inactive page cache) and
    the resident set for a process; ``None``: the probe could not read it this time.
    """

    t_s: float = 0.0
    requests: int = 0  # answered so far (any status)
    errors: int = 0  # of them, not 200
    gateway_rss_bytes: int | None = None
    moto_rss_bytes: int | None = None
    environments: dict[str, int] = field(default_factory=dict)  # environment id -> memory bytes
    env_logs: dict[str, int] = field(default_factory=dict)  # environment id -> its log files' bytes
    logs_bytes: int | None = None  # every file under the state folder's logs/
    service_logs: dict[str, int] = field(default_factory=dict)  # services/<name>.log (+ .1) -> bytes
    service_logs_bytes: int | None = None  # their sum: the local cloud's own processes' logs
    state_bytes: int | None = None  # the whole state folder, symlinked caches not followed


@dataclass
class Flatness(Record):
    """A series' median in the first window after the warm-up against its median in the last one."""

    first: float | None = None
    last: float | None = None
    first_samples: int = 0
    last_samples: int = 0
    change: float | None = None  # last / first - 1
    flat: bool | None = None  # change <= the limit; None: a window had no sample


@dataclass
class Growth(Record):
    """A size over the run: where it started and ended, and its slope after the warm-up."""

    first_bytes: int | None = None
    last_bytes: int | None = None
    max_bytes: int | None = None
    per_minute_bytes: float | None = None  # least-squares slope of the samples after the warm-up


@dataclass
class Windows(Record):
    """The seconds (since the load started) the flatness check compares."""

    warmup_s: float = 0.0
    first: tuple[float, ...] = ()  # (start, end)
    last: tuple[float, ...] = ()


@dataclass
class SoakRecord(Record):
    started_at: str = ""
    finished_at: str = ""
    machine: Machine = field(default_factory=Machine)
    variant: str = ""
    catalog: str = ""
    function_name: str = ""
    model_types: list[str] = field(default_factory=list)
    concurrency: int = 0
    planned_s: float = 0.0
    seconds: float = 0.0
    sample_interval_s: float = 0.0
    deployed_by_soak: bool = False
    ramp_s: float | None = None  # scaling out to ``concurrency`` environments, before the clock (run.ramp)
    ramp_requests: int = 0
    ramp_errors: int = 0
    ramp_environments: int | None = None  # environments running when the ramp ended
    windows: Windows = field(default_factory=Windows)
    requests: int = 0
    errors: int = 0
    error_kinds: dict[str, int] = optional(factory=dict)  # "HTTP 502 ..." -> count (first 100 chars)
    requests_per_model: dict[str, int] = field(default_factory=dict)
    throughput_rps: float | None = None
    latency_ms: Summary = field(default_factory=Summary)
    gateway_memory: Flatness = field(default_factory=Flatness)
    moto_memory: Flatness = field(default_factory=Flatness)
    environment_memory: dict[str, Flatness] = field(default_factory=dict)
    worst_environment: str | None = None  # the environment whose memory grew most
    environments_seen: int = 0
    log_cap_bytes: int | None = None  # one log file and its backup: 2 x LOCALCLOUD_LOG_MAX_BYTES
    largest_env_log_bytes: int | None = None
    largest_service_log_bytes: int | None = None  # the gateway's, moto's, ... with its backup
    logs: Growth = field(default_factory=Growth)
    service_logs: Growth = field(default_factory=Growth)
    state: Growth = field(default_factory=Growth)
    moto_bytes_per_request: float | None = None
    targets: list[TargetCheck] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Every target met (one not measured is not a pass)."""
        return bool(self.targets) and all(check.met for check in self.targets)


def write(record: SoakRecord, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / SOAK_JSON
    path.write_text(json.dumps(record.to_json(), indent=1) + "\n")
    return path


def load(out_dir: Path) -> SoakRecord | None:
    """The soak of ``out_dir`` (``soak.json``), None when there is none."""
    path = out_dir / SOAK_JSON
    if not path.is_file():
        return None
    return SoakRecord.from_json(json.loads(path.read_text()))
