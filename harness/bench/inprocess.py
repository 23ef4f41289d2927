"""In-process baselines, on this machine, from the same model files the function serves.

- the bare forward pass of a model on one input (what our serving overhead is measured against),
  and the whole in-process answer (tokenise + forward + decode) beside it;
- accuracy on SQuAD questions in-process (must agree with the endpoint);
- the old sample's EFS strategy, reproduced: every invocation loads the tokenizer and the model
  from the model folder, then answers the way the sample did (one un-windowed encoding, argmax of
  the start and of the end logits, tokens joined back into a string), with no inference mode,
  as there. Only the loading matters for the comparison; the decoding is kept for faithfulness.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.bench import qa_adapter
from harness.bench.squad import Question, Score, score
from harness.paths import CATALOGS_DIR, hf_cache_dir


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def hub_snapshot(repo_id: str, revision: str) -> Path:
    """The folder of a pinned hub revision in the offline cache (HF_HUB_CACHE)."""
    plain = hf_cache_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots" / revision
    if plain.is_dir():
        return plain
    from huggingface_hub import snapshot_download

    return Path(
        snapshot_download(repo_id, revision=revision, cache_dir=hf_cache_dir(), local_files_only=True)
    )


def model_folders(catalog: str = "offline") -> dict[str, Path]:
    """model_type -> the folder holding its files, for a catalog under catalogs/ (or a path)."""
    from inference.contract import Catalog

    path = Path(catalog)
    if not path.suffix:
        path = CATALOGS_DIR / f"{catalog}.json"
    parsed = Catalog.load(path)
    folders: dict[str, Path] = {}
    for model_type, entry in parsed.models.items():
        source = entry.source
        if source.path:
            folders[model_type] = Path(source.path)
        else:
            folders[model_type] = hub_snapshot(str(source.repo_id), str(source.revision))
    return folders


class ModelPool:
    """Loaded models by model_type, each loaded once per benchmark run (load time recorded)."""

    def __init__(self, folders: dict[str, Path]) -> None:
        self.folders = folders
        self._loaded: dict[str, qa_adapter.LoadedModel] = {}
        self.load_ms: dict[str, float] = {}

    def get(self, model_type: str) -> qa_adapter.LoadedModel:
        if model_type not in self._loaded:
            started = time.perf_counter()
            self._loaded[model_type] = qa_adapter.load(self.folders[model_type])
            self.load_ms[model_type] = _ms_since(started)
        return self._loaded[model_type]


@dataclass
class ForwardTimings:
    """Per-call timings (ms) of the bare forward and of the whole in-process answer."""

    forward_ms: list[float]
    answer_ms: list[float]
    windows: int
    threads: int


def time_forward(
    loaded: qa_adapter.LoadedModel,
    question: str,
    context: str,
    repeats: int,
    warmup: int = 5,
    threads: int | None = None,
) -> ForwardTimings:
    """Time ``repeats`` bare forward passes on one tokenised input, then ``repeats`` answers.

    ``threads`` sets torch's intra-op threads for the measurement (the function's own count, so
    that the two sides compute alike); the previous setting is restored afterwards.
    """
    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        encoding = qa_adapter.encode(loaded, question, context)
        for _ in range(warmup):
            qa_adapter.forward(loaded, encoding)
            qa_adapter.answer(loaded, question, context)
        forward_ms: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            qa_adapter.forward(loaded, encoding)
            forward_ms.append(_ms_since(started))
        answer_ms: list[float] = []
        for _ in range(repeats):
            started = time.perf_counter()
            qa_adapter.answer(loaded, question, context)
            answer_ms.append(_ms_since(started))
        used = torch.get_num_threads()
    finally:
        torch.set_num_threads(previous)
    return ForwardTimings(forward_ms, answer_ms, int(encoding["input_ids"].shape[0]), used)


@dataclass
class AccuracyRun:
    score: Score
    predictions: dict[str, str]
    seconds: float


def accuracy(
    loaded: qa_adapter.LoadedModel,
    questions: Sequence[Question],
    progress: Callable[[int, int], None] | None = None,
) -> AccuracyRun:
    """Answer every question in-process and score the answers (official SQuAD v1.1 metrics)."""
    started = time.perf_counter()
    predictions: dict[str, str] = {}
    for index, question in enumerate(questions, 1):
        predictions[question.id] = qa_adapter.answer(loaded, question.question, question.context).text
        if progress:
            progress(index, len(questions))
    return AccuracyRun(score(questions, predictions), predictions, time.perf_counter() - started)


# --- the old sample's EFS strategy -------------------------------------------------------------


@dataclass(frozen=True)
class OldStrategyCall:
    answer: str
    load_ms: float
    inference_ms: float

    @property
    def total_ms(self) -> float:
        return self.load_ms + self.inference_ms


def old_sample_invocation(folder: str | Path, question: str, context: str) -> OldStrategyCall:
    """One invocation of the old EFS handler: load tokenizer + model from the folder, then answer."""
    import torch
    from transformers import AutoModelForQuestionAnswering, AutoTokenizer

    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForQuestionAnswering.from_pretrained(str(folder))
    load_ms = _ms_since(started)

    started = time.perf_counter()
    inputs = tokenizer(question, context, add_special_tokens=True, return_tensors="pt")
    token_ids = inputs["input_ids"][0].tolist()
    output = model(**inputs)
    first = int(torch.argmax(output.start_logits))
    last = int(torch.argmax(output.end_logits)) + 1
    text = tokenizer.convert_tokens_to_string(tokenizer.convert_ids_to_tokens(token_ids[first:last]))
    return OldStrategyCall(text, load_ms, _ms_since(started))


def time_old_strategy(folder: str | Path, question: str, context: str, repeats: int) -> list[OldStrategyCall]:
    """``repeats`` invocations of the old strategy (after one untimed call that warms the OS cache)."""
    old_sample_invocation(folder, question, context)
    return [old_sample_invocation(folder, question, context) for _ in range(repeats)]
