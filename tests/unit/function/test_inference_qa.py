"""Windows and span decoding with the real offline models: the README's answers, long contexts,
edge cases; and the numpy decoder against the torch decoder it replaced, on recorded logits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from inference import qa
from inference.config import RequestLimits
from inference.errors import PayloadTooLargeError

from harness.example import CAR_QUESTION

RECORDED_LOGITS = Path(__file__).parent / "data" / "recorded_logits.npz"

# ../shared/hf-cache/README.md, "Answers to check against".
README_ANSWERS = {
    CAR_QUESTION: ("The year 1886", "1886"),
    "What was one of the first cars accessible to the masses?": ("1908 Model T", "1908 Model T"),
    "Where were cars rapidly adopted?": ("the US", "the US"),
    "What did cars replace in the US?": (
        "animal-drawn carriages and carts",
        "animal-drawn carriages and carts",
    ),
    "Where did cars take much longer to be accepted?": ("Western Europe", "Western Europe"),
}

FILLER = (
    "The river winds slowly through the valley, past meadows where sheep graze and farmers "
    "tend their orchards of apples and pears. Travellers often stop at the old stone bridge to "
    "watch the water and listen to the birds singing in the willow trees along the banks. "
)


@pytest.mark.parametrize("question", list(README_ANSWERS))
@pytest.mark.parametrize("model_type", ["nlp1", "nlp2"])
def test_the_readme_answers_are_reproduced_exactly(
    loaded_models: dict[str, Any], car: tuple[str, str], model_type: str, question: str
) -> None:
    context, _ = car
    expected = README_ANSWERS[question][0 if model_type == "nlp1" else 1]
    answer = qa.answer(loaded_models[model_type], question, context)
    assert answer.text == expected
    assert context[answer.start : answer.end] == expected  # sliced from the context, offsets exact
    assert 0.0 < answer.score <= 1.0


def test_an_answer_past_the_first_window_is_found(loaded_models: dict[str, Any]) -> None:
    fact = "The year 1886 is regarded as the birth year of the modern car when German inventor Karl Benz. "
    long_context = FILLER * 20 + fact + FILLER * 2  # the fact sits ~1,100 tokens in: window 4 of 5
    model = loaded_models["nlp1"]
    windows = qa.encode(model.tokenizer, CAR_QUESTION, long_context)
    assert windows.input_ids.shape == (5, qa.MAX_LENGTH)
    answer = qa.answer(model, CAR_QUESTION, long_context)
    assert answer.text == "1886"
    assert answer.start == long_context.index("1886") and answer.end == answer.start + 4
    assert answer.window == 4
    assert answer.start > int(windows.offsets[0][windows.context_mask[0]].max())  # beyond the first window


def test_windows_are_the_ones_transformers_makes(
    loaded_models: dict[str, Any], snapshots: dict[str, Path]
) -> None:
    """The tokenizers library on tokenizer.json gives transformers' windows, token for token."""
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(snapshots["nlp1"]), local_files_only=True)
    question, context = CAR_QUESTION, FILLER * 12 + "The year 1886. " + FILLER
    expected = reference(
        question,
        context,
        truncation="only_second",
        max_length=qa.MAX_LENGTH,
        stride=qa.STRIDE,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding="longest",
        return_tensors="np",
    )
    windows = qa.encode(loaded_models["nlp1"].tokenizer, question, context)
    assert windows.count == expected["input_ids"].shape[0] > 2
    for name in ("input_ids", "attention_mask", "token_type_ids"):
        assert (getattr(windows, name) == expected[name]).all(), name
    mask = np.array([[s == 1 for s in expected.sequence_ids(i)] for i in range(windows.count)])
    assert (windows.context_mask == mask).all()
    assert (windows.offsets[mask] == expected["offset_mapping"][mask]).all()
    assert windows.question_tokens == len(reference(question, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    ("tokens", "length"),
    [(129, "129 tokens"), (260, "260 tokens"), (380, "380 tokens"), (400, "more than 384 tokens")],
    ids=["over-the-limit", "stride-panic-range", "stride-panic-range-end", "over-a-window"],
)
@pytest.mark.parametrize("context", ["Because.", "! " * 1000], ids=["short-context", "long-context"])
def test_a_question_over_the_token_limit_is_413_naming_the_setting(
    loaded_models: dict[str, Any], tokens: int, length: str, context: str
) -> None:
    """With a long context, 253 to 380 question tokens made the tokenizer panic (a BaseException)."""
    refused = rf"question is {length} long; the limit is 128 \(MAX_QUESTION_TOKENS\)"
    with pytest.raises(PayloadTooLargeError, match=refused):
        qa.answer(loaded_models["nlp2"], "why " * tokens, context)
    assert qa.encode(loaded_models["nlp2"].tokenizer, "why " * 128, "Because.").question_tokens == 128


def test_windows_over_the_limit_are_413_before_any_forward_pass(loaded_models: dict[str, Any]) -> None:
    class NoForward:
        input_names = qa.INPUT_NAMES

        def forward(self, inputs: Any) -> Any:
            raise AssertionError("a refused request must not reach the engine")

    model = loaded_models["nlp1"]
    refusing = qa.QAModel(model.folder, "torch", model.tokenizer, NoForward())
    context = FILLER * 20
    at_the_limit = qa.encode(model.tokenizer, "Why?", context, RequestLimits(max_windows=4))
    assert at_the_limit.count == 4
    refused = r"make 4 windows of 384 tokens; the limit is 3 \(MAX_WINDOWS\)"
    with pytest.raises(PayloadTooLargeError, match=refused):
        refusing.answer("Why?", context, RequestLimits(max_windows=3))


def test_a_lone_surrogate_reaching_the_tokenizer_is_unanswerable_not_a_crash(
    loaded_models: dict[str, Any],
) -> None:
    for question, context in (("Why\ud800?", "Because."), ("Why?", "Be\udfffcause.")):
        with pytest.raises(qa.UnanswerableInputError):
            qa.answer(loaded_models["nlp2"], question, context)


def test_a_context_without_readable_tokens_is_refused(loaded_models: dict[str, Any]) -> None:
    with pytest.raises(qa.UnanswerableInputError, match="no text"):
        qa.answer(loaded_models["nlp2"], "What?", "\u200b\u200b")


def test_the_loaded_model_is_float32_and_in_eval_mode(loaded_models: dict[str, Any]) -> None:
    model = loaded_models["nlp1"].engine.model
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.float32}


