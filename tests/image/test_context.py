"""The build context and its content hash, without Docker: what enters the image, and what names it."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest
from inference.contract import ContractError, FileDigest, Manifest, ManifestModel, model_folder

from harness.images.build import _catalog_name
from harness.images.context import BuildContext, add_function_sources, add_model_bundle


def _function_dir(root: Path) -> Path:
    package = root / "function" / "inference"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("def handler(event, context):\n    return event\n")
    (package / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"stale")
    (root / "function" / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    (root / "function" / "notes.txt").write_text("not part of the package")
    return root / "function"


def _hash_of(function_dir: Path) -> str:
    context = BuildContext()
    add_function_sources(context, function_dir)
    context.note("base-image sha256:abc")
    return context.content_hash()


def test_only_the_package_enters_and_dockerignore_applies(tmp_path):
    context = BuildContext()
    add_function_sources(context, _function_dir(tmp_path))
    assert sorted(context.files) == ["inference/__init__.py", "inference/handler.py"]


def test_hash_is_stable_and_follows_every_input(tmp_path):
    function_dir = _function_dir(tmp_path)
    first = _hash_of(function_dir)
    assert _hash_of(function_dir) == first
    (function_dir / "inference" / "__pycache__" / "other.pyc").write_bytes(b"ignored")
    (function_dir / "notes.txt").write_text("changed, but not in the image")
    assert _hash_of(function_dir) == first
    (function_dir / "inference" / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    assert _hash_of(function_dir) != first
    other_base = BuildContext()
    add_function_sources(other_base, function_dir)
    other_base.note("base-image sha256:def")
    assert other_base.content_hash() != _hash_of(function_dir)


def _bundle(root: Path) -> Path:
    folder = model_folder("local/tiny", "abc123")
    (root / folder).mkdir(parents=True)
    (root / folder / "config.json").write_text("{}")
    (root / folder / "stray.bin").write_text("not in the manifest")
    model = ManifestModel("nlp1", "local/tiny", "abc123", folder, (FileDigest("config.json", 2, "0" * 64),))
    (root / "manifest.json").write_text(Manifest(models={"nlp1": model}, catalog="tiny").to_json())
    return root


def test_bundle_adds_what_the_manifest_names_and_hashes_the_manifest(tmp_path):
    bundle = _bundle(tmp_path / "bundle")
    context = BuildContext()
    manifest = add_model_bundle(context, bundle)
    assert manifest.catalog == "tiny"
    assert sorted(context.files) == ["models/manifest.json", "models/models/local--tiny/abc123/config.json"]
    assert [line.split()[1] for line in context.hashed] == ["models/manifest.json"]


def test_bundle_with_a_missing_or_short_file_fails_before_building(tmp_path):
    bundle = _bundle(tmp_path / "bundle")
    (bundle / model_folder("local/tiny", "abc123") / "config.json").write_text("{ }")
    with pytest.raises(ContractError, match=r"config\.json"):
        add_model_bundle(BuildContext(), bundle)


def test_tar_is_root_owned_with_executables_marked(tmp_path):
    (tmp_path / "lambda-entrypoint.sh").write_text("#!/bin/sh\n")
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    context = BuildContext()
    context.add_file("lambda-entrypoint.sh", tmp_path / "lambda-entrypoint.sh")
    context.add_file("Dockerfile", tmp_path / "Dockerfile")
    with tarfile.open(context.write_tar(tmp_path / "out" / "context.tar")) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert {(m.uid, m.gid, m.mtime) for m in members.values()} == {(0, 0, 0)}
    assert members["lambda-entrypoint.sh"].mode == 0o755
    assert members["Dockerfile"].mode == 0o644


def test_image_names_follow_the_catalog(tmp_path):
    manifest = Manifest(models={}, catalog="Offline Catalog")
    assert _catalog_name(manifest, tmp_path / "x") == "offline-catalog"
    assert _catalog_name(Manifest(models={}), tmp_path / "default") == "default"
