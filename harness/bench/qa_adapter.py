"""The one place the benchmark touches the function's QA code (``inference.qa``).

The benchmark needs, for a model folder: load it, answer a question with the project's decoding,
and run the bare forward pass on an already tokenised input. It takes all three from
``inference.qa`` (``load_model``, ``answer``, ``encode``, ``forward``), so in-process and endpoint
answers come from the same code. If that module cannot be imported or lacks one of those names,
a reference decoder written from ../shared/hf-cache/README.md's recipe takes over (windows of 384
tokens, stride 128, 20 best starts and ends over context tokens, spans of at most 30 tokens, best
start+end logit sum over all windows, float32); ``backend_name()`` says which one ran and the
report prints it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

MAX_LENGTH = 384
STRIDE = 128
TOP_K = 20
MAX_ANSWER_TOKENS = 30


@dataclass(frozen=True)
class Answer:
    text: str
    start: int
    end: int
    score: float


@dataclass
class LoadedModel:
    """A model and tokenizer ready to answer; ``handle`` is the backend's own object."""

    folder: Path
    tokenizer: Any
    model: Any
    handle: Any = None


class Backend(Protocol):
    name: str

    def load(self, folder: Path) -> LoadedModel: ...
    def answer(self, loaded: LoadedModel, question: str, context: str) -> Answer: ...
    def encode(self, loaded: LoadedModel, question: str, context: str) -> Any: ...
    def forward(self, loaded: LoadedModel, encoding: Any) -> Any: ...


# --- reference decoder (the hf-cache README recipe) -------------------------------------------


class ReferenceBackend:
    name = "reference decoder (harness.bench.qa_adapter)"

    def load(self, folder: Path) -> LoadedModel:
        from transformers import AutoModelForQuestionAnswering, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
        model = AutoModelForQuestionAnswering.from_pretrained(
            str(folder), dtype="float32", local_files_only=True
        )
        model.eval()
        return LoadedModel(Path(folder), tokenizer, model, None)

    def encode(self, loaded: LoadedModel, question: str, context: str) -> Any:
        return loaded.tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=MAX_LENGTH,
            stride=STRIDE,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )

    def forward(self, loaded: LoadedModel, encoding: Any) -> Any:
        import torch

        names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in encoding]
        with torch.inference_mode():
            output = loaded.model(**{n: encoding[n] for n in names})
        return output.start_logits, output.end_logits

    def answer(self, loaded: LoadedModel, question: str, context: str) -> Answer:
        import torch

        encoding = self.encode(loaded, question, context)
        start_logits, end_logits = self.forward(loaded, encoding)
        best: tuple[float, int, int] | None = None
        for window in range(encoding["input_ids"].shape[0]):
            is_context = torch.tensor([sid == 1 for sid in encoding.sequence_ids(window)])
            if not bool(is_context.any()):
                continue
            starts = start_logits[window].masked_fill(~is_context, float("-inf"))
            ends = end_logits[window].masked_fill(~is_context, float("-inf"))
            k = min(TOP_K, int(is_context.sum()))
            start_values, end_values = starts.tolist(), ends.tolist()
            for s in torch.topk(starts, k).indices.tolist():
                for e in torch.topk(ends, k).indices.tolist():
                    if not s <= e < s + MAX_ANSWER_TOKENS:
                        continue
                    total = start_values[s] + end_values[e]
                    if best is None or total > best[0]:
                        offsets = encoding["offset_mapping"][window]
                        best = (total, int(offsets[s][0]), int(offsets[e][1]))
        if best is None:
            return Answer("", 0, 0, float("-inf"))
        total, start, end = best
        return Answer(context[start:end], start, end, total)


# --- the function's own code -----------------------------------------------------------------


class InferenceQABackend:
    """``inference.qa``: load_model(folder), answer(model, q, c), encode(tok, q, c), forward(m, tok, enc)."""

    name = "inference.qa"
    REQUIRED = ("load_model", "answer", "encode", "forward")

    def __init__(self, module: Any) -> None:
        self.qa = module

    @classmethod
    def available(cls) -> InferenceQABackend | None:
        try:
            module = importlib.import_module("inference.qa")
        except ImportError:
            return None
        if not all(callable(getattr(module, name, None)) for name in cls.REQUIRED):
            return None
        return cls(module)

    def load(self, folder: Path) -> LoadedModel:
        handle = self.qa.load_model(Path(folder))
        return LoadedModel(Path(folder), handle.tokenizer, handle.model, handle)

    def encode(self, loaded: LoadedModel, question: str, context: str) -> Any:
        return self.qa.encode(loaded.tokenizer, question, context)

    def forward(self, loaded: LoadedModel, encoding: Any) -> Any:
        return self.qa.forward(loaded.model, loaded.tokenizer, encoding)

    def answer(self, loaded: LoadedModel, question: str, context: str) -> Answer:
        try:
            result = self.qa.answer(loaded.handle, question, context)
        except ValueError:  # inference.qa.UnanswerableInputError: the endpoint answers 400 there
            return Answer("", 0, 0, 0.0)
        return Answer(str(result.text), int(result.start), int(result.end), float(result.score))


@cache
def backend() -> Backend:
    return InferenceQABackend.available() or ReferenceBackend()


def backend_name() -> str:
    return backend().name


def load(folder: str | Path) -> LoadedModel:
    return backend().load(Path(folder))


def answer(loaded: LoadedModel, question: str, context: str) -> Answer:
    return backend().answer(loaded, question, context)


def encode(loaded: LoadedModel, question: str, context: str) -> Any:
    return backend().encode(loaded, question, context)


def forward(loaded: LoadedModel, encoding: Any) -> Any:
    """The bare forward pass: no tokenisation, no decoding."""
    return backend().forward(loaded, encoding)