# --- best_span on hand-made logits ---------------------------------------------------------------


def logits(values: list[list[float]]) -> np.ndarray:
    return np.array(values, dtype=np.float32)


def test_independent_argmaxes_with_end_before_start_do_not_give_an_empty_answer() -> None:
    # The sample took argmax(start)=3 and argmax(end)=1: an end before the start.
    start = logits([[0, 1, 2, 9, 0, 0]])
    end = logits([[0, 9, 0, 0, 5, 0]])
    mask = np.array([[False, True, True, True, True, True]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.start, span.end) == (3, 4)
    assert span.logit_sum == pytest.approx(14.0)


def test_non_context_tokens_are_never_chosen() -> None:
    start = logits([[50, 1, 2, 0]])
    end = logits([[50, 0, 3, 0]])
    mask = np.array([[False, True, True, False]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.start, span.end) == (2, 2)


def test_spans_longer_than_the_limit_are_invalid() -> None:
    start = logits([[9, 0, 0, 0, 0, 0, 1]])
    end = logits([[0, 0, 0, 0, 0, 0, 9]])
    mask = np.ones((1, 7), dtype=bool)
    span = qa.best_span(start, end, mask, max_answer_tokens=7)  # 0..6 is 7 tokens: allowed
    assert span is not None and (span.start, span.end) == (0, 6)
    span = qa.best_span(start, end, mask, max_answer_tokens=6)  # now too long
    assert span is not None and (span.start, span.end) != (0, 6)
    assert span.end < span.start + 6


def test_only_the_top_k_candidates_of_each_window_compete() -> None:
    # Token 0 has the 2nd best start but no valid end among the top-1 ends; token 3 wins with k=1.
    start = logits([[8, 0, 0, 9]])
    end = logits([[0, 0, 0, 9]])
    mask = np.ones((1, 4), dtype=bool)
    span = qa.best_span(start, end, mask, top_k=1)
    assert span is not None and (span.start, span.end) == (3, 3)


def test_the_best_window_wins_and_the_score_is_a_probability() -> None:
    start = logits([[0, 1, 1, 0], [0, 5, 1, 0]])
    end = logits([[0, 1, 1, 0], [0, 1, 6, 0]])
    mask = np.array([[False, True, True, False], [False, True, True, False]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.window, span.start, span.end) == (1, 1, 2)
    expected = torch.softmax(torch.tensor([5.0, 1.0]), 0)[0] * torch.softmax(torch.tensor([1.0, 6.0]), 0)[1]
    assert span.probability == pytest.approx(float(expected))


def test_no_context_tokens_means_no_span() -> None:
    start = logits([[1, 2]])
    assert qa.best_span(start, start, np.zeros((1, 2), dtype=bool)) is None


# --- the numpy decoder against the torch decoder it replaced ------------------------------------


def torch_best_span(
    start_logits: torch.Tensor, end_logits: torch.Tensor, mask: torch.Tensor, top_k: int = qa.TOP_K
) -> tuple[int, int, int, float, float] | None:
    """The project's torch decoder before the ONNX engine (inference/qa.py at e8c3188), verbatim
    in its arithmetic: the reference the numpy decoder must agree with."""
    neg_inf = torch.tensor(float("-inf"), dtype=start_logits.dtype)
    starts = torch.where(mask, start_logits, neg_inf)
    ends = torch.where(mask, end_logits, neg_inf)
    k = min(top_k, starts.shape[1])
    start_values, start_index = torch.topk(starts, k, dim=1)
    end_values, end_index = torch.topk(ends, k, dim=1)
    sums = start_values[:, :, None] + end_values[:, None, :]
    s_idx, e_idx = start_index[:, :, None], end_index[:, None, :]
    valid = (s_idx <= e_idx) & (e_idx < s_idx + qa.MAX_ANSWER_TOKENS) & torch.isfinite(sums)
    sums = torch.where(valid, sums, neg_inf)
    flat = sums.reshape(-1)
    if flat.numel() == 0 or not bool(torch.isfinite(flat.max())):
        return None
    best = float(flat.max())
    candidates = [
        (w, int(start_index[w, i]), int(end_index[w, j])) for w, i, j in torch.nonzero(sums == best).tolist()
    ]
    window, start, end = min(candidates)
    probability = float(torch.softmax(starts[window], 0)[start] * torch.softmax(ends[window], 0)[end])
    return window, start, end, best, probability


def recorded_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Logits of the real nlp1 and nlp2 on SQuAD dev questions (one to five windows each),
    recorded once by tests/unit/function/data/record_logits.py."""
    data = np.load(RECORDED_LOGITS)
    names = sorted({key.rsplit("/", 1)[0] for key in data.files})
    return [(name, data[f"{name}/start"], data[f"{name}/end"], data[f"{name}/mask"]) for name in names]


def test_the_recording_holds_real_multi_window_cases() -> None:
    cases = recorded_cases()
    assert len(cases) >= 40
    assert max(start.shape[0] for _name, start, _end, _mask in cases) >= 3


@pytest.mark.parametrize(
    ("name", "start", "end", "mask"), recorded_cases(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_numpy_decoder_equals_the_torch_decoder_on_recorded_logits(
    name: str, start: np.ndarray, end: np.ndarray, mask: np.ndarray
) -> None:
    expected = torch_best_span(torch.from_numpy(start), torch.from_numpy(end), torch.from_numpy(mask))
    span = qa.best_span(start, end, mask)
    assert expected is not None and span is not None
    assert (span.window, span.start, span.end) == expected[:3]
    assert span.logit_sum == pytest.approx(expected[3], abs=1e-5)
    assert span.probability == pytest.approx(expected[4], rel=1e-4)


def test_numpy_decoder_equals_the_torch_decoder_on_random_and_tied_logits() -> None:
    rng = np.random.default_rng(7)
    for case in range(200):
        windows, tokens = int(rng.integers(1, 4)), int(rng.integers(2, 60))
        # Coarse values make ties common: the tie-break (earliest window, then start) is tested too.
        start = rng.integers(-3, 4, size=(windows, tokens)).astype(np.float32)
        end = rng.integers(-3, 4, size=(windows, tokens)).astype(np.float32)
        mask = rng.random((windows, tokens)) < 0.8
        expected = torch_best_span(
            torch.from_numpy(start), torch.from_numpy(end), torch.from_numpy(mask), top_k=tokens
        )
        span = qa.best_span(
            start, end, mask, top_k=tokens
        )  # k = all tokens: topk's own tie order cannot matter
        if expected is None:
            assert span is None, case
            continue
        assert span is not None and (span.window, span.start, span.end) == expected[:3], case
