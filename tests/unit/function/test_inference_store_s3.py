"""The S3 store against a real moto server: download, verification, reuse, failures, eviction."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from inference.errors import ModelUnavailableError
from inference.stores.base import ManifestUnavailableError
from inference.stores.files import COMPLETE_MARKER, PART_TAG, tree_bytes
from inference.stores.s3 import S3Store, TransferSettings, botocore_s3_client, object_key, s3_client
from inference.stores.s3_reader import S3Reader

KB = 1024
PREFIX = "catalogs/test"


def small_parts() -> TransferSettings:
    """64 KiB parts, so a 300 KB file is fetched as several concurrent ranged GETs."""
    return TransferSettings(threshold=64 * KB, part_size=64 * KB, concurrency=4)


CLIENTS = {"reader": s3_client, "botocore": botocore_s3_client}
_client_factory = s3_client


@pytest.fixture(autouse=True, params=sorted(CLIENTS))
def client_kind(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test runs with the function's S3 reader (what Lambda's environment gets) and with
    the botocore client it falls back to; both answer ``get_object`` alike."""
    global _client_factory
    _client_factory = CLIENTS[request.param]
    client = _client_factory()
    assert isinstance(client, S3Reader) == (request.param == "reader")
    yield request.param
    _client_factory = s3_client


def make_store(bucket: str, cache: Path, **kwargs: Any) -> S3Store:
    """A store with its own client (tests wrap its calls), as a fresh environment would have."""
    return S3Store(bucket, PREFIX, cache, client=_client_factory(), transfer=small_parts(), **kwargs)


def intercept_gets(store: S3Store, before: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    """Call ``before(params)`` ahead of each of the store client's GetObject calls (it may raise,
    as a network failure would); returns the function that removes the hook."""
    client = store.client
    original = client.get_object

    def get_object(**params: Any) -> Any:
        before(params)
        return original(**params)

    client.get_object = get_object

    def remove() -> None:
        client.get_object = original

    return remove


def record_gets(store: S3Store) -> list[dict[str, Any]]:
    """Every GetObject the store's client makes, with its parameters."""
    calls: list[dict[str, Any]] = []
    intercept_gets(store, lambda params: calls.append({"op": "GetObject", **params}))
    return calls


def all_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def weights_model(fake_model_factory: Callable[..., Any]) -> Any:
    return fake_model_factory("nlpx", {"config.json": 700, "weights.bin": 300 * KB, "vocab.txt": 5 * KB})


def test_a_model_is_downloaded_with_ranged_gets_verified_and_marked_complete(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path
) -> None:
    publish(bucket, PREFIX, [weights_model])
    store = make_store(bucket, tmp_path / "cache")
    calls = record_gets(store)
    folder = store.materialize(weights_model.model)
    assert folder == tmp_path / "cache" / weights_model.model.folder
    for f in weights_model.model.files:
        assert (folder / f.name).read_bytes() == (weights_model.source / f.name).read_bytes()
    assert (folder / COMPLETE_MARKER).is_file()
    assert not [p for p in all_files(tmp_path / "cache") if PART_TAG in p]
    ranges = [c["Range"] for c in calls if c["op"] == "GetObject" and c["Key"].endswith("weights.bin")]
    assert len(ranges) == 5 and all(r.startswith("bytes=") for r in ranges)  # 300 KB in 64 KiB parts


def test_a_complete_folder_is_reused_by_the_next_load_and_after_a_cold_start(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path
) -> None:
    publish(bucket, PREFIX, [weights_model])
    make_store(bucket, tmp_path / "cache").materialize(weights_model.model)
    again = make_store(bucket, tmp_path / "cache")  # a new environment that finds /tmp intact
    calls = record_gets(again)
    assert again.materialize(weights_model.model) == tmp_path / "cache" / weights_model.model.folder
    assert again.materialize(weights_model.model)
    assert calls == []


def test_verified_files_without_the_marker_are_rehashed_not_downloaded(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path
) -> None:
    publish(bucket, PREFIX, [weights_model])
    folder = make_store(bucket, tmp_path / "cache").materialize(weights_model.model)
    (folder / COMPLETE_MARKER).unlink()  # e.g. killed after the renames, before the marker
    (folder / "vocab.txt").unlink()
    store = make_store(bucket, tmp_path / "cache")
    calls = record_gets(store)
    store.materialize(weights_model.model)
    assert {c["Key"].rsplit("/", 1)[1] for c in calls} == {"vocab.txt"}
    assert (folder / COMPLETE_MARKER).is_file()


def test_an_interrupted_download_leaves_nothing_behind_and_a_retry_succeeds(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path
) -> None:
    publish(bucket, PREFIX, [weights_model])
    store = make_store(bucket, tmp_path / "cache")
    ranged: list[str] = []

    def cut_the_network(params: dict[str, Any]) -> None:
        if "Range" in params:
            ranged.append(params["Range"])
            if len(ranged) >= 3:  # two parts are written; the network stays down (retries exhaust)
                raise ConnectionAbortedError("connection cut mid-transfer")

    network_back = intercept_gets(store, cut_the_network)
    with pytest.raises(ModelUnavailableError) as caught:
        store.materialize(weights_model.model)
    assert caught.value.status == 503
    assert "'nlpx'" in caught.value.message and "weights.bin could not be downloaded" in caught.value.message
    assert all_files(tmp_path / "cache") == []  # no temp file, no final name, no marker

    network_back()
    folder = store.materialize(weights_model.model)
    assert (folder / "weights.bin").read_bytes() == (weights_model.source / "weights.bin").read_bytes()


def test_a_corrupt_object_gives_503_and_is_not_kept(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path, s3: Any
) -> None:
    publish(bucket, PREFIX, [weights_model])
    key = object_key(PREFIX, f"{weights_model.model.folder}/weights.bin")
    s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(300 * KB))  # same size, other bytes
    store = make_store(bucket, tmp_path / "cache")
    with pytest.raises(ModelUnavailableError) as caught:
        store.materialize(weights_model.model)
    assert caught.value.status == 503
    assert caught.value.message == "model 'nlpx' is unavailable: file weights.bin fails its sha256 checksum"
    left = all_files(tmp_path / "cache")
    assert not [p for p in left if "weights.bin" in p or PART_TAG in p or COMPLETE_MARKER in p]


