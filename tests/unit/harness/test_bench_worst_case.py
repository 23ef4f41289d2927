"""The worst accepted request the limits are sized with: at every limit, and one step over refused."""

from __future__ import annotations

import pytest
from inference import qa
from inference.config import RequestLimits
from inference.errors import PayloadTooLargeError

from harness.bench import worst_case


@pytest.fixture(scope="module")
def tokenizer() -> object:
    return qa.load_tokenizer(worst_case.nlp1_folder())


@pytest.mark.parametrize("limits", [RequestLimits(), RequestLimits(max_question_tokens=20, max_windows=5)])
def test_the_worst_case_sits_at_every_limit_and_one_more_window_is_refused(
    tokenizer: object, limits: RequestLimits
) -> None:
    case = worst_case.worst_accepted_request(tokenizer, limits)
    assert (case.windows, case.question_tokens) == (limits.max_windows, limits.max_question_tokens)
    with pytest.raises(PayloadTooLargeError, match="MAX_WINDOWS"):
        qa.encode(tokenizer, case.question, case.context + worst_case.CONTEXT_CHAR, limits)
