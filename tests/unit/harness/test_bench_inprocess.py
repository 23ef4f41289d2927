"""In-process baselines with the real offline nlp2 model: accuracy, forward pass, old strategy."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.bench import inprocess, qa_adapter, squad

CAR_CONTEXT = (
    "Cars came into global use during the 20th century, and developed economies depend on them. "
    "The year 1886 is regarded as the birth year of the modern car when German inventor Karl Benz "
    "patented his Benz Patent-Motorwagen."
)


@pytest.fixture(scope="module")
def bench_folders() -> dict[str, Path]:
    return inprocess.model_folders("offline")


@pytest.fixture(scope="module")
def bench_nlp2(bench_folders: dict[str, Path]) -> qa_adapter.LoadedModel:
    return qa_adapter.load(bench_folders["nlp2"])


def test_model_folders_of_the_offline_catalog(bench_folders: dict[str, Path]) -> None:
    assert sorted(bench_folders) == ["nlp1", "nlp2"]
    assert bench_folders["nlp2"].name == "7b1d26e8fd7dfeba584d828213e5c65d51f52219"
    for folder in bench_folders.values():
        assert (folder / "model.safetensors").is_file()


def test_the_function_qa_code_is_the_backend() -> None:
    assert qa_adapter.backend_name() == "inference.qa"


@pytest.mark.slow
def test_inprocess_accuracy_on_the_first_20_questions(bench_nlp2: qa_adapter.LoadedModel) -> None:
    questions = squad.load_questions(20)
    ticks: list[int] = []
    run = inprocess.accuracy(bench_nlp2, questions, progress=lambda done, total: ticks.append(done))
    assert run.score.count == 20 and ticks[-1] == 20
    assert run.score.exact_match > 30  # 52.4 on the first 500 (hf-cache README)
    assert run.score.f1 >= run.score.exact_match
    # the reference decoder (the README's recipe, written independently) gives the same answers
    reference = qa_adapter.ReferenceBackend()
    for question in questions:
        expected = reference.answer(bench_nlp2, question.question, question.context).text
        assert run.predictions[question.id] == expected


def test_time_forward_measures_forward_and_answer(bench_nlp2: qa_adapter.LoadedModel) -> None:
    import torch

    before = torch.get_num_threads()
    timings = inprocess.time_forward(
        bench_nlp2, "When was the car invented?", CAR_CONTEXT, repeats=3, warmup=1, threads=1
    )
    assert len(timings.forward_ms) == 3 and len(timings.answer_ms) == 3
    assert all(t > 0 for t in timings.forward_ms + timings.answer_ms)
    assert timings.windows == 1 and timings.threads == 1
    assert torch.get_num_threads() == before
    assert qa_adapter.answer(bench_nlp2, "When was the car invented?", CAR_CONTEXT).text == "1886"


def test_the_old_sample_strategy_loads_in_every_invocation(bench_folders: dict[str, Path]) -> None:
    calls = inprocess.time_old_strategy(bench_folders["nlp2"], "When was the car invented?", CAR_CONTEXT, 2)
    assert len(calls) == 2
    assert calls[0].answer == "1886"  # rebuilt from tokens (lower-cased by the uncased model)
    assert all(c.load_ms > 0 and c.inference_ms > 0 for c in calls)
    assert calls[0].total_ms == pytest.approx(calls[0].load_ms + calls[0].inference_ms)


def test_model_pool_loads_once(bench_folders: dict[str, Path]) -> None:
    pool = inprocess.ModelPool({"nlp2": bench_folders["nlp2"]})
    first = pool.get("nlp2")
    assert pool.get("nlp2") is first
    assert pool.load_ms["nlp2"] > 0
