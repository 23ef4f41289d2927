"""Fixtures that build the real function images and run them the way Lambda does.

The OCI image (offline catalog baked in) runs once per session: read-only root, only /tmp
writable (tmpfs), uid 993, a memory limit, on an internal Docker network this session creates.
Tests POST Lambda events to the RIE inside it, as the local cloud's data plane does. Everything
created here is removed in finalizers, whether the tests pass or not.
"""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from harness.docker_engine import BUILD_TIMEOUT_SECONDS, EngineUnavailableError, engine_client
from harness.paths import hf_cache_dir

RIE_PORT = 8080
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
MEMORY_MB = 3008
READY_TIMEOUT_SECONDS = 60
INVOKE_TIMEOUT_SECONDS = 300
LABEL = "io.github.lambda-inference.test"


@dataclass(frozen=True)
class CheckAnswers:
    """The paragraph and the answers ../shared/hf-cache/README.md lists for it, per model_type."""

    context: str
    answers: dict[str, dict[str, str]]  # question -> model_type -> answer


@dataclass(frozen=True)
class RunningFunction:
    """A function container and the RIE URL the host reaches it at on the test network."""

    container: Any
    invoke_url: str

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(self.invoke_url, json=event, timeout=INVOKE_TIMEOUT_SECONDS)
        response.raise_for_status()
        return response.json()


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[Any]:
    try:
        client = engine_client(BUILD_TIMEOUT_SECONDS)
    except EngineUnavailableError as exc:
        pytest.skip(f"no Docker engine reachable: {exc}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def check_answers() -> CheckAnswers:
    """Parsed from the README that ships with the models, so the test cannot drift from it."""
    text = (hf_cache_dir() / "README.md").read_text()
    section = text.split("## Answers to check against", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in rows[0].strip("|").split("|")]
    answers: dict[str, dict[str, str]] = {}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row.strip("|").split("|")]
        answers[cells[0]] = dict(zip(header[1:], cells[1:], strict=True))
    context = re.search(r"^> (.+)$", section, re.MULTILINE)
    assert context and answers, "hf-cache README no longer has its answers table and paragraph"
    return CheckAnswers(context=context.group(1).strip(), answers=answers)


@pytest.fixture(scope="session")
def offline_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline catalog laid out as a bundle (hard links into ../shared/hf-cache)."""
    from harness.models.bundle import build_bundle
    from harness.models.resolve import load_catalog

    dest = tmp_path_factory.mktemp("bundle") / "offline"
    build_bundle(load_catalog("offline"), dest)
    return dest


@pytest.fixture(scope="session")
def int8_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The offline-int8 catalog as a bundle: both models exported to int8 ONNX (cached in .state)."""
    from harness.models.bundle import build_bundle
    from harness.models.resolve import load_catalog

    dest = tmp_path_factory.mktemp("bundle") / "offline-int8"
    build_bundle(load_catalog("offline-int8"), dest)
    return dest


@pytest.fixture(scope="session")
def s3_image(docker_engine: Any) -> Any:
    from harness.images.build import build_function_image

    return build_function_image("s3", {"torch"})


@pytest.fixture(scope="session")
def lean_image(docker_engine: Any) -> Any:
    """The S3/EFS image of the ONNX catalogs: ONNX Runtime, no torch, no transformers."""
    from harness.images.build import build_function_image

    return build_function_image("s3", {"onnxruntime"})


@pytest.fixture(scope="session")
def oci_image(docker_engine: Any, offline_bundle: Path) -> Any:
    from harness.images.build import build_function_image

    return build_function_image("oci", {"torch"}, model_bundle=offline_bundle)


@pytest.fixture(scope="session")
def oci_int8_image(docker_engine: Any, int8_bundle: Path) -> Any:
    from harness.images.build import build_function_image

    return build_function_image("oci", {"onnxruntime"}, model_bundle=int8_bundle)


@pytest.fixture(scope="session")
def internal_network(docker_engine: Any) -> Iterator[Any]:
    """A network with no route out; the host still reaches its containers at their address."""
    network = docker_engine.networks.create(
        f"lambda-inference-imagetest-{uuid.uuid4().hex[:8]}",
        driver="bridge",
        internal=True,
        labels={LABEL: "1"},
    )
    try:
        yield network
    finally:
        network.remove()


def run_like_lambda(client: Any, image: str, network: Any, environment: dict[str, str]) -> Any:
    """Start ``image`` with Lambda's constraints: read-only root, /tmp only, uid 993, memory cap."""
    return client.containers.run(
        image,
        detach=True,
        read_only=True,
        tmpfs={"/tmp": "rw,size=512m,mode=1777"},
        user="993:990",
        mem_limit=f"{MEMORY_MB}m",
        memswap_limit=f"{MEMORY_MB}m",
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        network=network.name,
        environment={"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(MEMORY_MB), **environment},
        labels={LABEL: "1"},
        name=f"lambda-inference-imagetest-{uuid.uuid4().hex[:8]}",
    )


def wait_for_rie(container: Any, network: Any) -> str:
    """The container's address on ``network`` once its RIE accepts connections."""
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        container.reload()
        if container.status == "exited":
            raise AssertionError(f"container exited:\n{container.logs().decode(errors='replace')}")
        address = container.attrs["NetworkSettings"]["Networks"][network.name]["IPAddress"]
        if address:
            try:
                with socket.create_connection((address, RIE_PORT), timeout=1):
                    return address
            except OSError:
                pass
        time.sleep(0.5)
    raise AssertionError(f"the RIE did not listen on :{RIE_PORT} within {READY_TIMEOUT_SECONDS}s")


def _running(client: Any, image: Any, network: Any) -> Iterator[RunningFunction]:
    container = run_like_lambda(
        client,
        image.tag,
        network,
        {
            "MODEL_STORE": "image",
            "MODEL_ROOT": "/opt/models",
            "MAX_CONTEXT_CHARS": "2000",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
    )
    try:
        address = wait_for_rie(container, network)
        yield RunningFunction(container, f"http://{address}:{RIE_PORT}{INVOKE_PATH}")
    finally:
        print(container.logs(tail=200).decode(errors="replace"))
        container.remove(force=True)


@pytest.fixture(scope="session")
def oci_function(docker_engine: Any, oci_image: Any, internal_network: Any) -> Iterator[RunningFunction]:
    yield from _running(docker_engine, oci_image, internal_network)


@pytest.fixture(scope="session")
def oci_int8_function(
    docker_engine: Any, oci_int8_image: Any, internal_network: Any
) -> Iterator[RunningFunction]:
    yield from _running(docker_engine, oci_int8_image, internal_network)
