"""ONNX exports at publish time: layout, manifest, cache, new folder per setting, atomicity; the
catalog's engine field; and publish's warning for models the deployed image cannot run."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from inference.contract import Catalog, ContractError, Manifest

from harness import deploy
from harness.models import export
from harness.models.bundle import build_bundle
from harness.models.resolve import load_catalog

L3 = "local/minilm-l3-h384-squad"
L3_COMMIT = "7b1d26e8fd7dfeba584d828213e5c65d51f52219"


def one_model_catalog(tmp_path: Path, engine: str) -> Catalog:
    """nlp2 alone (the 3-layer model exports in seconds)."""
    path = tmp_path / f"one-{engine}.json"
    path.write_text(
        json.dumps({"models": {"nlp2": {"repo_id": L3, "revision": L3_COMMIT, "engine": engine}}})
    )
    return load_catalog(path)


def test_an_int8_export_is_bundled_with_its_engine_and_settings(models_hf_env: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    dest = tmp_path / "bundle"
    manifest = build_bundle(one_model_catalog(tmp_path, "onnx-int8"), dest, progress=lines.append)
    model = manifest.models["nlp2"]
    settings = export.EXPORT_SETTINGS["onnx-int8"]
    assert model.engine == "onnx-int8" and model.runtime == "onnxruntime"
    assert model.folder == f"models/local--minilm-l3-h384-squad/{L3_COMMIT}-onnx-int8-{settings.digest}"
    assert [f.name for f in model.files] == ["config.json", "model.onnx", "tokenizer.json"]
    assert model.export == settings.as_manifest()
    assert model.export["quantization"]["per_channel"] is True
    assert model.export["quantization"]["exclude_nodes"] == ["/qa_outputs/MatMul"]
    assert half_precision_tables(dest / model.folder / "model.onnx") == {
        "bert.embeddings.word_embeddings.weight.fp16": (30522, 384)
    }
    assert Manifest.from_json((dest / "manifest.json").read_text()) == manifest  # engine, export round-trip
    assert any("quantizing weights to int8" in line for line in lines)  # progress is shown
    assert not list(export.exports_dir().rglob(".*"))  # no staging folder left behind

    lines.clear()
    again = build_bundle(one_model_catalog(tmp_path, "onnx-int8"), dest, progress=lines.append)
    assert again == manifest
    assert not any(line.startswith("    export ") for line in lines), lines  # cached: nothing exported again
    assert "manifest unchanged" in lines[-1]


def test_a_changed_export_setting_publishes_a_new_folder(
    models_hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dest = tmp_path / "bundle"
    first = build_bundle(one_model_catalog(tmp_path, "onnx"), dest, progress=lambda _: None).models["nlp2"]
    changed = export.ExportSettings("onnx", opset=18)
    monkeypatch.setitem(export.EXPORT_SETTINGS, "onnx", changed)
    second = build_bundle(one_model_catalog(tmp_path, "onnx"), dest, progress=lambda _: None).models["nlp2"]
    assert second.folder != first.folder and second.folder.endswith(changed.digest)
    assert second.export["opset"] == 18
    assert not (dest / first.folder).exists()  # the old export is pruned once the manifest moved on
    assert (dest / second.folder / "model.onnx").is_file()


def test_a_failed_export_leaves_nothing_half_written(
    models_hf_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(export, "_quantize", broken)
    with pytest.raises(RuntimeError, match="quantizer crashed"):
        build_bundle(one_model_catalog(tmp_path, "onnx-int8"), tmp_path / "bundle", progress=lambda _: None)
    leftovers = [p for p in export.exports_dir().rglob("*") if p.is_file()]
    assert leftovers == []
    assert not (tmp_path / "bundle" / "manifest.json").exists()


def half_precision_tables(graph: Path) -> dict[str, tuple[int, ...]]:
    """fp16 initializers of a graph, each read by a Gather whose rows a Cast turns back to fp32."""
    import onnx

    model = onnx.load(str(graph))
    halves = {
        i.name: tuple(i.dims) for i in model.graph.initializer if i.data_type == onnx.TensorProto.FLOAT16
    }
    gathered = {n.output[0]: n.input[0] for n in model.graph.node if n.op_type == "Gather"}
    cast = {gathered[n.input[0]] for n in model.graph.node if n.op_type == "Cast" and n.input[0] in gathered}
    assert set(halves) <= cast, "an fp16 table is not cast back after its lookup"
    return halves


@pytest.mark.parametrize(
    ("recipe", "message"),
    [
        (export.Quantization(exclude_nodes=("/no/such/MatMul",)), "/no/such/MatMul"),
        (export.Quantization(fp16_tables_min_bytes=2**40), "halves Gather tables"),
    ],
)
def test_a_recipe_that_no_longer_fits_the_graph_is_refused(
    models_hf_env: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    recipe: export.Quantization,
    message: str,
) -> None:
    monkeypatch.setitem(
        export.EXPORT_SETTINGS, "onnx-int8", export.ExportSettings("onnx-int8", quantization=recipe)
    )
    with pytest.raises(export.ExportError, match=message):
        build_bundle(one_model_catalog(tmp_path, "onnx-int8"), tmp_path / "bundle", progress=lambda _: None)


def test_catalogs_name_their_engines_and_runtimes() -> None:
    assert load_catalog("offline").runtimes == {"torch"}
    assert load_catalog("offline-onnx").engines == {"onnx"}
    assert load_catalog("offline-int8").runtimes == {"onnxruntime"}
    assert set(load_catalog("offline-int8").models) == set(load_catalog("offline").models)
    with pytest.raises(ContractError, match="engine 'tensorrt' is not one of torch, onnx, onnx-int8"):
        Catalog.from_dict({"models": {"m": {"path": "/x", "engine": "tensorrt"}}}, name="bad")


def test_publish_warns_about_models_the_deployed_image_cannot_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = SimpleNamespace(state_dir=tmp_path, variant="s3")
    deploy._warn_missing_runtimes(stack, "offline-int8")  # nothing deployed yet: nothing to say
    assert capsys.readouterr().err == ""
    deploy._save_image_record(stack, "lambda-inference/function-torch:abc", frozenset({"torch"}))
    assert deploy.deployed_runtimes(stack) == {"torch"}
    deploy._warn_missing_runtimes(stack, "offline-int8")
    warned = capsys.readouterr().err.splitlines()
    assert len(warned) == 2 and all(line.startswith("warning: model 'nlp") for line in warned)
    assert "'onnx-int8' engine" in warned[0] and "CATALOG=offline-int8" in warned[0]
    deploy._warn_missing_runtimes(stack, "offline")
    assert capsys.readouterr().err == ""