def test_a_missing_object_gives_503_naming_the_file(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path, s3: Any
) -> None:
    publish(bucket, PREFIX, [weights_model])
    s3.delete_object(Bucket=bucket, Key=object_key(PREFIX, f"{weights_model.model.folder}/config.json"))
    store = make_store(bucket, tmp_path / "cache")
    with pytest.raises(ModelUnavailableError, match=r"file config.json is missing from the store"):
        store.materialize(weights_model.model)
    assert not [p for p in all_files(tmp_path / "cache") if PART_TAG in p or COMPLETE_MARKER in p]


def test_partial_files_of_a_killed_process_are_swept_at_start(tmp_path: Path, bucket: str) -> None:
    folder = tmp_path / "cache" / "models" / "m" / "r1"
    folder.mkdir(parents=True)
    (folder / "weights.bin.part-0123456789ab").write_bytes(b"half")
    (folder / "weights.bin.part-0123456789ab.AbCd1234").write_bytes(b"s3transfer's own temp")
    (folder / "config.json").write_text("{}")
    make_store(bucket, tmp_path / "cache")
    assert all_files(tmp_path / "cache") == ["models/m/r1/config.json"]


def test_the_manifest_is_read_from_the_prefix_and_failures_are_typed(
    bucket: str, publish: Any, weights_model: Any, tmp_path: Path, s3: Any
) -> None:
    store = make_store(bucket, tmp_path / "cache")
    with pytest.raises(ManifestUnavailableError, match=r"manifest.json"):
        store.read_manifest()
    manifest = publish(bucket, PREFIX, [weights_model])
    assert store.read_manifest() == manifest
    s3.put_object(Bucket=bucket, Key=object_key(PREFIX, "manifest.json"), Body=b'{"format": 99}')
    with pytest.raises(ManifestUnavailableError, match=r"unsupported manifest format"):
        store.read_manifest()


