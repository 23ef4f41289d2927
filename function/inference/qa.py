"""Extractive question answering: tokenizer + AutoModelForQuestionAnswering, decoded here.

transformers 5 has no question-answering pipeline, so this module owns the recipe that
``../shared/hf-cache/README.md`` states and its expected answers depend on:

* question and context as a pair, context-only truncation, windows of 384 tokens overlapping by
  a stride of 128 (so a context of any length is answered), all windows through the model in
  one batch (at most ``WINDOWS_PER_BATCH`` per forward pass, which only bounds memory);
* in each window the 20 best start and the 20 best end logits over *context* tokens; a span is
  valid when start <= end < start + 30 tokens; the best sum of start and end logits over all
  windows wins;
* the span maps back to character offsets, and the answer is sliced from the context (never
  rebuilt from tokens, which would lower-case it with an uncased model);
* the score is a probability: softmax of the start logits times softmax of the end logits, each
  over the context tokens of the winning window.

Importing this module imports torch and transformers, including transformers' model machinery
that ``from_pretrained`` would otherwise import during the first load (seconds in all);
everything else in the package stays light, so the handler overlaps this import with fetching
the eager models' files.
"""

from __future__ import annotations

import contextlib
import os

# The function must never call the HuggingFace Hub (no network in a VPC, and no need: every file
# is local). Set before transformers is imported, which reads these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import transformers.modeling_utils  # noqa: F401  # the generic model machinery (most of the import time)
from transformers import AutoModelForQuestionAnswering, AutoTokenizer
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()

MAX_LENGTH = 384
STRIDE = 128
TOP_K = 20
MAX_ANSWER_TOKENS = 30
MAX_QUESTION_TOKENS = 128  # beyond this a window keeps so little context that windows explode
WINDOWS_PER_BATCH = 32  # ~12k tokens per forward pass: bounds activation memory, not results


class UnanswerableInputError(ValueError):
    """The question or context cannot be encoded into windows (a 400 for the caller)."""


@dataclass(frozen=True)
class Answer:
    """The best span: text sliced from the context, character offsets [start, end), score."""

    text: str
    start: int
    end: int
    score: float
    logit_sum: float = 0.0
    window: int = 0


@dataclass(frozen=True)
class Span:
    """The best token span of a set of windows, before mapping back to characters."""

    window: int
    start: int
    end: int
    logit_sum: float
    probability: float


@dataclass
class QAModel:
    """A loaded model and its tokenizer (attributes the benchmark adapter reads)."""

    folder: Path
    tokenizer: Any
    model: Any

    def answer(self, question: str, context: str) -> Answer:
        return answer(self, question, context)


_threads_set = False


def configure_threads(threads: int) -> None:
    """Intra-op threads for this process; OMP_NUM_THREADS, when set, wins (explicit choice)."""
    global _threads_set
    if os.environ.get("OMP_NUM_THREADS"):
        return
    torch.set_num_threads(max(1, threads))
    if not _threads_set:
        # One request at a time: no inter-op parallelism. Raises once parallel work has started.
        with contextlib.suppress(RuntimeError):
            torch.set_num_interop_threads(1)
    _threads_set = True


def load_model(folder: str | Path) -> QAModel:
    """Load tokenizer and float32 weights from a local folder (safetensors are memory-mapped)."""
    folder = Path(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    has_safetensors = any(folder.glob("*.safetensors"))
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(folder),
        dtype=torch.float32,
        local_files_only=True,
        use_safetensors=True if has_safetensors else None,
    )
    model.eval()
    return QAModel(folder=folder, tokenizer=tokenizer, model=model)


