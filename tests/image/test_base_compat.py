"""BASE_IMAGE: a base that cannot run the wheelhouse is refused before any build, and says why.

Amazon Linux 2 (public.ecr.aws/lambda/python:3.11) cannot be pulled here, so its answer is played
by a stand-in: the project's base with a ``python3`` first on the PATH that reports glibc 2.26,
as Amazon Linux 2's does. The check itself runs for real: a container of the base image, its
``python3``, no network, removed afterwards.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.images.base import BASE_IMAGE, ensure_base_image
from harness.images.build import build_function_image
from harness.images.compat import PROBE_LABEL, IncompatibleBaseImageError, check_base_image
from harness.images.requirements import PYTHON_VERSION
from harness.images.wheelhouse import ensure_wheelhouse

pytestmark = pytest.mark.docker


def _derived_image(client: Any, name: str, steps: str) -> Iterator[str]:
    tag = f"lambda-inference/test-base-{name}:{uuid.uuid4().hex[:8]}"
    dockerfile = f"FROM {ensure_base_image()}\n{steps}\n".encode()
    client.images.build(fileobj=io.BytesIO(dockerfile), tag=tag, network_mode="none", rm=True, pull=False)
    try:
        yield tag
    finally:
        for container in client.containers.list(all=True, filters={"ancestor": tag}, ignore_removed=True):
            container.remove(force=True)
        client.images.remove(tag, force=True)


@pytest.fixture(scope="module")
def amazon_linux_2_standin(docker_engine: Any) -> Iterator[str]:
    yield from _derived_image(
        docker_engine,
        "glibc226",
        "RUN printf '#!/bin/sh\\necho 3.11 2.26\\n' > /usr/local/bin/python3 \\\n"
        "    && chmod 755 /usr/local/bin/python3",
    )


@pytest.fixture(scope="module")
def without_python(docker_engine: Any) -> Iterator[str]:
    yield from _derived_image(docker_engine, "nopython", "RUN rm -f /usr/bin/python3 /usr/bin/python3.11")


def _leftovers(client: Any, image: str) -> list[Any]:
    """Probe containers of ``image`` still there (the probe removes its own, pass or fail)."""
    return client.containers.list(all=True, filters={"label": f"{PROBE_LABEL}={image}"}, ignore_removed=True)


def test_the_project_base_passes(docker_engine: Any) -> None:
    runtime = check_base_image(ensure_base_image(), PYTHON_VERSION, ensure_wheelhouse({"torch"}).wheels)
    assert runtime.python == PYTHON_VERSION and runtime.glibc is not None and runtime.glibc >= (2, 28)
    assert _leftovers(docker_engine, BASE_IMAGE) == []


def test_an_old_glibc_is_refused_naming_the_wheels_and_the_way_out(
    docker_engine: Any, amazon_linux_2_standin: str
) -> None:
    with pytest.raises(IncompatibleBaseImageError) as refused:
        check_base_image(amazon_linux_2_standin, PYTHON_VERSION, ensure_wheelhouse({"torch"}).wheels)
    message = str(refused.value)
    assert "glibc 2.26" in message and "glibc >= 2.28" in message
    assert "torch" in message and "numpy" in message
    assert "Leave BASE_IMAGE unset" in message
    assert _leftovers(docker_engine, amazon_linux_2_standin) == []


def test_a_base_without_python_is_refused(docker_engine: Any, without_python: str) -> None:
    with pytest.raises(IncompatibleBaseImageError, match="python3"):
        check_base_image(without_python, PYTHON_VERSION, ensure_wheelhouse({"torch"}).wheels)
    assert _leftovers(docker_engine, without_python) == []


def test_the_build_stops_before_building(docker_engine: Any, amazon_linux_2_standin: str) -> None:
    built_before = {image.id for image in docker_engine.images.list()}
    with pytest.raises(IncompatibleBaseImageError):
        build_function_image("s3", {"torch"}, base_image=amazon_linux_2_standin, log=lambda _line: None)
    assert {image.id for image in docker_engine.images.list()} == built_before
