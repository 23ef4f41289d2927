"""Bundles: layout, digests of the real files, idempotence, repair, pruning, copy fallback."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest
from inference.contract import MANIFEST_NAME, Manifest, model_folder

from harness.models.bundle import build_bundle, digest_cache_path, manifest_sha256
from harness.models.resolve import ModelSourceError, load_catalog
from harness.paths import CATALOGS_DIR

L6 = "local/minilm-l6-h384-squad"
L6_COMMIT = "cecc2a7e5b8ee2583e400934cd4cc6ae3ff96411"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _stamps(root: Path) -> dict[str, int]:
    """mtime of every path under root (and root's sibling digest cache): 'touched nothing'."""
    paths = [root, *root.rglob("*"), digest_cache_path(root)]
    return {str(p): p.stat().st_mtime_ns for p in paths}


def test_layout_and_digests_of_the_real_files(
    models_hf_env: Path, tmp_path: Path, models_offline_snapshots: dict[str, Path]
) -> None:
    dest = tmp_path / "bundle"
    lines: list[str] = []
    manifest = build_bundle(load_catalog("offline"), dest, progress=lines.append)

    assert Manifest.from_json((dest / MANIFEST_NAME).read_text()) == manifest
    assert manifest.catalog == "offline" and set(manifest.models) == {"nlp1", "nlp2"}
    nlp1 = manifest.models["nlp1"]
    assert (nlp1.source, nlp1.revision, nlp1.eager) == (L6, L6_COMMIT, True)
    assert nlp1.folder == model_folder(L6, L6_COMMIT) == f"models/local--minilm-l6-h384-squad/{L6_COMMIT}"
    for model in manifest.models.values():
        folder = dest / model.folder
        assert sorted(p.name for p in folder.iterdir()) == [f.name for f in model.files]
        assert "README.md" not in [f.name for f in model.files]
        source = models_offline_snapshots[model.source]
        for f in model.files:
            assert f.size == (source / f.name).stat().st_size
            assert f.sha256 == _sha256(source / f.name)  # hashed independently here
            assert (folder / f.name).stat().st_ino == (source / f.name).stat().st_ino  # hard link
        assert folder.stat().st_mode & 0o755 == 0o755  # readable by the image's non-root user
    assert manifest.models["nlp1"].files[1].size == 90_276_408  # the README's figure
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST_NAME, "models"]  # no cache, no staging
    assert digest_cache_path(dest).is_file()
    assert manifest_sha256(dest) == _sha256(dest / MANIFEST_NAME)
    assert any("linked 5 files" in line for line in lines)


def test_rebundle_is_instant_and_touches_nothing(models_hf_env: Path, tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    catalog = load_catalog("offline")
    started = time.monotonic()
    build_bundle(catalog, dest, progress=lambda _: None)
    cold = time.monotonic() - started
    before_bytes, before = (dest / MANIFEST_NAME).read_bytes(), _stamps(dest)

    lines: list[str] = []
    started = time.monotonic()
    build_bundle(load_catalog("offline"), dest, progress=lines.append)
    warm = time.monotonic() - started
    assert (dest / MANIFEST_NAME).read_bytes() == before_bytes
    assert _stamps(dest) == before
    assert "manifest unchanged" in lines[-1] and "hashed 0.0 MiB" in lines[-1]
    assert warm < max(cold, 0.5), (cold, warm)


def test_damaged_folder_is_repaired(models_hf_env: Path, tmp_path: Path) -> None:
    dest = tmp_path / "bundle"
    manifest = build_bundle(load_catalog("offline"), dest, progress=lambda _: None)
    config = dest / manifest.models["nlp2"].folder / "config.json"
    config.unlink()  # never write through the hard link: that would change the hub cache
    config.write_text('{"tampered": true}')
    (dest / manifest.models["nlp2"].folder / "stray.txt").write_text("x")
    again = build_bundle(load_catalog("offline"), dest, progress=lambda _: None)
    assert again == manifest
    assert sorted(p.name for p in config.parent.iterdir()) == [f.name for f in manifest.models["nlp2"].files]
    assert _sha256(config) == {f.name: f.sha256 for f in manifest.models["nlp2"].files}["config.json"]


def test_new_revision_gets_a_new_folder_and_the_old_one_is_pruned(
    models_hf_env: Path, tmp_path: Path, models_offline_snapshots: dict[str, Path]
) -> None:
    dest = tmp_path / "bundle"
    first = build_bundle(load_catalog("offline"), dest, progress=lambda _: None)
    first_sha = manifest_sha256(dest)
    local = tmp_path / "nlp2-v2"
    local.mkdir()
    for name in ("config.json", "tokenizer.json", "vocab.txt"):
        os.link(models_offline_snapshots["local/minilm-l3-h384-squad"] / name, local / name)
    (local / "model.safetensors").write_bytes(b"new weights")
    catalog_file = tmp_path / "offline.json"  # same catalog name, nlp2 moved to new files
    raw = json.loads((CATALOGS_DIR / "offline.json").read_text())
    raw["models"]["nlp2"] = {"path": str(local)}
    catalog_file.write_text(json.dumps(raw))

    second = build_bundle(load_catalog(catalog_file), dest, progress=lambda _: None)
    assert second.models["nlp1"] == first.models["nlp1"]
    new = second.models["nlp2"]
    assert (new.source, new.revision.startswith("sha256-")) == ("local/nlp2-v2", True)
    assert (dest / new.folder / "model.safetensors").read_bytes() == b"new weights"
    assert not (dest / first.models["nlp2"].folder).exists()  # pruned after the new manifest
    assert not (dest / "models" / "local--minilm-l3-h384-squad").exists()
    assert manifest_sha256(dest) != first_sha


def test_copies_when_hard_links_are_refused(
    models_hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", refuse)
    dest = tmp_path / "bundle"
    manifest = build_bundle(load_catalog("offline"), dest, progress=lambda _: None)
    for model in manifest.models.values():
        for f in model.files:
            path = dest / model.folder / f.name
            assert path.stat().st_nlink == 1 and _sha256(path) == f.sha256


def test_unavailable_model_fails_before_writing(models_hf_env: Path, tmp_path: Path) -> None:
    catalog_file = tmp_path / "broken.json"
    catalog_file.write_text(
        json.dumps({"models": {"nlp1": {"repo_id": "nobody/nothing", "revision": "main"}}})
    )
    dest = tmp_path / "bundle"
    with pytest.raises(ModelSourceError, match="'nlp1'"):
        build_bundle(load_catalog(catalog_file), dest, progress=lambda _: None)
    assert not dest.exists()
