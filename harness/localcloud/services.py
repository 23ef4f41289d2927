"""``up``, ``down`` and ``status`` of the local cloud's services: dockerd, registry, moto, gateway.

- ``up`` is idempotent: what already runs (recorded by us and alive) is kept; a port taken by a
  program that is not ours is an error naming the variable that moves it.
- ``down`` is idempotent and stops only what ``up`` started, by recorded pid, then removes the
  containers, networks and volumes carrying this instance's label. dockerd is stopped only if
  ``up`` started it (an engine that was already running is never touched).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from harness.docker_engine import engine_answers, engine_client
from harness.local_settings import HOST
from harness.localcloud import processes
from harness.localcloud.config import LABEL_INSTANCE, Settings
from harness.localcloud.docker.containers import remove_labelled
from harness.localcloud.errors import LocalCloudError
from harness.localcloud.network import NetworkInfo, ensure_network, find_network, remove_networks
from harness.locks import file_lock

log = logging.getLogger(__name__)

DOCKERD_TIMEOUT = 60.0
SERVICE_TIMEOUT = 60.0
GATEWAY_STOP_TIMEOUT = 45.0
REGISTRY_BINARY = "docker-registry"


def _say(message: str) -> None:
    print(f"local cloud: {message}", file=sys.stderr, flush=True)


def _port_answers(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=0.5):
            return True
    except OSError:
        return False


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def _wait(ready: Callable[[], bool], record: processes.ProcessRecord, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if not processes.alive(record):
            raise LocalCloudError(
                f"{what} exited at start; its log ({record.log}):\n{processes.log_tail(record)}"
            )
        time.sleep(0.2)
    raise LocalCloudError(
        f"{what} did not get ready within {timeout:.0f} s; its log ({record.log}):\n"
        f"{processes.log_tail(record)}"
    )


def _running(name: str, settings: Settings) -> processes.ProcessRecord | None:
    record = processes.load(name, settings.services_dir)
    return record if record and processes.alive(record) else None


def _check_port_free(port: int, variable: str, name: str) -> None:
    if _port_answers(port):
        raise LocalCloudError(
            f"port {port} (for {name}) is taken by a program this local cloud did not start; "
            f"stop it or set {variable} to another port"
        )


# ---- the services, one function each ----


def ensure_dockerd(settings: Settings) -> str:
    """Reuse an engine that answers; else start dockerd in the background and wait for it."""
    if engine_answers():
        return "answering"
    record = _running("dockerd", settings)
    if record is None:
        binary = shutil.which("dockerd")
        if binary is None:
            raise LocalCloudError(
                "no Docker engine answers and dockerd is not installed; "
                "run scripts/setup.sh (it installs docker.io)"
            )
        if os.geteuid() != 0:
            raise LocalCloudError(
                "no Docker engine answers and starting dockerd needs root; "
                "run scripts/setup.sh or `sudo dockerd`"
            )
        _say("starting dockerd")
        record = processes.start("dockerd", [binary], dict(os.environ), settings.services_dir)
    _wait(engine_answers, record, DOCKERD_TIMEOUT, "dockerd")
    return "started"


def registry_config(settings: Settings) -> Path:
    """distribution 2.8 config: 127.0.0.1 only, storage under the state folder, no auth, deletes on."""
    storage = settings.state_dir / "registry"
    storage.mkdir(parents=True, exist_ok=True)
    path = settings.services_dir / "registry.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "version: 0.1\n"
        "log:\n  level: info\n  accesslog:\n    disabled: true\n"
        "storage:\n"
        f"  filesystem:\n    rootdirectory: {storage}\n"
        "  delete:\n    enabled: true\n"
        "  cache:\n    blobdescriptor: inmemory\n"
        "http:\n"
        f"  addr: {settings.registry_address}\n"
        "  headers:\n    X-Content-Type-Options: [nosniff]\n"
    )
    return path


def ensure_registry(settings: Settings) -> str:
    if _running("registry", settings):
        return "running"
    _check_port_free(settings.registry_port, "LOCALCLOUD_REGISTRY_PORT", "the registry")
    binary = shutil.which(REGISTRY_BINARY) or "/usr/bin/docker-registry"
    if not Path(binary).exists():
        raise LocalCloudError(
            "docker-registry is not installed; run scripts/setup.sh (Debian's docker-registry)"
        )
    record = processes.start(
        "registry", [binary, "serve", str(registry_config(settings))], dict(os.environ), settings.services_dir
    )
    _wait(
        lambda: _http_ok(f"http://{settings.registry_address}/v2/"), record, SERVICE_TIMEOUT, "the registry"
    )
    return "started"


def ensure_moto(settings: Settings) -> str:
    if _running("moto", settings):
        return "running"
    _check_port_free(settings.moto_port, "LOCALCLOUD_MOTO_PORT", "moto")
    env = settings.child_env()
    env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    argv = [
        sys.executable,
        "-m",
        "harness.localcloud.moto_server",
        "-H",
        HOST,
        "-p",
        str(settings.moto_port),
    ]
    record = processes.start("moto", argv, env, settings.services_dir)
    _wait(lambda: _http_ok(f"{settings.moto_url}/moto-api/"), record, SERVICE_TIMEOUT, "moto")
    return "started"


def gateway_health(settings: Settings, timeout: float = 5.0) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(
            f"{settings.endpoint_url}/_localcloud/health", timeout=timeout
        ) as response:
            return json.loads(response.read())
    except (OSError, ValueError):
        return None


def ensure_gateway(settings: Settings, network: NetworkInfo) -> str:
    record = _running("gateway", settings)
    if record is not None:
        health = gateway_health(settings)
        if health and health.get("container_endpoint") == f"http://{network.gateway_ip}:{settings.port}":
            return "running"
        _say("restarting the gateway (the network changed)")
        processes.stop(record, GATEWAY_STOP_TIMEOUT)
    _check_port_free(settings.port, "LOCALCLOUD_PORT", "the gateway")
    argv = [
        sys.executable,
        "-m",
        "harness.localcloud.gateway",
        "--bind",
        HOST,
        "--gateway-ip",
        network.gateway_ip,
    ]
    record = processes.start("gateway", argv, settings.child_env(), settings.services_dir)

    def ready() -> bool:
        health = gateway_health(settings, timeout=2)
        return bool(health) and health.get("pid") == record.pid

    _wait(ready, record, SERVICE_TIMEOUT, "the gateway")
    return "started"


# ---- the three commands ----


def _exclusive(settings: Settings) -> AbstractContextManager[None]:
    """One ``up``/``down`` at a time per instance (parallel deploys all call ``up``)."""
    return file_lock(settings.services_dir / ".lock")


def up(settings: Settings | None = None) -> dict[str, Any]:
    """Start whatever is not running yet; return ``status()``."""
    settings = settings or Settings.from_env()
    with _exclusive(settings):
        return _up(settings)


def _up(settings: Settings) -> dict[str, Any]:
    ensure_dockerd(settings)
    client = engine_client()
    try:
        network = ensure_network(client, settings)
    finally:
        client.close()
    for name, ensure in (("registry", ensure_registry), ("moto", ensure_moto)):
        if ensure(settings) == "started":
            _say(f"{name} started")
    if ensure_gateway(settings, network) == "started":
        _say(
            f"gateway started on {settings.endpoint_url} (containers reach it at "
            f"http://{network.gateway_ip}:{settings.port})"
        )
    summary = status(settings)
    (settings.services_dir / "localcloud.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary


def down(settings: Settings | None = None) -> dict[str, Any]:
    """Stop what ``up`` started and remove what this instance created in Docker. Idempotent."""
    settings = settings or Settings.from_env()
    with _exclusive(settings):
        return _down(settings)


def _down(settings: Settings) -> dict[str, Any]:
    stopped: list[str] = []
    for name in ("gateway", "moto", "registry"):
        record = processes.load(name, settings.services_dir)
        if record is not None:
            timeout = GATEWAY_STOP_TIMEOUT if name == "gateway" else 15.0
            if processes.stop(record, timeout):
                stopped.append(name)
            processes.forget(name, settings.services_dir)
    removed: dict[str, list[str]] = {"containers": [], "networks": [], "volumes": []}
    if engine_answers():
        client = engine_client()
        try:
            labels = settings.labels
            removed["containers"] = remove_labelled(client, labels)
            removed["networks"] = remove_networks(client, settings)
            for volume in client.volumes.list(filters={"label": f"{LABEL_INSTANCE}={settings.instance}"}):
                volume.remove(force=True)
                removed["volumes"].append(volume.name)
        finally:
            client.close()
    dockerd = processes.load("dockerd", settings.services_dir)
    if dockerd is not None:
        if processes.stop(dockerd, 30.0):
            stopped.append("dockerd")
        processes.forget("dockerd", settings.services_dir)
    (settings.services_dir / "localcloud.json").unlink(missing_ok=True)
    return {"stopped": stopped, "removed": removed}


def status(settings: Settings | None = None) -> dict[str, Any]:
    """What runs now: each service (pid, port, log), the network, and the gateway's own report."""
    settings = settings or Settings.from_env()
    ports = {"registry": settings.registry_port, "moto": settings.moto_port, "gateway": settings.port}
    services: dict[str, Any] = {}
    for name in ("dockerd", "registry", "moto", "gateway"):
        record = processes.load(name, settings.services_dir)
        running = record is not None and processes.alive(record)
        entry: dict[str, Any] = {"running": running, "pid": record.pid if running and record else None}
        if name in ports:
            entry["port"] = ports[name]
        if record is not None:
            entry["log"] = record.log
        if name == "dockerd":
            # An engine that answers but that ``up`` did not start is used, never stopped.
            entry = {"running": engine_answers(), "started_by_local_cloud": running, "pid": entry["pid"]}
        services[name] = entry
    network = None
    if services["dockerd"]["running"]:
        client = engine_client()
        try:
            found = find_network(client, settings)
        finally:
            client.close()
        network = {"name": found.name, "gateway_ip": found.gateway_ip} if found else None
    health = gateway_health(settings) if services["gateway"]["running"] else None
    return {
        "instance": settings.instance,
        "state_dir": str(settings.state_dir),
        "endpoint": settings.endpoint_url,
        "registry": settings.registry_address,
        "services": services,
        "network": network,
        "apis": (health or {}).get("apis", {}),
        "environments": (health or {}).get("environments", []),
    }


def aws_endpoint_url(settings: Settings | None = None) -> str:
    """The one AWS endpoint for boto3, the AWS CLI and Terraform on the host."""
    return (settings or Settings.from_env()).endpoint_url
