"""Runs last (by name): ``up`` is idempotent, ``down`` leaves nothing behind and can run twice."""

from __future__ import annotations

import socket

import pytest

from harness.localcloud import processes
from harness.localcloud.config import LABEL_INSTANCE
from harness.localcloud.docker.client import engine_client
from harness.localcloud.services import down, status, up

from .conftest import Cloud
from .tfstate import StackState, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def test_up_is_idempotent_and_down_is_clean(cloud: Cloud) -> None:
    before = status(cloud.settings)
    pids = {name: entry["pid"] for name, entry in before["services"].items() if name != "dockerd"}
    assert all(pids.values()), before
    assert before["network"]["name"] == cloud.settings.network_name
    assert up(cloud.settings)["services"]["gateway"]["pid"] == pids["gateway"]  # nothing restarted

    # Leave a running environment behind on purpose: down must remove it.
    cloud.deploy(
        "leftover",
        simple_api(
            StackState().function("zz-left", cloud.image_uri, memory=128),
            "leftapi",
            "zz-left",
            routes=("POST /run",),
        ),
    )
    assert cloud.api("POST", "leftapi", "/run", json={}).status_code == 200
    assert cloud.containers("zz-left")

    summary = down(cloud.settings)
    assert set(summary["stopped"]) == {"gateway", "moto", "registry"}
    assert summary["removed"]["networks"] == [cloud.settings.network_name]
    label = f"{LABEL_INSTANCE}={cloud.settings.instance}"
    client = engine_client()
    try:
        assert client.containers.list(all=True, filters={"label": label}) == []
        assert client.networks.list(filters={"label": label}) == []
        assert client.volumes.list(filters={"label": label}) == []
        assert cloud.settings.network_name not in [n.name for n in client.networks.list()]
    finally:
        client.close()
    for name, pid in pids.items():
        record = processes.ProcessRecord(name, pid, [], 0, "", 0.0)
        assert not processes.alive(record), f"{name} (pid {pid}) still runs"
    for port in (cloud.settings.port, cloud.settings.moto_port, cloud.settings.registry_port):
        assert not _port_open(port)
    assert not any(cloud.settings.services_dir.glob("*.pid"))
    streams = list((cloud.settings.logs_dir / "zz-left").glob("*.log"))
    assert streams and "ended: local cloud stopped" in streams[0].read_text()

    again = down(cloud.settings)
    assert again == {"stopped": [], "removed": {"containers": [], "networks": [], "volumes": []}}