@pytest.fixture
def room_for_two(
    bucket: str, publish: Any, fake_model_factory: Callable[..., Any], tmp_path: Path
) -> tuple[S3Store, Any, Any, Any]:
    """Three published models of about 400 KB and a store whose /tmp holds two of them."""
    sizes = {"config.json": 700, "weights.bin": 400 * KB}
    a, b, c = (fake_model_factory(mt, sizes) for mt in ("ma", "mb", "mc"))
    publish(bucket, PREFIX, [a, b, c])
    return make_store(bucket, tmp_path / "cache", ephemeral_storage_mb=1), a, b, c


def test_least_recently_used_folders_are_evicted_when_ephemeral_storage_would_overflow(
    room_for_two: tuple[S3Store, Any, Any, Any], tmp_path: Path
) -> None:
    store, a, b, c = room_for_two
    limit = store.cache_limit()
    for fake in (a, b, a, c):  # a is used again after b, so b is the least recently used
        store.materialize(fake.model)
        assert tree_bytes(tmp_path / "cache") <= limit
        time.sleep(0.02)  # file timestamps are coarse
    kept = {f.path.relative_to(tmp_path / "cache").as_posix() for f in store.cached_folders()}
    assert kept == {a.model.folder, c.model.folder}


def test_a_model_leaving_memory_counts_as_just_used_so_its_folder_is_not_the_first_to_go(
    room_for_two: tuple[S3Store, Any, Any, Any], tmp_path: Path
) -> None:
    store, a, b, c = room_for_two
    store.materialize(a.model)
    store.loaded(a.model)  # a answers from memory from now on: its marker is never touched
    time.sleep(0.02)
    store.materialize(b.model)  # loaded and unloaded again since: not in memory
    time.sleep(0.02)
    store.unloaded(a.model)  # a leaves memory after serving requests all along
    store.materialize(c.model)
    kept = {f.path.relative_to(tmp_path / "cache").as_posix() for f in store.cached_folders()}
    assert kept == {a.model.folder, c.model.folder}  # b went, the least recently used


def test_a_model_larger_than_ephemeral_storage_is_refused_without_evicting(
    bucket: str, publish: Any, fake_model_factory: Callable[..., Any], tmp_path: Path
) -> None:
    small = fake_model_factory("small", {"weights.bin": 100 * KB})
    huge = fake_model_factory("huge", {"weights.bin": 1100 * KB})
    publish(bucket, PREFIX, [small, huge])
    store = make_store(bucket, tmp_path / "cache", ephemeral_storage_mb=1)
    store.materialize(small.model)
    with pytest.raises(ModelUnavailableError, match=r"'huge' is unavailable: it needs 1.1 MiB of ephemeral"):
        store.materialize(huge.model)
    assert [f.path.name for f in store.cached_folders()] == ["r1"]  # small is still there
    assert not [p for p in all_files(tmp_path / "cache") if "huge" in p]


class DiskSpace(NamedTuple):
    total: int
    used: int
    free: int