def encode(tokenizer: Any, question: str, context: str) -> Any:
    """The windows of one question/context pair, with offsets and sequence ids."""
    question_tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
    if question_tokens > MAX_QUESTION_TOKENS:
        raise UnanswerableInputError(
            f"the question is {question_tokens} tokens long; the limit is {MAX_QUESTION_TOKENS}"
        )
    return tokenizer(
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


def context_mask(encoding: Any) -> torch.Tensor:
    """(windows, tokens) bool: True where a token belongs to the context (sequence id 1)."""
    rows = [[sid == 1 for sid in encoding.sequence_ids(i)] for i in range(encoding["input_ids"].shape[0])]
    return torch.tensor(rows, dtype=torch.bool)


def forward(model: Any, tokenizer: Any, encoding: Any) -> tuple[torch.Tensor, torch.Tensor]:
    """Start and end logits of every window, in batches of at most WINDOWS_PER_BATCH."""
    names = [n for n in getattr(tokenizer, "model_input_names", ()) if n in encoding] or [
        n for n in ("input_ids", "token_type_ids", "attention_mask") if n in encoding
    ]
    total = encoding["input_ids"].shape[0]
    starts, ends = [], []
    with torch.inference_mode():
        for first in range(0, total, WINDOWS_PER_BATCH):
            batch = {n: encoding[n][first : first + WINDOWS_PER_BATCH] for n in names}
            output = model(**batch)
            starts.append(output.start_logits.float())
            ends.append(output.end_logits.float())
    return torch.cat(starts), torch.cat(ends)


def best_span(
    start_logits: torch.Tensor,
    end_logits: torch.Tensor,
    mask: torch.Tensor,
    top_k: int = TOP_K,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> Span | None:
    """The valid span with the highest start+end logit sum over all windows, or None.

    ``start_logits``/``end_logits``/``mask`` are (windows, tokens). Candidates are the ``top_k``
    best starts and ends among context tokens of each window; pairs with start <= end <
    start + ``max_answer_tokens`` are valid. Ties go to the earliest window, then start.
    """
    neg_inf = torch.tensor(float("-inf"), dtype=start_logits.dtype)
    starts = torch.where(mask, start_logits, neg_inf)
    ends = torch.where(mask, end_logits, neg_inf)
    k = min(top_k, starts.shape[1])
    start_values, start_index = torch.topk(starts, k, dim=1)  # (W, k)
    end_values, end_index = torch.topk(ends, k, dim=1)
    sums = start_values[:, :, None] + end_values[:, None, :]  # (W, k, k)
    s_idx, e_idx = start_index[:, :, None], end_index[:, None, :]
    valid = (s_idx <= e_idx) & (e_idx < s_idx + max_answer_tokens) & torch.isfinite(sums)
    sums = torch.where(valid, sums, neg_inf)
    flat = sums.reshape(-1)
    if flat.numel() == 0 or not bool(torch.isfinite(flat.max())):
        return None
    best = float(flat.max())
    candidates = []
    for w, i, j in torch.nonzero(sums == best).tolist():
        candidates.append((w, int(start_index[w, i]), int(end_index[w, j])))
    window, start, end = min(candidates)
    start_probs = torch.softmax(starts[window], dim=0)
    end_probs = torch.softmax(ends[window], dim=0)
    probability = float(start_probs[start] * end_probs[end])
    return Span(window=window, start=start, end=end, logit_sum=best, probability=probability)


def answer(model: QAModel, question: str, context: str) -> Answer:
    """The answer to ``question`` in ``context`` (see the module docstring for the recipe)."""
    encoding = encode(model.tokenizer, question, context)
    mask = context_mask(encoding)
    start_logits, end_logits = forward(model.model, model.tokenizer, encoding)
    span = best_span(start_logits, end_logits, mask)
    if span is None:
        raise UnanswerableInputError("the context holds no text the model can read")
    offsets = encoding["offset_mapping"][span.window]
    char_start, char_end = int(offsets[span.start][0]), int(offsets[span.end][1])
    return Answer(
        text=context[char_start:char_end],
        start=char_start,
        end=char_end,
        score=span.probability,
        logit_sum=span.logit_sum,
        window=span.window,
    )
