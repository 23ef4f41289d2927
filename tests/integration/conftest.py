"""One local cloud of the integration tests' own: state folder, ports, network and label.

``make test``, ``make integration`` and ``.ci/run`` deploy here, never into the user's ``.state``:
the user's deployed stacks, their local cloud (ports 4566/4567/5055) and its network keep
answering while the tests run and after. Only the built artifacts are shared
(``LAMBDA_INFERENCE_CACHE``: wheelhouse, RIE, base image build, exports, bundles; content-addressed,
so sharing them changes nothing the user has).

The fixture is package-scoped and autouse: it starts before the first integration test and ends
after the last, whatever the test files are called or run in. Its teardown checks what the
destroys left (no AWS resource in moto, no container of this instance), stops this local cloud,
checks that nothing in Docker carries its label any more, and removes the image tags pushed to its
registry. A leftover fails the session there (as an error of the last test).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from harness.docker_engine import engine_answers, engine_client
from harness.localcloud import leftovers, services
from harness.localcloud.config import Settings
from harness.paths import cache_dir
from tests.local_instance import own_instance_env

DRAIN_SECONDS = 30.0


def _untag_pushed(settings: Settings) -> None:
    """The ``127.0.0.1:<port>/...`` tags a push to this session's registry left on the host."""
    if not engine_answers():
        return
    client = engine_client()
    try:
        for image in client.images.list():
            for tag in image.tags:
                if tag.startswith(f"{settings.registry_address}/"):
                    client.images.remove(tag)
    finally:
        client.close()


@pytest.fixture(scope="package", autouse=True)
def own_local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    state = tmp_path_factory.mktemp("integration-state")
    # The user's built artifacts: the cache folder is read before the state folder moves.
    with own_instance_env(state, {"LAMBDA_INFERENCE_CACHE": str(cache_dir())}) as settings:
        try:
            yield settings
            if services.gateway_health(settings) is None:
                return  # no test started the cloud
            left_in_aws = leftovers.aws_resources(settings)
            # The gateway drains a destroyed function's environments when it re-reads the state.
            deadline = time.monotonic() + DRAIN_SECONDS
            while (left_running := leftovers.docker_objects(settings)["containers"]) and (
                time.monotonic() < deadline
            ):
                time.sleep(1.0)
            assert left_in_aws == [], f"the destroys left AWS resources: {left_in_aws}"
            assert left_running == [], f"the destroys left function containers: {left_running}"
        finally:
            services.down(settings)
            after_down = leftovers.docker_objects(settings)
            _untag_pushed(settings)
    assert after_down == {"containers": [], "networks": [], "volumes": []}, after_down
