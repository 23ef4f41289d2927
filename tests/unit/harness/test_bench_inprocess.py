"""In-process baselines with the real offline nlp2 model on torch and on the ONNX engines: the
function's own code (inference.qa + inference.engines), accuracy, parity, forward timings with
the function's threads, the old strategy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.bench import inprocess, qa_adapter, squad

CAR_QUESTION = "When was the car invented?"
CAR_CONTEXT = (
    "Cars came into global use during the 20th century, and developed economies depend on them. "
    "The year 1886 is regarded as the birth year of the modern car when German inventor Karl Benz "
    "patented his Benz Patent-Motorwagen."
)
NLP2 = ("local/minilm-l3-h384-squad", "7b1d26e8fd7dfeba584d828213e5c65d51f52219")


@pytest.fixture(scope="module")
def bench_folders() -> dict[str, Path]:
    return inprocess.model_folders("offline")


@pytest.fixture(scope="module")
def bench_catalogs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, inprocess.CatalogModels]:
    """nlp2 alone on each engine, as bundles built by the harness (ONNX exported) in a private state."""
    root = tmp_path_factory.mktemp("bench-catalogs")
    infos: dict[str, inprocess.CatalogModels] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LAMBDA_INFERENCE_STATE", str(root / "state"))
        for name, engine in (("nlp2-torch", "torch"), ("nlp2-onnx", "onnx"), ("nlp2-int8", "onnx-int8")):
            path = root / f"{name}.json"
            spec = {"repo_id": NLP2[0], "revision": NLP2[1], "engine": engine, "eager": True}
            path.write_text(json.dumps({"models": {"nlp2": spec}}))
            infos[name] = inprocess.catalog_models(str(path))
    return infos


@pytest.fixture(scope="module")
def bench_pool(bench_catalogs: dict[str, inprocess.CatalogModels]) -> inprocess.ModelPool:
    return inprocess.ModelPool(bench_catalogs)


def test_model_folders_of_the_offline_catalog(bench_folders: dict[str, Path]) -> None:
    assert sorted(bench_folders) == ["nlp1", "nlp2"]
    assert bench_folders["nlp2"].name == NLP2[1]
    for folder in bench_folders.values():
        assert (folder / "model.safetensors").is_file()


def test_catalog_models_come_from_the_bundle_with_their_engine(
    bench_catalogs: dict[str, inprocess.CatalogModels],
) -> None:
    torch, onnx, int8 = (bench_catalogs[n] for n in ("nlp2-torch", "nlp2-onnx", "nlp2-int8"))
    assert (torch.engine, onnx.engine, int8.engine) == ("torch", "onnx", "onnx-int8")
    assert torch.runtimes == ("torch",) and int8.runtimes == ("onnxruntime",)
    assert (torch.folders["nlp2"] / "model.safetensors").is_file()
    for info in (onnx, int8):
        folder = info.folders["nlp2"]
        assert info.bundle is not None and folder.is_relative_to(info.bundle)
        assert (folder / "model.onnx").is_file() and (folder / "tokenizer.json").is_file()
        assert not (folder / "model.safetensors").exists()
    assert onnx.folders["nlp2"] != int8.folders["nlp2"]
    assert int8.info().engines == {"nlp2": "onnx-int8"}
    assert int8.name.endswith("nlp2-int8.json")  # as given: what deploy takes
    assert int8.bundle is not None and int8.bundle.name == "nlp2-int8"  # named as deploy names it


@pytest.mark.parametrize("name", ["nlp2-torch", "nlp2-onnx", "nlp2-int8"])
def test_every_engine_answers_with_the_function_code(bench_pool: inprocess.ModelPool, name: str) -> None:
    model = bench_pool.get(name, "nlp2")
    assert isinstance(model, qa_adapter.QAModel)
    assert model.engine_name == bench_pool.engine(name, "nlp2")
    got = qa_adapter.answer(model, CAR_QUESTION, CAR_CONTEXT)
    assert got.text == "1886"
    assert CAR_CONTEXT[got.start : got.end] == got.text  # sliced from the context, never rebuilt


def test_an_input_the_endpoint_answers_400_for_is_an_empty_answer(bench_pool: inprocess.ModelPool) -> None:
    model = bench_pool.get("nlp2-int8", "nlp2")
    too_long = " ".join(["why"] * 200) + "?"  # over the function's 128-token question limit
    assert qa_adapter.answer(model, too_long, CAR_CONTEXT) == qa_adapter.UNANSWERED


@pytest.mark.slow
def test_inprocess_accuracy_and_parity_on_the_first_20_questions(bench_pool: inprocess.ModelPool) -> None:
    questions = squad.load_questions(20)
    ticks: list[int] = []
    runs = {
        name: inprocess.accuracy(
            bench_pool.get(name, "nlp2"), questions, progress=lambda done, total: ticks.append(done)
        )
        for name in ("nlp2-torch", "nlp2-onnx", "nlp2-int8")
    }
    torch = runs["nlp2-torch"]
    assert torch.score.count == 20 and ticks.count(20) == 3
    assert torch.score.exact_match > 30  # 52.4 on the first 500 (hf-cache README)
    assert torch.score.f1 >= torch.score.exact_match
    fp32 = inprocess.parity(questions, runs["nlp2-onnx"], torch, "onnx", "torch")
    assert fp32.count == 20 and fp32.identical >= 19  # fp32 ONNX gives torch's answers
    assert fp32.identical_share == fp32.identical / 20
    int8 = inprocess.parity(questions, runs["nlp2-int8"], torch, "onnx-int8", "torch")
    assert int8.f1_delta == pytest.approx(runs["nlp2-int8"].score.f1 - torch.score.f1)
    assert len(int8.differing_ids) == 20 - int8.identical


def test_parity_counts_differing_answers() -> None:
    questions = [
        squad.Question("a", "q", "c", ("1886",)),
        squad.Question("b", "q", "c", ("Karl Benz",)),
    ]
    ours = inprocess.AccuracyRun(
        squad.score(questions, {"a": "1886", "b": "Benz"}), {"a": "1886", "b": "Benz"}, 0
    )
    theirs = inprocess.AccuracyRun(
        squad.score(questions, {"a": "1886", "b": "Karl Benz"}), {"a": "1886", "b": "Karl Benz"}, 0
    )
    result = inprocess.parity(questions, ours, theirs, "onnx-int8", "torch")
    assert (result.count, result.identical, result.differing_ids) == (2, 1, ("b",))
    assert result.exact_match_delta == pytest.approx(-50.0)
    assert result.f1_delta < 0
    assert result.to_json()["identical_share"] == 0.5


def test_time_forward_on_torch_sets_and_restores_threads(bench_pool: inprocess.ModelPool) -> None:
    import torch

    model = bench_pool.get("nlp2-torch", "nlp2")
    before = torch.get_num_threads()
    timings = inprocess.time_forward(model, CAR_QUESTION, CAR_CONTEXT, repeats=3, warmup=1, threads=1)
    assert len(timings.forward_ms) == 3 and len(timings.answer_ms) == 3
    assert all(t > 0 for t in timings.forward_ms + timings.answer_ms)
    assert timings.windows == 1 and timings.threads == 1
    assert torch.get_num_threads() == before


def test_an_onnx_timing_session_is_created_with_the_function_threads(bench_pool: inprocess.ModelPool) -> None:
    one = bench_pool.get("nlp2-int8", "nlp2", threads=1)
    two = bench_pool.get("nlp2-int8", "nlp2", threads=2)
    assert one is not two and bench_pool.get("nlp2-int8", "nlp2", threads=1) is one
    assert qa_adapter.threads_in_use(one) == 1 and qa_adapter.threads_in_use(two) == 2
    timings = inprocess.time_forward(one, CAR_QUESTION, CAR_CONTEXT, repeats=2, warmup=1, threads=1)
    assert timings.threads == 1 and timings.windows == 1
    # torch models are loaded once whatever the count: their threads are set per call
    assert bench_pool.get("nlp2-torch", "nlp2", threads=1) is bench_pool.get("nlp2-torch", "nlp2", threads=2)


def test_the_old_sample_strategy_loads_in_every_invocation(bench_folders: dict[str, Path]) -> None:
    calls = inprocess.time_old_strategy(bench_folders["nlp2"], CAR_QUESTION, CAR_CONTEXT, 2)
    assert len(calls) == 2
    assert calls[0].answer == "1886"  # rebuilt from tokens (lower-cased by the uncased model)
    assert all(c.load_ms > 0 and c.inference_ms > 0 for c in calls)
    assert calls[0].total_ms == pytest.approx(calls[0].load_ms + calls[0].inference_ms)


def test_model_pool_loads_once(bench_catalogs: dict[str, inprocess.CatalogModels]) -> None:
    pool = inprocess.ModelPool({"nlp2-torch": bench_catalogs["nlp2-torch"]})
    first = pool.get("nlp2-torch", "nlp2")
    assert pool.get("nlp2-torch", "nlp2") is first
    assert pool.load_ms["nlp2-torch"]["nlp2"] > 0


def test_engine_label_names_a_mixed_catalog() -> None:
    assert inprocess.engine_label({"nlp1": "onnx-int8", "nlp2": "onnx-int8"}) == "onnx-int8"
    assert inprocess.engine_label({"nlp1": "torch", "nlp2": "onnx"}) == "onnx+torch"