def test_a_model_that_does_not_fit_in_what_tmp_has_left_is_refused_before_downloading(
    bucket: str, publish: Any, fake_model_factory: Callable[..., Any], tmp_path: Path, monkeypatch: Any
) -> None:
    """EPHEMERAL_STORAGE_MB says 512 MB, but other files filled /tmp: the disk's own free space
    bounds the cache too, so the model is refused (503 naming it) and nothing is written."""
    import inference.stores.s3 as s3_module

    fits = fake_model_factory("fits", {"weights.bin": 100 * KB})
    big = fake_model_factory("big", {"weights.bin": 900 * KB})
    publish(bucket, PREFIX, [fits, big])
    store = make_store(bucket, tmp_path / "cache", ephemeral_storage_mb=512)
    store.materialize(fits.model)
    total = 512 * 1024 * KB  # /tmp as the setting says, free only 300 KB beyond the headroom
    free = min(s3_module.MAX_HEADROOM, total // 10) + 300 * KB
    monkeypatch.setattr(s3_module.shutil, "disk_usage", lambda _path: DiskSpace(total, total - free, free))
    assert store.cache_limit() == tree_bytes(tmp_path / "cache") + 300 * KB
    with pytest.raises(ModelUnavailableError, match=r"'big' is unavailable: it needs 0.9 MiB of ephemeral"):
        store.materialize(big.model)
    assert not [p for p in all_files(tmp_path / "cache") if "big" in p]
    assert store.materialize(fits.model).is_dir()  # the cached model is still served
    store.loaded(fits.model)
    assert store.shortfall(big.model) == 0  # unloading "fits" could not make room: it stays loaded


def test_a_real_model_is_served_from_s3_and_a_cold_start_reuses_tmp(
    bucket: str,
    s3: Any,
    offline_models: dict[str, Any],
    snapshots: dict[str, Path],
    car: tuple[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inference.api import QARequest
    from inference.config import Settings
    from inference.contract import Manifest
    from inference.observability import metrics
    from inference.service import InferenceService
    from inference.stores import open_store

    model = offline_models["nlp2"]
    for f in model.files:
        key = object_key("prod", f"{model.folder}/{f.name}")
        s3.put_object(Bucket=bucket, Key=key, Body=(snapshots["nlp2"] / f.name).read_bytes())
    manifest = Manifest(models={"nlp2": model}, catalog="offline")
    s3.put_object(Bucket=bucket, Key="prod/manifest.json", Body=manifest.to_json().encode())
    for name, value in {
        "MODEL_STORE": "s3",
        "MODEL_BUCKET": bucket,
        "MODEL_PREFIX": "prod",
        "MODEL_CACHE_DIR": str(tmp_path / "cache"),
        "MODEL_MEMORY_BUDGET_MB": "512",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    context, question = car

    def ask(service: InferenceService) -> dict[str, Any]:
        try:
            return service.answer(QARequest("nlp2", question, context), "rid")
        finally:
            metrics.clear_metrics()

    first = ask(InferenceService(settings, open_store(settings)))
    assert first["answer"] == "1886" and first["timings_ms"]["fetch"] > 0 and first["timings_ms"]["load"] > 0

    cold = InferenceService(settings, open_store(settings))  # a new environment, /tmp intact
    calls = record_gets(cold.store)  # type: ignore[arg-type]
    second = ask(cold)
    assert second["answer"] == "1886"
    assert [c["Key"] for c in calls] == ["prod/manifest.json"]  # no model file fetched again


def test_a_loaded_models_folder_is_never_evicted_and_the_shortfall_says_what_to_unload(
    room_for_two: tuple[S3Store, Any, Any, Any], tmp_path: Path
) -> None:
    """A loaded torch model keeps its weights mapped: deleting its folder would free nothing, so
    the store keeps it and reports the bytes that only unloading can free."""
    store, a, b, c = room_for_two
    for fake in (a, b):
        store.materialize(fake.model)
        store.loaded(fake.model)
        time.sleep(0.02)
    assert store.shortfall(a.model) == 0  # already there
    missing = store.shortfall(c.model)
    assert 0 < missing <= c.model.size  # both folders are held by loaded models
    with pytest.raises(ModelUnavailableError, match="lower its model memory budget"):
        store.materialize(c.model)
    assert {f.path.name for f in store.cached_folders()} == {"r1"} and len(store.cached_folders()) == 2

    store.unloaded(a.model)  # a left memory: its folder may go now, though b is less recent
    assert store.shortfall(c.model) == 0
    store.materialize(c.model)
    kept = {f.path.relative_to(tmp_path / "cache").as_posix() for f in store.cached_folders()}
    assert kept == {b.model.folder, c.model.folder}
    usage = store.disk_usage()
    assert usage.used_bytes <= usage.peak_bytes <= usage.budget_bytes == store.cache_limit()
