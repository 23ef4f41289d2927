"""The engines behind one interface: ONNX Runtime (fp32, int8) against torch on the real offline
models, the runtime registry, and a model whose engine the image lacks (503 naming both)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from inference import engines, qa
from inference.config import Settings
from inference.contract import ManifestModel, digest_file, model_folder
from inference.errors import ModelUnavailableError
from inference.service import InferenceService
from inference.stores.local import efs_store

from harness.example import CAR_QUESTION
from tests.unit.function.test_inference_qa import README_ANSWERS


@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_fp32_onnx_gives_torchs_answers_and_logits(
    loaded_models: dict[str, Any],
    onnx_models: dict[str, dict[str, Any]],
    car: tuple[str, str],
    model_type: str,
) -> None:
    context, _ = car
    torch_model, onnx_model = loaded_models[model_type], onnx_models["onnx"][model_type]
    for question in README_ANSWERS:
        expected, got = torch_model.answer(question, context), onnx_model.answer(question, context)
        assert (got.text, got.start, got.end, got.window) == (expected.text, expected.start, expected.end, 0)
        assert got.score == pytest.approx(expected.score, rel=1e-3)
    windows = qa.encode(onnx_model.tokenizer, CAR_QUESTION, context)
    torch_logits = qa.forward(torch_model.engine, windows)
    onnx_logits = qa.forward(onnx_model.engine, windows)
    for ours, theirs in zip(onnx_logits, torch_logits, strict=True):
        assert ours.dtype == np.float32 and ours.shape == theirs.shape == windows.input_ids.shape
        assert np.abs(ours - theirs)[windows.attention_mask == 1].max() < 1e-3


@pytest.mark.parametrize("engine", ["onnx", "onnx-int8"])
@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_the_readme_answers_hold_on_the_onnx_engines(
    onnx_models: dict[str, dict[str, Any]], car: tuple[str, str], engine: str, model_type: str
) -> None:
    context, _ = car
    model = onnx_models[engine][model_type]
    assert model.engine_name == engine
    for question, answers in README_ANSWERS.items():
        expected = answers[0 if model_type == "nlp1" else 1]
        got = model.answer(question, context)
        if engine == "onnx" or question == CAR_QUESTION:  # int8: the car question's year is exact too
            assert got.text == expected, question
        else:
            assert got.text, question
        assert context[got.start : got.end] == got.text


def test_windows_in_batches_give_the_logits_of_one_batch(onnx_models: dict[str, dict[str, Any]]) -> None:
    model = onnx_models["onnx"]["nlp2"]
    context = "The river winds slowly through the valley past the old mill. " * 800  # ~38 windows
    windows = qa.encode(model.tokenizer, "Where does the river wind?", context)
    assert windows.count > qa.WINDOWS_PER_BATCH
    start, end = qa.forward(model.engine, windows)
    assert start.shape == end.shape == windows.input_ids.shape
    one_start, _ = model.engine.forward(windows.inputs(model.engine.input_names, 0, 3))
    assert np.allclose(start[:3], one_start, atol=1e-4)


def test_int8_graph_is_smaller_and_keeps_the_qa_head_in_fp32(
    exported_folders: dict[str, dict[str, Path]],
) -> None:
    import onnx

    for model_type in ("nlp1", "nlp2"):
        fp32 = exported_folders["onnx"][model_type] / "model.onnx"
        int8 = exported_folders["onnx-int8"][model_type] / "model.onnx"
        assert int8.stat().st_size < 0.8 * fp32.stat().st_size
        nodes = onnx.load(str(int8), load_external_data=False).graph.node
        assert any(n.op_type in ("MatMulInteger", "DynamicQuantizeMatMul") for n in nodes)
        assert any(n.name == "/qa_outputs/MatMul" and n.op_type == "MatMul" for n in nodes)
        assert {p.name for p in exported_folders["onnx-int8"][model_type].iterdir()} == {
            "model.onnx",
            "tokenizer.json",
            "config.json",
        }


def test_the_onnx_runtime_imports_neither_torch_nor_transformers() -> None:
    code = (
        "import sys, inference.engines.onnx_runtime, inference.qa; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers')); "
        "assert not heavy, heavy"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_sessions_do_not_spin_between_requests() -> None:
    from inference.engines import onnx_runtime

    options = onnx_runtime.session_options(2)
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert options.intra_op_num_threads == 2 and options.inter_op_num_threads == 1


def test_the_registry_finds_installed_runtimes_without_importing_them() -> None:
    assert set(engines.installed_runtimes()) == {"torch", "onnxruntime"}  # the dev venv has both
    code = (
        "import sys; from inference import engines; engines.installed_runtimes(); "
        "assert 'torch' not in sys.modules and 'onnxruntime' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_runtime_the_image_lacks_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engines, "installed_runtimes", lambda: ("onnxruntime",))
    with pytest.raises(engines.RuntimeMissingError, match=r"does not include torch \(it has: onnxruntime\)"):
        engines.import_runtime("torch")


def one_model_service(
    root: Path, exported: dict[str, dict[str, Path]], store_tools: Any, engine: str, eager: bool = False
) -> InferenceService:
    """An EFS-style store at ``root`` holding nlp2's export for ``engine``, and a service over it."""
    source = exported[engine]["nlp2"]
    files = tuple(digest_file(p) for p in sorted(source.iterdir()))
    folder = model_folder("local/minilm-l3-h384-squad", "r1", f"{engine}-x")
    model = ManifestModel(
        "nlp2",
        "local/minilm-l3-h384-squad",
        "r1",
        folder,
        files,
        eager=eager,
        engine=engine,
        export={"opset": 17},
    )
    store_tools.link_model(root, model, source)
    store_tools.write_manifest(root, {"nlp2": model})
    return InferenceService(
        Settings.from_env({"MODEL_STORE": "efs", "MODEL_ROOT": str(root)}), efs_store(root)
    )


def test_a_model_whose_engine_the_image_lacks_answers_503_naming_model_and_engine(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    exported_folders: dict[str, dict[str, Path]],
    store_tools: Any,
) -> None:
    service = one_model_service(tmp_path, exported_folders, store_tools, "onnx-int8")
    monkeypatch.setattr(engines, "installed_runtimes", lambda: ("torch",))
    with pytest.raises(ModelUnavailableError) as raised:
        service.get_model(service.manifest_model("nlp2"))
    message = raised.value.message
    assert (
        "'nlp2'" in message
        and "'onnx-int8'" in message
        and "onnxruntime" in message
        and "(it has: torch)" in message
    )
    assert service.cache.keys() == []  # nothing was fetched or loaded for it
    monkeypatch.undo()
    loaded = service.get_model(service.manifest_model("nlp2"))  # the same manifest, with the runtime
    assert loaded.handle.engine_name == "onnx-int8"
    assert service.list_models()["models"]["nlp2"]["engine"] == "onnx-int8"


def test_init_fetches_no_eager_model_whose_engine_the_image_lacks(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    exported_folders: dict[str, dict[str, Path]],
    store_tools: Any,
) -> None:
    from inference.service import InitReport

    service = one_model_service(tmp_path, exported_folders, store_tools, "onnx", eager=True)
    fetched: list[str] = []
    monkeypatch.setattr(service.store, "materialize", lambda m: fetched.append(m.model_type))
    monkeypatch.setattr(engines, "installed_runtimes", lambda: ("torch",))
    [prefetched] = service.prefetch_eager(InitReport())
    assert isinstance(prefetched.error, engines.RuntimeMissingError) and "'onnx'" in str(prefetched.error)
    assert fetched == []
