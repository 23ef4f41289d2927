"""``up`` is idempotent, and the leftover checks see what is left.

``down`` itself runs once, at the end of the session, in the ``cloud`` fixture's teardown, which
checks that it leaves nothing (``conftest._down_leaves_nothing``): no test has to run last.
"""

from __future__ import annotations

import pytest

from harness.docker_engine import engine_client
from harness.localcloud.config import LABEL_INSTANCE, LABEL_ROLE
from harness.localcloud.leftovers import aws_resources, docker_objects
from harness.localcloud.services import status, up

from .conftest import Cloud

pytestmark = [pytest.mark.localcloud, pytest.mark.docker]


def test_up_is_idempotent(cloud: Cloud) -> None:
    before = status(cloud.settings)
    pids = {name: entry["pid"] for name, entry in before["services"].items() if name != "dockerd"}
    assert all(pids.values()), before
    assert before["network"]["name"] == cloud.settings.network_name
    assert up(cloud.settings)["services"]["gateway"]["pid"] == pids["gateway"]  # nothing restarted

    # Leave a running environment behind on purpose: the session's down must remove it.
    cloud.deploy_one("leftover", "zz-left", "leftapi")
    assert cloud.api("POST", "leftapi", "/run", json={}).status_code == 200
    assert cloud.containers("zz-left")
    assert docker_objects(cloud.settings)["containers"], "a running environment is a leftover"


def test_leftover_checks_see_what_is_left(cloud: Cloud) -> None:
    """Leave a bucket, a container, a network and a volume on purpose: the checks name each one."""
    s3 = cloud.client("s3")
    s3.create_bucket(Bucket="zz-left-on-purpose")
    labels = {**cloud.settings.labels, LABEL_ROLE: "leftover-test"}
    client = engine_client()
    try:
        volume = client.volumes.create("zz-left-volume", labels=labels)
        network = client.networks.create("zz-left-network", labels=labels, internal=True)
        container = client.containers.create(cloud.registry_image, name="zz-left-container", labels=labels)
        unlabelled = client.volumes.create("zz-not-ours")  # someone else's: never reported
        try:
            assert "s3:zz-left-on-purpose" in aws_resources(cloud.settings)
            found = docker_objects(cloud.settings)
            assert "zz-left-container" in found["containers"]
            assert "zz-left-network" in found["networks"]
            assert "zz-left-volume" in found["volumes"] and "zz-not-ours" not in found["volumes"]
            assert container.labels[LABEL_INSTANCE] == cloud.settings.instance
        finally:
            container.remove(force=True)
            network.remove()
            volume.remove(force=True)
            unlabelled.remove(force=True)
            s3.delete_bucket(Bucket="zz-left-on-purpose")
        assert "s3:zz-left-on-purpose" not in aws_resources(cloud.settings)
        found = docker_objects(cloud.settings)
        assert "zz-left-container" not in found["containers"] and "zz-left-volume" not in found["volumes"]
    finally:
        client.close()
