"""The Docker network of the function containers: ``--internal``, so they reach nothing but the host's
address on it (the network's gateway), where the gateway process listens. One per instance, labelled.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import docker
from docker.errors import APIError, NotFound

from harness.localcloud.config import LABEL_INSTANCE, LABEL_ROLE, Settings
from harness.localcloud.errors import LocalCloudError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NetworkInfo:
    name: str
    id: str
    gateway_ip: str


def _info(network: docker.models.networks.Network) -> NetworkInfo:
    configs = (network.attrs.get("IPAM") or {}).get("Config") or []
    gateway = next((c.get("Gateway") for c in configs if c.get("Gateway")), None)
    if not gateway:
        raise LocalCloudError(
            f"network {network.name} has no gateway address; remove it and run local-up again"
        )
    return NetworkInfo(network.name, network.id, gateway)


def find_network(client: docker.DockerClient, settings: Settings) -> NetworkInfo | None:
    try:
        network = client.networks.get(settings.network_name)
    except NotFound:
        return None
    if (network.attrs.get("Labels") or {}).get(LABEL_INSTANCE) != settings.instance:
        return None
    return _info(network)


def ensure_network(client: docker.DockerClient, settings: Settings) -> NetworkInfo:
    """Create the network if missing; refuse one of the same name that another instance owns."""
    try:
        network = client.networks.get(settings.network_name)
    except NotFound:
        network = client.networks.create(
            settings.network_name,
            driver="bridge",
            internal=True,
            check_duplicate=True,
            labels={**settings.labels, LABEL_ROLE: "functions"},
        )
        network.reload()
        log.info("created network %s", settings.network_name)
        return _info(network)
    labels = network.attrs.get("Labels") or {}
    if labels.get(LABEL_INSTANCE) != settings.instance or not network.attrs.get("Internal"):
        raise LocalCloudError(
            f"a Docker network named {settings.network_name} exists but was not created by this local cloud "
            f"(state folder {settings.state_dir}); remove it or set LOCALCLOUD_NETWORK"
        )
    return _info(network)


def remove_networks(client: docker.DockerClient, settings: Settings) -> list[str]:
    """Remove every network this instance created (found by label, not by name)."""
    removed = []
    for network in client.networks.list(filters={"label": f"{LABEL_INSTANCE}={settings.instance}"}):
        try:
            network.remove()
            removed.append(network.name)
        except (NotFound, APIError) as exc:
            log.warning("cannot remove network %s: %s", network.name, exc)
    return removed
