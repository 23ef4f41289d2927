"""Fixtures for the Terraform tests: a private copy of the stacks, a moto server, and stacks on it.

Every test works on a copy of ``modules/`` and ``terraform/`` in a temporary folder (without any
generated ``*_override.tf``) with its state in that folder too, so the tests never touch a
developer's deployments or another engineer's running ``make deploy``, and the generated override
can point at the test's own moto instead of the gateway.

The moto server is the local cloud's (``harness.localcloud.moto_server``: moto with the Lambda
fields stock moto drops kept), so a clean plan after apply here means a clean plan on the real
local target.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from harness.paths import MODULES_DIR, REPO_ROOT, TERRAFORM_DIR
from harness.terraform import Stack
from harness.terraform.cliconfig import find_plugin_mirror

FIXTURES_DIR = Path(__file__).parent / "fixtures"
IMAGE_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/{name}:0123456789abcdef"
MOTO_START_SECONDS = 60.0
log = logging.getLogger("tests.terraform")


def _ignore_generated(directory: str, names: list[str]) -> set[str]:
    return {
        n for n in names if n.endswith("_override.tf") or (n.startswith(".") and n != ".terraform.lock.hcl")
    }


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    binary = shutil.which("terraform")
    if not binary:
        pytest.skip("terraform is not on PATH")
    try:
        find_plugin_mirror()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return binary


def _copy_tree(root: Path) -> Path:
    shutil.copytree(MODULES_DIR, root / "modules", ignore=_ignore_generated)
    shutil.copytree(TERRAFORM_DIR, root / "terraform", ignore=_ignore_generated)
    shutil.copytree(FIXTURES_DIR, root / "fixtures", ignore=_ignore_generated)
    return root


@pytest.fixture(scope="session")
def workspace(tmp_path_factory: pytest.TempPathFactory, terraform_bin: str) -> Path:
    """``<tmp>/{modules,terraform,fixtures}``: the stacks as committed, relative paths intact.

    The stacks made by ``make_stack`` run here, so it gains generated overrides as tests run.
    """
    return _copy_tree(tmp_path_factory.mktemp("tfws"))


@pytest.fixture(scope="session")
def pristine_tree(tmp_path_factory: pytest.TempPathFactory, terraform_bin: str) -> Path:
    """Another copy that nothing ever writes to: what the static checks (fmt, validate, checkov) see."""
    return _copy_tree(tmp_path_factory.mktemp("tfsrc"))


@pytest.fixture(autouse=True)
def _plans_are_slow(request: pytest.FixtureRequest) -> None:
    """A test that plans or applies (it needs moto) must be marked slow: ``make unit`` selects
    ``not slow`` and must stay seconds long."""
    if "moto_url" in request.fixturenames and not (
        request.node.get_closest_marker("slow") or request.node.get_closest_marker("integration")
    ):
        pytest.fail(f"{request.node.nodeid} plans against moto but is not marked slow")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server on a free loopback port for the whole session, stopped by its pid."""
    port = _free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    env = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with open(log_path, "wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "harness.localcloud.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=REPO_ROOT,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + MOTO_START_SECONDS
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto exited with {proc.returncode}: {log_path.read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/moto-api/", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"moto did not answer on {url} within {MOTO_START_SECONDS:.0f}s")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def make_stack(
    workspace: Path, moto_url: str, tmp_path_factory: pytest.TempPathFactory, terraform_bin: str
) -> Callable[..., Stack]:
    """``make_stack(variant, *, fixture=False, state=name)``: a Stack on the test moto.

    ``state`` picks a separate state folder (two tests may apply the same stack independently).
    """
    state_root = tmp_path_factory.mktemp("tfstate")

    def factory(variant: str, *, fixture: bool = False, state: str | None = None) -> Stack:
        return Stack(
            variant,
            target="local",
            endpoint_url=moto_url,
            stacks_dir=workspace / ("fixtures" if fixture else "terraform"),
            state_root=state_root / (state or "default"),
            progress=lambda line: log.info("[%s] %s", variant, line),
            terraform_bin=terraform_bin,
        )

    return factory


@pytest.fixture(scope="session")
def variables_for() -> Callable[..., dict[str, object]]:
    """``variables_for(variant, **overrides)``: see ``stack_variables``."""
    return stack_variables


def stack_variables(variant: str, **overrides: object) -> dict[str, object]:
    """What the deploy flow passes: an image in the stack's repository and a manifest hash.

    Lambda functions with ``package_type = Image`` are accepted by moto without the image, and
    the EFS stack's seeding invocation needs a Lambda data plane plain moto does not have.
    """
    variables: dict[str, object] = {
        "image_uri": IMAGE_URI.format(name=f"inference-{variant}"),
        "models_manifest_sha256": "ab" * 32,
    }
    if variant == "efs":
        variables["seed_on_apply"] = False
    variables.update(overrides)
    return variables
