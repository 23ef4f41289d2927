"""SQuAD v1.1 dev questions and the official scoring (exact match and token F1).

The normalisation and the two metrics follow the official v1.1 evaluation script: lower case,
drop punctuation, drop the articles a/an/the, collapse whitespace; each question scores the best
over its reference answers; the scores are averaged over questions and given in percent.
One v1.1 quirk is kept on purpose: an empty prediction against an empty reference has EM 1 but
F1 0 (v2.0 changed that), so our figures stay comparable with published v1.1 numbers.
"""

from __future__ import annotations

import json
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench.jsonrecord import Record
from harness.paths import shared_dir

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
# Two EM/F1 figures "agree" within this many points: the endpoint with the in-process run of the
# same engine, and the in-process run with ../shared/hf-cache/README.md. Identical answers give 0.00.
ACCURACY_TOLERANCE = 0.5


@dataclass(frozen=True)
class Question:
    """One dev question with its paragraph and every reference answer text."""

    id: str
    question: str
    context: str
    answers: tuple[str, ...]


@dataclass(frozen=True)
class Score(Record):
    """Exact match and F1 in percent over ``count`` questions."""

    exact_match: float = 0.0
    f1: float = 0.0
    count: int = 0

    def agrees_with(self, exact_match: float, f1: float, tolerance: float = ACCURACY_TOLERANCE) -> bool:
        """Both EM and F1 within ``tolerance`` points of the given ones (the one tolerance check)."""
        return abs(self.exact_match - exact_match) <= tolerance and abs(self.f1 - f1) <= tolerance


def dev_set_path() -> Path:
    return shared_dir() / "squad" / "dev-v1.1.json"


def load_questions(limit: int | None = None, path: str | Path | None = None) -> list[Question]:
    """The first ``limit`` questions of the dev set in file order (all of them when None)."""
    raw = json.loads(Path(path or dev_set_path()).read_text(encoding="utf-8"))
    questions: list[Question] = []
    for article in raw["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if limit is not None and len(questions) >= limit:
                    return questions
                answers = tuple(answer["text"] for answer in qa["answers"])
                questions.append(Question(qa["id"], qa["question"], paragraph["context"], answers))
    return questions


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (the official order of steps)."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> bool:
    return normalize_answer(prediction) == normalize_answer(reference)


def f1(prediction: str, reference: str) -> float:
    """Token-level F1 between the normalised prediction and reference (0.0 to 1.0)."""
    predicted = normalize_answer(prediction).split()
    expected = normalize_answer(reference).split()
    common = Counter(predicted) & Counter(expected)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision = same / len(predicted)
    recall = same / len(expected)
    return 2 * precision * recall / (precision + recall)


def best_exact_match(prediction: str, references: Sequence[str]) -> bool:
    return any(exact_match(prediction, reference) for reference in references)


def best_f1(prediction: str, references: Sequence[str]) -> float:
    return max((f1(prediction, reference) for reference in references), default=0.0)


def score(questions: Sequence[Question], predictions: Mapping[str, str]) -> Score:
    """Average best-over-references EM and F1 (percent); a missing prediction scores 0."""
    if not questions:
        return Score(0.0, 0.0, 0)
    em_total = 0.0
    f1_total = 0.0
    for question in questions:
        prediction = predictions.get(question.id)
        if prediction is None:
            continue
        em_total += best_exact_match(prediction, question.answers)
        f1_total += best_f1(prediction, question.answers)
    count = len(questions)
    return Score(100.0 * em_total / count, 100.0 * f1_total / count, count)


# Published in ../shared/hf-cache/README.md for the offline catalog (decoding recipe there),
# model_type -> questions -> (EM, F1); the benchmark checks its in-process run against these.
REFERENCE_SCORES: dict[str, dict[int, tuple[float, float]]] = {
    "nlp1": {500: (66.60, 72.60), 1000: (64.40, 73.23), 2000: (60.70, 71.53)},
    "nlp2": {500: (52.40, 60.28), 1000: (55.20, 63.81), 2000: (51.70, 62.34)},
}


def reference_score(model_type: str, questions: int) -> tuple[float, float] | None:
    """The published (EM, F1) for this model and question count, if there is one."""
    return REFERENCE_SCORES.get(model_type, {}).get(questions)
