"""Everything the benchmark needs from the rest of the harness, behind small functions.

Deploy/destroy (``harness.deploy``), forcing cold starts and finding environments
(``harness.localcloud``), the Docker engine and the S3 endpoint. Scenarios only call these, so
each can be replaced by a fake in tests, and a part that changes its API is fixed here once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.local_settings import boto3_credentials
from harness.paths import state_dir


class UnavailableError(RuntimeError):
    """A part the benchmark needs is not there (yet); the scenario is skipped with this reason."""


# --- deploy ------------------------------------------------------------------------------------


def deploy(variant: str, catalog: str = "offline", variables: dict[str, Any] | None = None) -> Any:
    """``harness.deploy.deploy`` on the local target (``variables``: extra Terraform inputs, such as
    the fleet's ``model_memory_budget_mb``); returns its Deployment."""
    from harness.deploy import deploy as _deploy

    return _deploy(variant, "local", catalog, variables=variables)


def is_deployed(variant: str) -> bool:
    """Whether the variant's local stack is applied (its Terraform state has a function): a soak
    reuses such a stack and leaves it running."""
    from harness.terraform.runner import Stack

    return bool(Stack(variant, target="local").output().get("function_name"))


def destroy(variant: str) -> None:
    """``harness.deploy.destroy`` on the local target (the stack of the variant, whatever its catalog)."""
    from harness.deploy import destroy as _destroy

    _destroy(variant, "local")


def example_request() -> tuple[str, str]:
    """(question, context): the request example every part of the project uses."""
    from harness.example import CAR_CONTEXT, CAR_QUESTION

    return CAR_QUESTION, CAR_CONTEXT


# --- environments ------------------------------------------------------------------------------


def reset_environments(function_name: str) -> int:
    """Stop every environment of the function so that the next request is a cold start."""
    from harness.localcloud import reset_environments as _reset

    return int(_reset(function_name) or 0)


def log_dir(function_name: str) -> Path:
    """``.state/logs/<function>/``: one ``<env-id>.log`` per environment (design.md)."""
    return state_dir() / "logs" / function_name


@dataclass(frozen=True)
class LogFile:
    env_id: str
    path: Path
    size: int
    mtime: float


def env_logs(function_name: str) -> dict[str, LogFile]:
    """The function's environment logs now, by environment id."""
    folder = log_dir(function_name)
    if not folder.is_dir():
        return {}
    found: dict[str, LogFile] = {}
    for path in folder.glob("*.log"):
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        found[path.stem] = LogFile(path.stem, path, info.st_size, info.st_mtime)
    return found


def read_log(log: LogFile, offset: int = 0) -> str:
    """The live file from ``offset`` on; from its start when it is shorter than that (it was
    rotated at its size cap since the offset was taken: what was before is in ``<id>.log.1``)."""
    with open(log.path, "rb") as stream:
        if offset > os.fstat(stream.fileno()).st_size:
            offset = 0
        stream.seek(offset)
        return stream.read().decode("utf-8", errors="replace")


def environment_filters(function_name: str) -> dict[str, list[str]]:
    """Docker filters for the function's environments in this instance of the local cloud: another
    instance on the machine (a test session's, another checkout's) may run a function of the same
    name, and its containers are not ours to count."""
    from harness.localcloud.config import LABEL_INSTANCE, Settings
    from harness.localcloud.runtime.environment import LABEL_FUNCTION

    instance = Settings.from_env().instance
    return {"label": [f"{LABEL_FUNCTION}={function_name}", f"{LABEL_INSTANCE}={instance}"]}


def count_containers(function_name: str) -> int | None:
    """Running environments of the function (None: no Docker)."""
    from harness.docker_engine import engine_client

    try:
        client = engine_client(timeout=10)
        return len(client.containers.list(filters=environment_filters(function_name), ignore_removed=True))
    except Exception:
        return None


def function_configuration(function_name: str) -> dict[str, int | str]:
    """The deployed function's memory (MB), ephemeral storage (MB) and architecture, from the
    Lambda API (what Terraform applied): the cost table's inputs."""
    import boto3

    client = boto3.client("lambda", endpoint_url=aws_endpoint_url(), **boto3_credentials())
    config = client.get_function_configuration(FunctionName=function_name)
    return {
        "memory_mb": int(config.get("MemorySize") or 0),
        "ephemeral_storage_mb": int((config.get("EphemeralStorage") or {}).get("Size") or 512),
        "architecture": str((config.get("Architectures") or ["x86_64"])[0]),
    }


# --- S3 ----------------------------------------------------------------------------------------


def aws_endpoint_url() -> str:
    from harness.localcloud import aws_endpoint_url as _endpoint

    return str(_endpoint())


def s3_client() -> Any:
    """A boto3 S3 client on the same endpoint the functions use (the gateway in front of moto)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=aws_endpoint_url(),
        config=Config(s3={"addressing_style": "path"}),
        **boto3_credentials(),
    )


# --- EFS ---------------------------------------------------------------------------------------


def efs_model_folders(
    catalog: str | None = None, engine: str | None = "torch", max_depth: int = 4
) -> dict[str, Path]:
    """model_type -> folder of the model files on the local EFS (``.state/efs/<fs-id>/...``).

    Found through the manifest the seeder wrote there (the newest one, when several file systems
    hold one), of ``catalog`` if given and with every model on ``engine`` if given; empty when no
    file system holds such a manifest.
    """
    from inference.contract import Manifest

    root = state_dir() / "efs"
    if not root.is_dir():
        return {}
    found: list[tuple[float, dict[str, Path]]] = []
    for depth in range(1, max_depth + 1):
        for path in sorted(root.glob("/".join(["*"] * depth) + "/manifest.json")):
            try:
                manifest = Manifest.from_json(path.read_bytes())
                mtime = path.stat().st_mtime
            except (OSError, ValueError):
                continue
            if catalog is not None and manifest.catalog != catalog:
                continue
            if engine is not None and any(m.engine != engine for m in manifest.models.values()):
                continue
            folders = {mt: path.parent / m.folder for mt, m in manifest.models.items()}
            if all(folder.is_dir() for folder in folders.values()):
                found.append((mtime, folders))
    return max(found, key=lambda item: item[0])[1] if found else {}
