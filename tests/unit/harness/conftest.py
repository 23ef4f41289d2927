"""Fixtures of the harness unit tests. Owners prefix their fixtures (``models_`` = harness/models)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.local_settings import boto3_credentials
from harness.paths import hf_cache_dir
from tests.servers import threaded_moto

# The two models of ../shared/hf-cache (its README), as the offline catalog names them.
MODELS_OFFLINE = {
    "local/minilm-l6-h384-squad": "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411",
    "local/minilm-l3-h384-squad": "7b1d26e8fd7dfeba584d828213e5c65d51f52219",
}


@pytest.fixture(scope="session")
def models_offline_snapshots() -> dict[str, Path]:
    """repo_id -> the read-only snapshot folder of each offline model."""
    cache = hf_cache_dir()
    folders = {
        repo_id: cache / f"models--{repo_id.replace('/', '--')}" / "snapshots" / commit
        for repo_id, commit in MODELS_OFFLINE.items()
    }
    missing = [str(p) for p in folders.values() if not p.is_dir()]
    assert not missing, f"the offline models are missing (see ../shared/hf-cache/README.md): {missing}"
    return folders


@pytest.fixture
def models_hf_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, models_offline_snapshots: dict[str, Path]
) -> Path:
    """The offline hub cache, offline mode and a private state folder; returns the cache."""
    cache = hf_cache_dir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("LAMBDA_INFERENCE_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("LAMBDA_INFERENCE_CACHE", raising=False)  # bundles and exports go there too
    return cache


@pytest.fixture(scope="session")
def models_moto_endpoint() -> Iterator[str]:
    """A real moto server on a free 127.0.0.1 port, for the whole session."""
    with threaded_moto() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def models_s3(models_moto_endpoint: str) -> Any:
    """An S3 client for the moto server (explicit settings: never real AWS)."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=models_moto_endpoint,
        **boto3_credentials(),
    )
