"""Containers: create with a full spec, find the address on a network, follow logs, kill, remove.

Everything created carries the caller's labels, so leftovers of an instance can always be found
and removed by label (``remove_labelled``), never by name patterns that could match someone else's.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from docker.errors import APIError, DockerException, NotFound
from docker.types import Mount, Ulimit

from harness.localcloud.docker.exceptions import ContainerFailedError, EngineUnavailableError

log = logging.getLogger(__name__)

# Where the engine keeps a container's peak memory: cgroup v1 (cgroupfs driver), then v2 (systemd).
_MEMORY_PEAK_FILES = (
    "/sys/fs/cgroup/memory/docker/{id}/memory.max_usage_in_bytes",
    "/sys/fs/cgroup/system.slice/docker-{id}.scope/memory.peak",
)


@dataclass(frozen=True)
class Bind:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """What to run and how it is confined; maps 1:1 to ``docker run`` options."""

    name: str
    image: str
    network: str
    command: Sequence[str] | None = None
    entrypoint: Sequence[str] | None = None
    working_dir: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    memory_mb: int | None = None
    read_only: bool = False
    tmpfs: Mapping[str, str] = field(default_factory=dict)
    binds: Sequence[Bind] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    dns: Sequence[str] = ()
    pids_limit: int | None = None
    nofile: int | None = None


class Container:
    """A started container. Methods never raise for a container that is already gone."""

    def __init__(self, client: docker.DockerClient, container_id: str, name: str) -> None:
        self._client = client
        self.id = container_id
        self.name = name

    @classmethod
    def run(cls, client: docker.DockerClient, spec: ContainerSpec) -> Container:
        """Create and start; on a failed start the half-made container is removed."""
        kwargs: dict[str, Any] = {
            "name": spec.name,
            "command": list(spec.command) if spec.command else None,
            "entrypoint": list(spec.entrypoint) if spec.entrypoint else None,
            "working_dir": spec.working_dir or None,
            "environment": dict(spec.environment),
            "user": spec.user,
            "read_only": spec.read_only,
            "tmpfs": dict(spec.tmpfs),
            "mounts": [Mount(b.target, b.source, type="bind", read_only=b.read_only) for b in spec.binds],
            "labels": dict(spec.labels),
            "network": spec.network,
            "dns": list(spec.dns) or None,
            "pids_limit": spec.pids_limit,
            "ulimits": [Ulimit(name="nofile", soft=spec.nofile, hard=spec.nofile)] if spec.nofile else None,
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "detach": True,
        }
        if spec.memory_mb:
            kwargs["mem_limit"] = f"{spec.memory_mb}m"
            kwargs["memswap_limit"] = f"{spec.memory_mb}m"
        try:
            created = client.containers.create(spec.image, **kwargs)
        except APIError as exc:
            raise ContainerFailedError(f"cannot create {spec.name}: {exc.explanation or exc}") from exc
        except DockerException as exc:
            raise EngineUnavailableError(f"Docker engine unavailable: {exc}") from exc
        container = cls(client, created.id, spec.name)
        try:
            created.start()
        except DockerException as exc:
            container.remove()
            raise ContainerFailedError(
                f"cannot start {spec.name}: {getattr(exc, 'explanation', None) or exc}"
            ) from exc
        return container

    def inspect(self) -> dict[str, Any]:
        try:
            return self._client.api.inspect_container(self.id)
        except NotFound:
            return {}

    def ip_address(self, network: str) -> str | None:
        networks = self.inspect().get("NetworkSettings", {}).get("Networks", {}) or {}
        address = (networks.get(network) or {}).get("IPAddress")
        return address or None

    def state(self) -> dict[str, Any]:
        """Docker's ``State`` (Status, ExitCode, OOMKilled, ...); {} once removed."""
        return self.inspect().get("State", {}) or {}

    def memory_peak_bytes(self) -> int | None:
        """The container's peak memory use so far (Lambda's "Max Memory Used"), or None if unknown.

        Read from the cgroup file when this process sees it (microseconds); otherwise asked of the
        engine (``stats``, one shot: tens of milliseconds), whose v1 figures carry the peak.
        """
        for template in _MEMORY_PEAK_FILES:
            with contextlib.suppress(OSError, ValueError):
                return int(Path(template.format(id=self.id)).read_text())
        try:
            memory = self._client.api.stats(self.id, stream=False, one_shot=True).get("memory_stats") or {}
        except (DockerException, OSError, ValueError):
            return None
        peak = memory.get("max_usage") or memory.get("usage")
        return int(peak) if peak else None

    def follow_logs(self, sink: Callable[[bytes], None]) -> threading.Thread:
        """Copy stdout+stderr to ``sink`` as they come, in a thread that ends with the container."""

        def pump() -> None:
            try:
                for chunk in self._client.api.logs(
                    self.id, stream=True, follow=True, stdout=True, stderr=True
                ):
                    sink(chunk)
            except (DockerException, OSError, ValueError) as exc:  # container removed mid-stream
                log.debug("log stream of %s ended: %s", self.name, exc)

        thread = threading.Thread(target=pump, name=f"logs-{self.name}", daemon=True)
        thread.start()
        return thread

    def kill(self) -> None:
        with contextlib.suppress(NotFound, APIError):  # already stopped or gone
            self._client.api.kill(self.id)

    def remove(self) -> None:
        try:
            self._client.api.remove_container(self.id, force=True, v=True)
        except NotFound:
            pass
        except APIError as exc:
            if exc.status_code != 409:  # 409: removal already in progress
                log.warning("cannot remove container %s: %s", self.name, exc)


def remove_labelled(client: docker.DockerClient, labels: Mapping[str, str]) -> list[str]:
    """Force-remove every container (running or not) carrying all ``labels``; return their names."""
    filters = {"label": [f"{key}={value}" for key, value in labels.items()]}
    removed = []
    for summary in client.api.containers(all=True, filters=filters):
        name = (summary.get("Names") or [summary["Id"]])[0].lstrip("/")
        Container(client, summary["Id"], name).remove()
        removed.append(name)
    return removed
