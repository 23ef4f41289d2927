"""Catalog -> local model files, against the real offline models of ../shared/hf-cache."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from harness.models.resolve import (
    CatalogError,
    ModelSourceError,
    load_catalog,
    resolve_catalog,
    select_files,
)

QA_NAMES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]


def _catalog_file(tmp_path: Path, models: dict) -> Path:
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"models": models}))
    return path


def test_catalog_by_name_path_and_unknown_name(tmp_path: Path) -> None:
    assert set(load_catalog("offline").models) == {"nlp1", "nlp2"}
    path = _catalog_file(tmp_path, {"qa": {"path": "somewhere"}})
    assert load_catalog(str(path)).models["qa"].source.path == str(tmp_path / "somewhere")
    with pytest.raises(CatalogError) as err:
        load_catalog("no-such-catalog")
    assert "available catalogs: default, fleet, offline" in str(err.value)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CatalogError, match="non-empty 'models'"):
        load_catalog(tmp_path / "bad.json")


def test_resolve_offline_catalog(models_hf_env: Path, models_offline_snapshots: dict[str, Path]) -> None:
    resolved = {r.model_type: r for r in resolve_catalog(load_catalog("offline"))}
    nlp1, nlp2 = resolved["nlp1"], resolved["nlp2"]
    assert (nlp1.source, nlp1.revision, nlp1.eager) == (
        "local/minilm-l6-h384-squad",
        "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411",
        True,
    )
    assert (nlp2.source, nlp2.eager) == ("local/minilm-l3-h384-squad", False)
    assert nlp1.directory.resolve() == models_offline_snapshots["local/minilm-l6-h384-squad"].resolve()
    for model in resolved.values():
        assert [p.name for p in model.files] == QA_NAMES  # no README.md (the model card)
        assert (model.directory / "README.md").exists()


def test_branch_resolves_to_its_commit(models_hf_env: Path, tmp_path: Path) -> None:
    path = _catalog_file(tmp_path, {"qa": {"repo_id": "local/minilm-l3-h384-squad", "revision": "main"}})
    (model,) = resolve_catalog(load_catalog(path))
    assert model.revision == "7b1d26e8fd7dfeba584d828213e5c65d51f52219"
    assert model.requested == "local/minilm-l3-h384-squad@main"


def test_unavailable_source_names_model_and_way_out(models_hf_env: Path, tmp_path: Path) -> None:
    path = _catalog_file(
        tmp_path,
        {
            "nlp1": {"repo_id": "local/minilm-l6-h384-squad", "revision": "main"},
            "nlp9": {"repo_id": "nobody/no-such-model", "revision": "main"},
        },
    )
    with pytest.raises(ModelSourceError) as err:
        resolve_catalog(load_catalog(path))
    message = str(err.value)
    assert "nlp9" in message and "nobody/no-such-model@main" in message
    assert "nlp1" not in message  # only what is wrong
    for way_out in ("HF_HUB_CACHE", "HF_HUB_OFFLINE", "CATALOG=offline"):
        assert way_out in message


def test_cache_is_read_from_the_callers_environment(
    models_hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """huggingface_hub reads HF_HUB_CACHE at import; resolving must follow a later change."""
    resolve_catalog(load_catalog("offline"))  # the hub is imported by now
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(ModelSourceError) as err:
        resolve_catalog(load_catalog("offline"))
    assert "2 models are not available" in str(err.value)
    assert str(tmp_path / "empty-cache") in str(err.value)


def test_local_directory_source(models_hf_env: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "my-model"
    model_dir.mkdir()
    for name, body in {
        "config.json": "{}",
        "pytorch_model.bin": "w",
        "vocab.txt": "a",
        "README.md": "",
    }.items():
        (model_dir / name).write_text(body)
    path = _catalog_file(tmp_path, {"qa": {"path": "my-model", "eager": True}})
    (first,) = resolve_catalog(load_catalog(path))
    assert first.source == "local/my-model" and first.revision.startswith("sha256-")
    assert [p.name for p in first.files] == ["config.json", "pytorch_model.bin", "vocab.txt"]
    (model_dir / "vocab.txt").write_text("b")  # new bytes -> new revision
    (second,) = resolve_catalog(load_catalog(path))
    assert second.revision != first.revision

    shutil.rmtree(model_dir)
    with pytest.raises(ModelSourceError, match=r"'qa': local source .* is not a directory"):
        resolve_catalog(load_catalog(path))


def test_select_files_prefers_safetensors_and_names_what_is_missing(tmp_path: Path) -> None:
    for name in (
        "config.json",
        "model.safetensors",
        "pytorch_model.bin",
        "tokenizer.json",
        "flax_model.msgpack",
    ):
        (tmp_path / name).write_text("x")
    assert [p.name for p in select_files(tmp_path)] == ["config.json", "model.safetensors", "tokenizer.json"]
    for name in ("model.safetensors", "pytorch_model.bin", "tokenizer.json"):
        (tmp_path / name).unlink()
    with pytest.raises(
        ValueError, match=r"model.safetensors or pytorch_model.bin, tokenizer.json or vocab.txt"
    ):
        select_files(tmp_path)


def test_cached_commit_never_asks_the_hub(models_hf_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Online but without network, a pinned commit in the cache must not wait on Hub retries."""
    import huggingface_hub

    real = huggingface_hub.snapshot_download
    calls: list[bool] = []

    def local_only(*args: object, **kwargs: object) -> str:
        calls.append(bool(kwargs["local_files_only"]))
        assert kwargs["local_files_only"], "asked the Hub for a commit the cache holds"
        return real(*args, **kwargs)

    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(huggingface_hub, "snapshot_download", local_only)
    assert len(resolve_catalog(load_catalog("offline"))) == 2
    assert calls == [True, True]
