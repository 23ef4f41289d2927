"""Execution environments: reuse, scale-out, throttling, reaping, redeploys, confinement, faults, logs."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from harness.localcloud.logstreams import logs as read_logs

from .conftest import Cloud
from .tfstate import StackState, simple_api

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]


def _post(cloud: Cloud, api: str, body: dict) -> tuple[int, dict]:
    response = cloud.api("POST", api, "/run", json=body)
    return response.status_code, response.json()


def test_parallel_requests_get_their_own_environments_then_reuse(deployed: Cloud) -> None:
    deployed.deploy_one("concurrency", "rt-conc", "concapi")
    first = deployed.parallel([lambda: _post(deployed, "concapi", {"action": "sleep", "seconds": 1.5})] * 3)
    assert [status for status, _ in first] == [200] * 3
    hosts = {body["hostname"] for _, body in first}
    assert len(hosts) == 3, "a busy environment must never get a second request"
    assert len(deployed.environments("rt-conc")) == 3
    again = [_post(deployed, "concapi", {}) for _ in range(4)]
    assert {body["hostname"] for _, body in again} <= hosts  # warm: no new environment
    assert all(body["invocations"] >= 2 for _, body in again)
    assert len(deployed.containers("rt-conc")) == 3


def test_throttling(deployed: Cloud) -> None:
    stack = StackState().function("rt-reserved", deployed.image_uri, memory=128, reserved=1)
    simple_api(stack, "reservedapi", "rt-reserved", routes=("POST /run",))
    stack.function("rt-zero", deployed.image_uri, memory=128, reserved=0)
    simple_api(stack, "zeroapi", "rt-zero", routes=("POST /run",))
    stack.function("rt-unreserved", deployed.image_uri, memory=128)
    simple_api(stack, "capapi", "rt-unreserved", routes=("POST /run",))
    deployed.deploy("throttling", stack)

    statuses = sorted(
        s
        for s, _ in deployed.parallel(
            [lambda: _post(deployed, "reservedapi", {"action": "sleep", "seconds": 2})] * 2
        )
    )
    assert statuses == [200, 429]
    assert _post(deployed, "zeroapi", {}) == (429, {"message": "Too Many Requests"})
    # Unreserved functions share the instance's cap (LOCALCLOUD_MAX_CONCURRENCY=4 in these tests).
    statuses = sorted(
        s
        for s, _ in deployed.parallel(
            [lambda: _post(deployed, "capapi", {"action": "sleep", "seconds": 3})] * 5
        )
    )
    assert statuses == [200, 200, 200, 200, 429]


def test_idle_environments_are_reaped(deployed: Cloud) -> None:
    deployed.deploy_one("reaping", "rt-reap", "reapapi")
    status, body = _post(deployed, "reapapi", {})
    assert status == 200
    assert len(deployed.containers("rt-reap")) == 1
    deployed.wait_for(
        lambda: not deployed.environments("rt-reap") and not deployed.containers("rt-reap"),
        timeout=15,
        what="the idle environment to be reaped (LOCALCLOUD_IDLE_SECONDS=3)",
    )
    stream = deployed.settings.logs_dir / "rt-reap" / f"{body['stream'].rsplit(']', 1)[1]}.log"
    assert "reaped" in stream.read_text()
    status, again = _post(deployed, "reapapi", {})
    assert status == 200 and again["hostname"] != body["hostname"]


def test_redeploy_drains_old_environments(deployed: Cloud) -> None:
    def stack(version: str) -> StackState:
        return simple_api(
            StackState().function("rt-redeploy", deployed.image_uri, memory=128, env={"VERSION": version}),
            "redeployapi",
            "rt-redeploy",
            routes=("POST /run",),
        )

    deployed.deploy("redeploy", stack("1"))
    _, old = _post(deployed, "redeployapi", {"action": "env"})
    assert old["env"]["VERSION"] == "1"
    time.sleep(0.05)
    deployed.deploy("redeploy", stack("2"))
    _, new = _post(deployed, "redeployapi", {"action": "env"})
    assert new["env"]["VERSION"] == "2"
    assert new["hostname"] != old["hostname"]
    deployed.wait_for(
        lambda: len(deployed.containers("rt-redeploy")) == 1,
        timeout=10,
        what="the old environment to be drained",
    )


def test_environment_variables_and_confinement(deployed: Cloud) -> None:
    deployed.deploy(
        "confined",
        simple_api(
            StackState().function(
                "rt-env", deployed.image_uri, memory=192, timeout=7, ephemeral=600, env={"MODEL_STORE": "s3"}
            ),
            "envapi",
            "rt-env",
            routes=("POST /run",),
        ),
    )
    status, body = _post(deployed, "envapi", {"action": "env"})
    assert status == 200
    env = body["env"]
    network = deployed.health()["container_endpoint"]
    assert env["AWS_ENDPOINT_URL"] == network
    expected = {
        "MODEL_STORE": "s3",
        "AWS_LAMBDA_FUNCTION_NAME": "rt-env",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "192",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/rt-env",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EXECUTION_ENV": "AWS_Lambda_Image",
        "LAMBDA_TASK_ROOT": "/var/task",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "7",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    assert {key: env.get(key) for key in expected} == expected
    assert env["AWS_LAMBDA_LOG_STREAM_NAME"].endswith(
        f"[$LATEST]{deployed.environments('rt-env')[0]['environment']}"
    )
    assert 0 < body["remaining_ms"] <= 7000

    (container,) = deployed.containers("rt-env")
    host_config = container.attrs["HostConfig"]
    assert host_config["Memory"] == 192 * 1024 * 1024
    assert host_config["ReadonlyRootfs"] is True
    assert "size=600m" in host_config["Tmpfs"]["/tmp"]
    assert container.attrs["Config"]["User"] == "993:990"
    assert list(container.attrs["NetworkSettings"]["Networks"]) == [deployed.settings.network_name]
    assert container.attrs["Config"]["Cmd"] == ["handler.handler"]
    # Unset in the container (so the entrypoint starts the RIE, which then sets it for the runtime).
    assert not any(var.startswith("AWS_LAMBDA_RUNTIME_API=") for var in container.attrs["Config"]["Env"])

    # The one address a container reaches: the gateway (and moto behind it).
    status, reach = _post(deployed, "envapi", {"action": "reach", "path": "/moto-api/"})
    assert (status, reach["status"]) == (200, 200)


def test_out_of_memory_then_recovery(deployed: Cloud) -> None:
    deployed.deploy_one("oom", "rt-oom", "oomapi")
    status, _ = _post(deployed, "oomapi", {"action": "memory", "mb": 400})
    assert status == 502
    status, body = _post(deployed, "oomapi", {"action": "memory", "mb": 10})
    assert status == 200 and body["allocated_mb"] == 10
    assert "signal: killed" in read_logs("rt-oom", deployed.settings)


def test_missing_image_then_fixed(deployed: Cloud) -> None:
    missing = deployed.image_uri.rsplit(":", 1)[0] + ":not-pushed"
    deployed.deploy_one("missing", "rt-missing", "missingapi", missing)
    status, body = _post(deployed, "missingapi", {})
    assert (status, body) == (502, {"message": "Internal Server Error"})
    assert "not-pushed" in read_logs("rt-missing", deployed.settings)
    deployed.deploy_one("missing", "rt-missing", "missingapi")
    assert _post(deployed, "missingapi", {})[0] == 200


def test_logs_show_cold_and_warm(deployed: Cloud) -> None:
    deployed.deploy_one("logs", "rt-logs", "logsapi")
    _post(deployed, "logsapi", {"marker": "first-call"})
    _post(deployed, "logsapi", {"marker": "second-call"})
    # The container's output reaches the stream asynchronously (like CloudWatch), so wait for it.
    deployed.wait_for(
        lambda: read_logs("rt-logs", deployed.settings).count("REPORT RequestId") >= 2,
        timeout=10,
        what="both invocations' REPORT lines in the log stream",
    )
    text = read_logs("rt-logs", deployed.settings)
    assert "(cold, environment" in text and "(warm, environment" in text
    assert "marker=first-call" in text and "marker=second-call" in text


def _established_to(address: str, port: int) -> set[int]:
    """Local ports of this network namespace's established TCP connections to address:port."""
    remote = f"{socket.inet_aton(address)[::-1].hex().upper()}:{port:04X}"
    ports = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[2] == remote and fields[3] == "01":  # 01: ESTABLISHED
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def test_warm_invokes_reuse_one_connection_to_the_runtime(deployed: Cloud) -> None:
    deployed.deploy_one("keepalive", "rt-keepalive", "keepaliveapi")
    assert _post(deployed, "keepaliveapi", {})[0] == 200
    (environment,) = deployed.environments("rt-keepalive")
    first = _established_to(environment["address"], 8080)
    assert len(first) == 1, "the gateway holds one keep-alive connection to the environment's RIE"
    for _ in range(3):
        assert _post(deployed, "keepaliveapi", {})[0] == 200
    assert _established_to(environment["address"], 8080) == first
