"""The state folder and the cache of built artifacts: one setting each, the cache shareable."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.images.wheelhouse import wheelhouse_dir
from harness.models.bundle import default_bundle_dir
from harness.paths import cache_dir, state_dir


def test_the_cache_is_the_state_folder_unless_moved(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LAMBDA_INFERENCE_STATE", str(tmp_path / "state"))
    monkeypatch.delenv("LAMBDA_INFERENCE_CACHE", raising=False)
    assert cache_dir() == state_dir() == tmp_path / "state"
    monkeypatch.setenv("LAMBDA_INFERENCE_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache" and cache_dir().is_dir()
    assert state_dir() == tmp_path / "state"
    # Built artifacts follow the cache; deployments (Terraform, services) stay in the state folder.
    assert default_bundle_dir("offline").is_relative_to(tmp_path / "cache")
    assert wheelhouse_dir(SimpleNamespace(name="torch")).is_relative_to(tmp_path / "cache")
