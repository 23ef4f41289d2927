"""push_image against a real registry (Debian's docker-registry) that this test starts on 127.0.0.1.

A small image (the base) stands in for the function image: the push code does not care what it
pushes, and the function image's gigabyte would only make the test slow.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.images.base import BASE_IMAGE
from harness.images.push import push_image, registry_has, registry_repository
from tests.servers import free_port

pytestmark = pytest.mark.docker


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[str]:
    binary = shutil.which("docker-registry")
    assert binary, "docker-registry is not installed; scripts/setup.sh installs it"
    port = free_port()
    config = tmp_path / "config.yml"
    config.write_text(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n"
        f"    rootdirectory: {tmp_path / 'data'}\nhttp:\n  addr: 127.0.0.1:{port}\n"
    )
    with open(tmp_path / "registry.log", "wb") as log:
        process = subprocess.Popen([binary, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError((tmp_path / "registry.log").read_text()) from None
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def small_image(docker_engine) -> Iterator[str]:
    tag = f"lambda-inference/pushtest:{int(time.time())}"
    docker_engine.api.tag(BASE_IMAGE, *tag.split(":"))
    try:
        yield tag
    finally:
        docker_engine.api.remove_image(tag)


def test_push_then_skip_when_the_registry_has_the_tag(docker_engine, registry, small_image):
    lines: list[str] = []
    uri = push_image(small_image, f"{registry}/lambda-inference-test", log=lines.append)
    tag = small_image.split(":")[1]
    assert uri == f"{registry}/lambda-inference-test:{tag}"
    assert registry_has(docker_engine, uri)
    assert any("Pushed" in line or "digest" in line for line in lines), lines

    again: list[str] = []
    assert push_image(small_image, f"{registry}/lambda-inference-test", log=again.append) == uri
    assert again == [f"push: {uri} is already in the registry"]
    docker_engine.api.remove_image(uri)


def test_ecr_uris_go_to_the_local_registry_for_the_local_target(monkeypatch):
    monkeypatch.setenv("LOCALCLOUD_REGISTRY_PORT", "5999")
    ecr = "123456789012.dkr.ecr.us-east-1.amazonaws.com/lambda-inference-s3"
    assert registry_repository(ecr, "local") == "127.0.0.1:5999/lambda-inference-s3"
    assert registry_repository(ecr, "aws") == ecr
    assert registry_repository("127.0.0.1:5055/x", "local") == "127.0.0.1:5055/x"
