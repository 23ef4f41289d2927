"""SQuAD v1.1 scoring: the official normalisation, exact match and F1, and the dev set loader."""

from __future__ import annotations

import pytest

from harness.bench import squad
from harness.bench.squad import Question


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The  Quick, Brown fox!", "quick brown fox"),
        ("Denver Broncos", "denver broncos"),
        ("the Denver Broncos.", "denver broncos"),
        ("an apple a day", "apple day"),
        ("Theatre and anthem", "theatre and anthem"),  # articles only as whole words
        ("U.S.", "us"),
        ("1,000", "1000"),
        ("don't", "dont"),
        ("  \tspaced\n out  ", "spaced out"),
        ("1999\u20132000", "1999\u20132000"),  # the official set is string.punctuation: no en dash
        ("A", ""),
        ("", ""),
    ],
)
def test_normalize_answer_follows_the_official_script(text: str, expected: str) -> None:
    assert squad.normalize_answer(text) == expected


def test_exact_match_ignores_case_punctuation_and_articles() -> None:
    assert squad.exact_match("the Denver Broncos!", "Denver Broncos")
    assert squad.exact_match("Saint Bernadette Soubirous", "saint bernadette soubirous")
    assert not squad.exact_match("Denver", "Denver Broncos")


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("Denver Broncos", "Denver Broncos", 1.0),
        ("the cat sat", "cat sat on the mat", 2 * 1.0 * 0.5 / 1.5),  # precision 1, recall 1/2
        ("Denver Broncos team", "Denver Broncos", 0.8),  # precision 2/3, recall 1
        ("x x y", "x y y", 2 / 3),  # tokens count with multiplicity
        ("Paris", "London", 0.0),
        ("", "Paris", 0.0),
        ("", "", 0.0),  # v1.1: no common token, F1 0 (v2.0 gives 1 here)
        ("the", "a", 0.0),  # both normalise to nothing
    ],
)
def test_token_f1(prediction: str, reference: str, expected: float) -> None:
    assert squad.f1(prediction, reference) == pytest.approx(expected)


def test_empty_against_empty_is_an_exact_match_but_f1_zero() -> None:
    assert squad.exact_match("", "the")
    assert squad.f1("", "the") == 0.0


def test_best_over_references() -> None:
    references = ["Denver Broncos", "the Broncos", "Broncos"]
    assert squad.best_exact_match("Broncos", references)
    assert squad.best_f1("Denver", references) == pytest.approx(2 * 1 * 0.5 / 1.5)
    assert squad.best_f1("anything", []) == 0.0


def test_score_averages_in_percent_and_counts_missing_predictions_as_wrong() -> None:
    questions = [
        Question("q1", "?", "", ("Denver Broncos",)),
        Question("q2", "?", "", ("Carolina Panthers", "Panthers")),
        Question("q3", "?", "", ("Santa Clara",)),
        Question("q4", "?", "", ("gold",)),
    ]
    predictions = {"q1": "Denver Broncos", "q2": "the Carolina Panthers team", "q3": "Levi's Stadium"}
    result = squad.score(questions, predictions)
    assert result.count == 4
    assert result.exact_match == pytest.approx(25.0)
    # q1 1.0, q2 best of (precision 2/3, recall 1 -> 0.8) and (1/3, 1 -> 0.5), q3 0, q4 missing
    assert result.f1 == pytest.approx(100 * (1.0 + 0.8) / 4)
    assert squad.score([], {}).count == 0


def test_load_questions_in_file_order() -> None:
    first = squad.load_questions(3)
    assert first[0].id == "56be4db0acb8001400a502ec"
    assert first[0].question == "Which NFL team represented the AFC at Super Bowl 50?"
    assert first[0].answers == ("Denver Broncos",) * 3
    assert "Super Bowl 50" in first[0].context
    assert len(squad.load_questions(500)) == 500
    assert [q.id for q in squad.load_questions(500)[:3]] == [q.id for q in first]


def test_reference_scores_are_the_hf_cache_readme_figures() -> None:
    assert squad.reference_score("nlp1", 500) == (66.60, 72.60)
    assert squad.reference_score("nlp2", 500) == (52.40, 60.28)
    assert squad.reference_score("nlp2", 20) is None
    assert squad.reference_score("nlp3", 500) is None
