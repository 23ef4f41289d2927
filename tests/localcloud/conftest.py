"""One isolated local cloud for the whole session: its own state folder, free ports, its own network.

It never touches a developer's running instance: other ports, other pid files, another network
name, and every container labelled with this instance's id. ``down`` runs in the finalizer
whatever happens, and checks that it left nothing (``_down_leaves_nothing``). Tests deploy by
writing Terraform state files (``tfstate.StackState``).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config

from harness.docker_engine import engine_answers, engine_client
from harness.local_settings import ACCOUNT_ID, CREDENTIALS_ENV, REGION, boto3_credentials
from harness.localcloud import processes
from harness.localcloud.config import LABEL_INSTANCE, Settings
from harness.localcloud.leftovers import docker_objects
from harness.localcloud.services import down, gateway_health, status, up
from tests.local_instance import own_instance_env

from .testimage import REGISTRY_REPOSITORY, build_test_image, push_test_image, untag_pushed
from .tfstate import StackState, simple_api

SESSION_ENV = {
    "LOCALCLOUD_IDLE_SECONDS": "3",
    "LOCALCLOUD_MAX_CONCURRENCY": "4",
    "LOCALCLOUD_START_TIMEOUT": "30",
    **CREDENTIALS_ENV,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# Where the stacks' image URIs point: moto's ECR, whose bytes live in the session's registry.
ECR_REGISTRY = f"{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com"


@dataclass
class Cloud:
    """A running test instance and the helpers the tests share."""

    settings: Settings
    image_uri: str  # ECR-style URI: the gateway maps it to the local registry
    registry_image: str  # the same image as 127.0.0.1:<port>/...
    written: set[Path] = field(default_factory=set)

    @property
    def url(self) -> str:
        return self.settings.endpoint_url

    def state_path(self, variant: str) -> Path:
        return self.settings.terraform_local_dir / variant / "terraform.tfstate"

    def deploy(self, variant: str, stack: StackState) -> None:
        path = self.state_path(variant)
        serial = int(time.time() * 1000) % 1_000_000
        stack.write(path, serial)
        self.written.add(path)

    def deploy_one(self, variant: str, function: str, api: str, image: str | None = None) -> None:
        """Deploy one 128 MB function of the test image (or ``image``) behind ``POST /run`` of ``api``."""
        stack = StackState().function(function, image or self.image_uri, memory=128)
        self.deploy(variant, simple_api(stack, api, function, routes=("POST /run",)))

    def undeploy(self, variant: str) -> None:
        path = self.state_path(variant)
        path.unlink(missing_ok=True)
        self.written.discard(path)

    def api(self, method: str, api_id: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return requests.request(method, f"{self.url}/_aws/execute-api/{api_id}{path}", **kwargs)

    def parallel(self, calls: list[Callable[[], Any]]) -> list[Any]:
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            return [f.result() for f in [pool.submit(call) for call in calls]]

    def client(self, service: str, retries: int = 0) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.url,
            **boto3_credentials(),
            config=Config(retries={"total_max_attempts": retries + 1, "mode": "standard"}, read_timeout=60),
        )

    def health(self) -> dict[str, Any]:
        health = gateway_health(self.settings)
        assert health is not None, "the gateway does not answer"
        return health

    def environments(self, function: str) -> list[dict[str, Any]]:
        return [env for env in self.health()["environments"] if env["function"] == function]

    def containers(self, function: str | None = None) -> list[Any]:
        labels = [f"{LABEL_INSTANCE}={self.settings.instance}"]
        if function:
            labels.append(f"lambda-inference.function={function}")
        client = engine_client()
        try:
            return client.containers.list(all=True, filters={"label": labels}, ignore_removed=True)
        finally:
            client.close()

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _down_leaves_nothing(settings: Settings) -> None:
    """The session's end, whatever ran before: ``down`` stops every service it started and removes
    everything labelled with this instance (tests leave environments running on purpose), and a
    second ``down`` has nothing left to do. Failures show as an error of the last test."""
    before = status(settings)
    pids = {name: entry["pid"] for name, entry in before["services"].items() if entry.get("pid")}
    down(settings)
    left = docker_objects(settings)
    assert left == {"containers": [], "networks": [], "volumes": []}, f"down left {left}"
    for name, pid in pids.items():
        if name != "dockerd":
            record = processes.ProcessRecord(name, pid, [], 0, "", 0.0)
            assert not processes.alive(record), f"{name} (pid {pid}) still runs"
    for port in (settings.port, settings.moto_port, settings.registry_port):
        with socket.socket() as sock:
            sock.settimeout(0.5)
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still answers"
    assert not any(settings.services_dir.glob("*.pid"))
    again = down(settings)
    assert again == {"stopped": [], "removed": {"containers": [], "networks": [], "volumes": []}}


@pytest.fixture(scope="session")
def engine() -> None:
    if not engine_answers():
        pytest.skip("no Docker engine answers (make setup starts one)")


@pytest.fixture(scope="session")
def test_image(engine: None) -> str:
    client = engine_client(timeout=600)
    try:
        return build_test_image(client)
    finally:
        client.close()


@pytest.fixture(scope="session")
def cloud(test_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    state = tmp_path_factory.mktemp("localcloud-state")
    with own_instance_env(state, SESSION_ENV) as settings:
        try:
            up(settings)
            client = engine_client(timeout=600)
            try:
                registry_image = push_test_image(client, test_image, settings.registry_address)
                untag_pushed(client, registry_image)  # so the gateway really pulls from the registry
            finally:
                client.close()
            repo_and_tag = registry_image.split("/", 1)[1]
            yield Cloud(settings, f"{ECR_REGISTRY}/{repo_and_tag}", registry_image)
        finally:
            _down_leaves_nothing(settings)
            client = engine_client()
            try:  # the tag the runtime pulled from this session's registry (a port nobody reuses)
                untag_pushed(
                    client, f"{settings.registry_address}/{REGISTRY_REPOSITORY}:{test_image.split(':')[-1]}"
                )
            finally:
                client.close()


@pytest.fixture
def deployed(cloud: Cloud) -> Iterator[Cloud]:
    """The cloud, with every state file the test writes removed afterwards (functions drained)."""
    yield cloud
    for path in list(cloud.written):
        path.unlink(missing_ok=True)
        cloud.written.discard(path)
