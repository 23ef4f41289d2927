"""Every ~10 s during the soak: the local cloud's processes, the function's environments, the state folder.

``Host`` knows where to look for one instance of the local cloud (its ``Settings``: the state
folder, the pid records of the gateway and moto, the label of its containers) and reads one
``Sample``; ``Sampler`` calls it on a thread until stopped, and once more at the end.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.bench import adapters
from harness.bench.soak import probes
from harness.bench.soak.options import SAMPLE_INTERVAL_S
from harness.bench.soak.records import Sample
from harness.localcloud import processes
from harness.localcloud.config import Settings
from harness.localcloud.runtime.environment import LABEL_ENV
from harness.localcloud.runtime.envlog import ROTATED_SUFFIX

Progress = Callable[[], tuple[int, int]]  # (requests answered, errors) so far


def _pid(settings: Settings, name: str) -> int | None:
    record = processes.load(name, settings.services_dir)
    return record.pid if record is not None and processes.alive(record) else None


def env_id_of(log_file: Path) -> str:
    """``<env-id>.log`` and its rotated ``<env-id>.log.1`` both belong to ``<env-id>`` (and
    ``gateway.log`` with ``gateway.log.1`` to ``gateway``)."""
    return log_file.name.removesuffix(ROTATED_SUFFIX).removesuffix(".log")


def _log_pairs(folder: Path) -> dict[str, int]:
    out: dict[str, int] = {}
    if folder.is_dir():
        for path in folder.glob("*.log*"):
            out[env_id_of(path)] = out.get(env_id_of(path), 0) + probes.files_size([path])
    return out


class Host:
    """One local cloud instance's processes, containers and files, as seen from this host."""

    def __init__(self, settings: Settings, function_name: str, docker_client: Any) -> None:
        self.settings = settings
        self.function_name = function_name
        self.docker = docker_client

    def environments(self) -> dict[str, int]:
        """environment id -> memory of the function's running containers of this instance."""
        filters = adapters.environment_filters(self.function_name)
        out: dict[str, int] = {}
        with contextlib.suppress(Exception):  # the engine busy or restarting: no figure this time
            for container in self.docker.containers.list(filters=filters, ignore_removed=True):
                used = probes.cgroup_memory(container.id)
                if used is None:
                    with contextlib.suppress(Exception):
                        used = probes.stats_memory(container.stats(stream=False, one_shot=True))
                if used is not None:
                    out[container.labels.get(LABEL_ENV, container.name)] = used
        return out

    def env_logs(self) -> dict[str, int]:
        """environment id -> bytes of its log files (the live one and the rotated one)."""
        return _log_pairs(self.settings.logs_dir / self.function_name)

    def service_logs(self) -> dict[str, int]:
        """gateway, moto, registry, ... -> bytes of its log files (the live one and the rotated one)."""
        return _log_pairs(self.settings.services_dir)

    def sample(self, t_s: float, requests: int, errors: int) -> Sample:
        gateway, moto = _pid(self.settings, "gateway"), _pid(self.settings, "moto")
        services = self.service_logs()
        return Sample(
            t_s=round(t_s, 2),
            requests=requests,
            errors=errors,
            gateway_rss_bytes=probes.process_rss(gateway) if gateway else None,
            moto_rss_bytes=probes.process_rss(moto) if moto else None,
            environments=self.environments(),
            env_logs=self.env_logs(),
            logs_bytes=probes.tree_size(self.settings.logs_dir),
            service_logs=services,
            service_logs_bytes=sum(services.values()),
            state_bytes=probes.tree_size(self.settings.state_dir),
        )


class Sampler:
    """``host.sample`` now, every ``interval_s`` on a thread, and once more at ``stop``."""

    def __init__(self, host: Host, progress: Progress, interval_s: float = SAMPLE_INTERVAL_S) -> None:
        self.host = host
        self.progress = progress
        self.interval_s = interval_s
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="soak-sampler", daemon=True)
        self._started = 0.0

    def start(self, started: float) -> None:
        """``started``: the load's ``time.monotonic()`` start, the zero of every sample's ``t_s``."""
        self._started = started
        self._take()
        self._thread.start()

    def _take(self) -> None:
        requests, errors = self.progress()
        self.samples.append(self.host.sample(time.monotonic() - self._started, requests, errors))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._take()

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        self._take()
        return self.samples
