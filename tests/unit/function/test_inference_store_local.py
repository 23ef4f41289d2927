"""EFS and image stores on a local directory, and the manifest TTL that picks up new revisions."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from inference.errors import ModelUnavailableError
from inference.manifests import ManifestCache
from inference.stores import files
from inference.stores.base import ManifestUnavailableError
from inference.stores.files import COMPLETE_MARKER, FileStamp, is_complete, mark_complete
from inference.stores.local import LocalStore, efs_store, image_store


def lay_out(root: Path, fakes: list[Any], store_tools: Any) -> None:
    """Copy fake models into a store root (real files: the tests damage them) + manifest."""
    for fake in fakes:
        folder = root / fake.model.folder
        folder.mkdir(parents=True, exist_ok=True)
        for f in fake.model.files:
            (folder / f.name).write_bytes((fake.source / f.name).read_bytes())
    store_tools.write_manifest(root, {f.model.model_type: f.model for f in fakes})


@pytest.fixture
def sha256_calls(monkeypatch: Any) -> list[Path]:
    """The files the stores hash (the calls of ``files.sha256_of_file``), in order."""
    calls: list[Path] = []
    real = files.sha256_of_file

    def counting(path: Path) -> str:
        calls.append(Path(path))
        return real(path)

    monkeypatch.setattr(files, "sha256_of_file", counting)
    return calls


@pytest.fixture
def fake(fake_model_factory: Callable[..., Any]) -> Any:
    return fake_model_factory("nlpx", {"config.json": 700, "weights.bin": 50_000})


@pytest.mark.parametrize("factory", [efs_store, image_store])
def test_complete_files_are_served_in_place(
    factory: Callable[[Path], LocalStore], fake: Any, tmp_path: Path, store_tools: Any
) -> None:
    lay_out(tmp_path / "root", [fake], store_tools)
    store = factory(tmp_path / "root")
    assert store.read_manifest().models["nlpx"] == fake.model
    assert store.materialize(fake.model) == tmp_path / "root" / fake.model.folder  # no copy
    assert sorted(p.name for p in (tmp_path / "root").rglob("*") if p.is_file()) == [
        "config.json",
        "manifest.json",
        "weights.bin",
    ]


@pytest.mark.parametrize("factory", [efs_store, image_store])
@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        (
            lambda p: p.write_bytes(p.read_bytes()[:-10]),
            "incomplete or altered: 49990 bytes instead of 50000",
        ),
        (lambda p: p.unlink(), "file weights.bin is missing"),
    ],
)
def test_a_truncated_or_missing_file_gives_503_naming_the_model(
    factory: Callable[[Path], LocalStore],
    damage: Callable[[Path], Any],
    fragment: str,
    fake: Any,
    tmp_path: Path,
    store_tools: Any,
) -> None:
    lay_out(tmp_path / "root", [fake], store_tools)
    damage(tmp_path / "root" / fake.model.folder / "weights.bin")
    with pytest.raises(ModelUnavailableError) as caught:
        factory(tmp_path / "root").materialize(fake.model)
    assert (
        caught.value.status == 503 and "'nlpx'" in caught.value.message and fragment in caught.value.message
    )


def test_efs_hashes_unstamped_files_once_per_stamp_and_image_only_sizes(
    fake: Any, tmp_path: Path, store_tools: Any, sha256_calls: list[Path]
) -> None:
    lay_out(tmp_path / "root", [fake], store_tools)  # no marker: nothing vouches for the files
    weights = tmp_path / "root" / fake.model.folder / "weights.bin"
    weights.write_bytes(os.urandom(50_000))  # same size, other bytes
    with pytest.raises(ModelUnavailableError, match=r"weights.bin fails its sha256 checksum"):
        efs_store(tmp_path / "root").materialize(fake.model)
    sha256_calls.clear()
    assert image_store(tmp_path / "root").materialize(fake.model)  # build-time verified: sizes only
    assert sha256_calls == []

    weights.write_bytes((fake.source / "weights.bin").read_bytes())
    efs = efs_store(tmp_path / "root")
    efs.materialize(fake.model)
    sha256_calls.clear()
    efs.materialize(fake.model)  # hashed by this environment, stamps unchanged: not again
    assert sha256_calls == []
    weights.write_bytes(os.urandom(50_000))  # written since: its stamp moved, so it is hashed
    with pytest.raises(ModelUnavailableError, match=r"weights.bin fails its sha256 checksum"):
        efs.materialize(fake.model)
    weights.write_bytes(b"short")
    with pytest.raises(ModelUnavailableError, match=r"incomplete"):  # sizes are checked every time
        efs.materialize(fake.model)


def test_a_stamped_marker_spares_the_hash_until_a_file_is_written(
    fake: Any, tmp_path: Path, store_tools: Any, sha256_calls: list[Path]
) -> None:
    lay_out(tmp_path / "root", [fake], store_tools)
    folder = tmp_path / "root" / fake.model.folder
    mark_complete(folder, fake.model)  # what the seeder writes once the files verified
    efs_store(tmp_path / "root").materialize(fake.model)
    assert sha256_calls == []  # a new environment: the stamps vouch, nothing is hashed

    weights = folder / "weights.bin"
    weights.write_bytes(os.urandom(50_000))  # in place: same inode, same size
    with pytest.raises(ModelUnavailableError, match=r"weights.bin fails its sha256 checksum"):
        efs_store(tmp_path / "root").materialize(fake.model)
    replacement = folder / "replacement"
    replacement.write_bytes((fake.source / "weights.bin").read_bytes())
    replacement.replace(weights)  # the right bytes, in a new file: hashed, and they verify
    sha256_calls.clear()
    efs_store(tmp_path / "root").materialize(fake.model)
    assert [p.name for p in sha256_calls] == ["config.json", "weights.bin"]


@pytest.mark.parametrize("marker", ["digests only", "stamps no older than the marker"])
def test_a_marker_that_cannot_vouch_means_a_hash(
    marker: str, fake: Any, tmp_path: Path, store_tools: Any, sha256_calls: list[Path]
) -> None:
    lay_out(tmp_path / "root", [fake], store_tools)
    folder = tmp_path / "root" / fake.model.folder
    mark_complete(folder, fake.model)
    path = folder / COMPLETE_MARKER
    if marker == "digests only":  # written by an earlier version
        path.write_text(json.dumps({k: v for k, v in json.loads(path.read_text()).items() if k != "stamps"}))
    else:  # a coarse clock: a write in the same tick as the marker would not move the stamp
        newest = max(FileStamp.of(folder / f.name).ctime_ns for f in fake.model.files)
        os.utime(path, ns=(newest, newest))
    assert is_complete(folder, fake.model)
    efs_store(tmp_path / "root").materialize(fake.model)
    assert sorted(p.name for p in sha256_calls) == ["config.json", "weights.bin"]


def test_a_manifest_path_outside_the_root_is_refused(fake: Any, tmp_path: Path, store_tools: Any) -> None:
    from dataclasses import replace

    lay_out(tmp_path / "root", [fake], store_tools)
    escaping = replace(fake.model, folder="../../etc")
    with pytest.raises(ModelUnavailableError, match=r"invalid path"):
        efs_store(tmp_path / "root").materialize(escaping)


def test_a_missing_or_malformed_manifest_is_typed(tmp_path: Path) -> None:
    store = efs_store(tmp_path)
    with pytest.raises(ManifestUnavailableError):
        store.read_manifest()
    (tmp_path / "manifest.json").write_text("[]")
    with pytest.raises(ManifestUnavailableError, match=r"malformed manifest"):
        store.read_manifest()


def test_the_manifest_is_reread_after_its_ttl_and_a_failed_reread_keeps_the_last_one(
    fake_model_factory: Callable[..., Any], tmp_path: Path, store_tools: Any
) -> None:
    rev1 = fake_model_factory("nlpx", revision="r1")
    rev2 = fake_model_factory("nlpx", revision="r2")
    lay_out(tmp_path / "root", [rev1], store_tools)
    now = [100.0]
    manifests = ManifestCache(efs_store(tmp_path / "root"), ttl_seconds=30, clock=lambda: now[0])
    assert manifests.get().models["nlpx"].revision == "r1"

    lay_out(tmp_path / "root", [rev2], store_tools)  # publish a new revision
    now[0] += 29
    assert manifests.get().models["nlpx"].revision == "r1"  # within the TTL: not re-read
    now[0] += 2
    assert manifests.get().models["nlpx"].revision == "r2"
    assert manifests.reads == 2

    (tmp_path / "root" / "manifest.json").unlink()
    now[0] += 31
    assert manifests.get().models["nlpx"].revision == "r2"  # store unreadable: keep serving


def test_without_any_manifest_read_the_cache_raises(tmp_path: Path) -> None:
    with pytest.raises(ManifestUnavailableError):
        ManifestCache(efs_store(tmp_path), ttl_seconds=30).get()
