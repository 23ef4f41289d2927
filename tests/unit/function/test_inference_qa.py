"""Span decoding with the real offline models: the README's answers, long contexts, edge cases."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from inference import qa

# ../shared/hf-cache/README.md, "Answers to check against".
README_ANSWERS = {
    "When was the car invented?": ("The year 1886", "1886"),
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
    encoding = qa.encode(model.tokenizer, "When was the car invented?", long_context)
    assert encoding["input_ids"].shape == (5, qa.MAX_LENGTH)
    answer = qa.answer(model, "When was the car invented?", long_context)
    assert answer.text == "1886"
    assert answer.start == long_context.index("1886") and answer.end == answer.start + 4
    assert answer.window == 4
    assert answer.start > int(encoding["offset_mapping"][0].max())  # beyond the first window


def test_a_question_too_long_for_the_windows_is_refused(loaded_models: dict[str, Any]) -> None:
    with pytest.raises(qa.UnanswerableInputError, match="tokens long"):
        qa.answer(loaded_models["nlp2"], "why " * (qa.MAX_QUESTION_TOKENS + 1), "Because.")


def test_a_context_without_readable_tokens_is_refused(loaded_models: dict[str, Any]) -> None:
    with pytest.raises(qa.UnanswerableInputError, match="no text"):
        qa.answer(loaded_models["nlp2"], "What?", "\u200b\u200b")


def test_the_loaded_model_is_float32_and_in_eval_mode(loaded_models: dict[str, Any]) -> None:
    model = loaded_models["nlp1"].model
    assert not model.training
    assert {p.dtype for p in model.parameters()} == {torch.float32}


# --- best_span on hand-made logits ---------------------------------------------------------------


def logits(values: list[list[float]]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_independent_argmaxes_with_end_before_start_do_not_give_an_empty_answer() -> None:
    # The sample took argmax(start)=3 and argmax(end)=1: an end before the start.
    start = logits([[0, 1, 2, 9, 0, 0]])
    end = logits([[0, 9, 0, 0, 5, 0]])
    mask = torch.tensor([[False, True, True, True, True, True]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.start, span.end) == (3, 4)
    assert span.logit_sum == pytest.approx(14.0)


def test_non_context_tokens_are_never_chosen() -> None:
    start = logits([[50, 1, 2, 0]])
    end = logits([[50, 0, 3, 0]])
    mask = torch.tensor([[False, True, True, False]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.start, span.end) == (2, 2)


def test_spans_longer_than_the_limit_are_invalid() -> None:
    start = logits([[9, 0, 0, 0, 0, 0, 1]])
    end = logits([[0, 0, 0, 0, 0, 0, 9]])
    mask = torch.ones(1, 7, dtype=torch.bool)
    span = qa.best_span(start, end, mask, max_answer_tokens=7)  # 0..6 is 7 tokens: allowed
    assert span is not None and (span.start, span.end) == (0, 6)
    span = qa.best_span(start, end, mask, max_answer_tokens=6)  # now too long
    assert span is not None and (span.start, span.end) != (0, 6)
    assert span.end < span.start + 6


def test_only_the_top_k_candidates_of_each_window_compete() -> None:
    # Token 0 has the 2nd best start but no valid end among the top-1 ends; token 3 wins with k=1.
    start = logits([[8, 0, 0, 9]])
    end = logits([[0, 0, 0, 9]])
    mask = torch.ones(1, 4, dtype=torch.bool)
    span = qa.best_span(start, end, mask, top_k=1)
    assert span is not None and (span.start, span.end) == (3, 3)


def test_the_best_window_wins_and_the_score_is_a_probability() -> None:
    start = logits([[0, 1, 1, 0], [0, 5, 1, 0]])
    end = logits([[0, 1, 1, 0], [0, 1, 6, 0]])
    mask = torch.tensor([[False, True, True, False], [False, True, True, False]])
    span = qa.best_span(start, end, mask)
    assert span is not None and (span.window, span.start, span.end) == (1, 1, 2)
    expected = torch.softmax(torch.tensor([5.0, 1.0]), 0)[0] * torch.softmax(torch.tensor([1.0, 6.0]), 0)[1]
    assert span.probability == pytest.approx(float(expected))


def test_no_context_tokens_means_no_span() -> None:
    start = logits([[1, 2]])
    assert qa.best_span(start, start, torch.zeros(1, 2, dtype=torch.bool)) is None
