"""Extractive question answering, engine-neutral: windows in, best span out, on numpy.

transformers 5 has no question-answering pipeline, so this module owns the recipe that
``../shared/hf-cache/README.md`` states and its expected answers depend on:

* question and context as a pair, context-only truncation, windows of 384 tokens overlapping by
  a stride of 128 (so a context of any length is answered), all windows through the engine
  (at most ``WINDOWS_PER_BATCH`` per forward pass, which only bounds memory);
* in each window the 20 best start and the 20 best end logits over *context* tokens; a span is
  valid when start <= end < start + 30 tokens; the best sum of start and end logits over all
  windows wins (ties: earliest window, then earliest start);
* the span maps back to character offsets, and the answer is sliced from the context (never
  rebuilt from tokens, which would lower-case it with an uncased model);
* the score is a probability: softmax of the start logits times softmax of the end logits, each
  over the context tokens of the winning window.

The work a request may cause is bounded here, right after tokenizing and before any forward
pass: a question over ``RequestLimits.max_question_tokens`` tokens, or a pair that makes more
than ``RequestLimits.max_windows`` windows, answers 413 (``PayloadTooLargeError``) naming the
setting. The tokenizer's overflowing windows are all known at that point, for the price of one
tokenization of a context whose length ``MAX_CONTEXT_CHARS`` bounds.

Everything before and after the forward pass lives here, once, for every engine: the windows
come from the ``tokenizers`` library reading the model's ``tokenizer.json`` (the same Rust
tokenizer transformers' fast tokenizers wrap), and decoding is numpy. An engine
(``inference.engines``) only turns windows into start and end logits, so the torch and the ONNX
engines see the same token ids and are decoded by the same code. Importing this module costs
numpy + tokenizers (~0.1 s), never torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from tokenizers import Encoding, Tokenizer

from inference import contract
from inference.config import RequestLimits
from inference.errors import PayloadTooLargeError

MAX_LENGTH = 384
STRIDE = 128
TOP_K = 20
MAX_ANSWER_TOKENS = 30
WINDOWS_PER_BATCH = 32  # ~12k tokens per forward pass: bounds activation memory, not results
TOKENIZER_FILE = contract.TOKENIZER_FILE
INPUT_NAMES = contract.MODEL_INPUT_NAMES


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


@dataclass(frozen=True)
class Windows:
    """One question/context pair as model input: (windows, tokens) arrays, padded to the longest.

    ``context_mask`` is True where a token belongs to the context; ``offsets`` (windows, tokens, 2)
    holds each token's character span in the context (meaningful where ``context_mask`` is True).
    """

    input_ids: np.ndarray
    attention_mask: np.ndarray
    token_type_ids: np.ndarray
    context_mask: np.ndarray
    offsets: np.ndarray
    question_tokens: int

    @property
    def count(self) -> int:
        return int(self.input_ids.shape[0])

    def inputs(
        self, names: tuple[str, ...], first: int = 0, last: int | None = None
    ) -> dict[str, np.ndarray]:
        """The named model inputs of windows [first, last)."""
        return {name: getattr(self, name)[first:last] for name in names}


class Engine(Protocol):
    """What an engine gives this module: start and end logits, (windows, tokens) float32."""

    input_names: tuple[str, ...]

    def forward(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class QAModel:
    """A loaded model: its windowing tokenizer and the engine that runs its forward pass."""

    folder: Path
    engine_name: str
    tokenizer: Tokenizer
    engine: Engine

    def answer(self, question: str, context: str, limits: RequestLimits | None = None) -> Answer:
        return answer(self, question, context, limits)


def windowing_tokenizer(tokenizer: Tokenizer) -> Tokenizer:
    """``tokenizer`` set to cut a pair into the recipe's windows (context-only truncation)."""
    tokenizer.no_padding()  # padding is done per request, to the longest window (``encode``)
    tokenizer.enable_truncation(MAX_LENGTH, stride=STRIDE, strategy="only_second", direction="right")
    return tokenizer


def load_tokenizer(folder: str | Path) -> Tokenizer:
    """The model folder's ``tokenizer.json``, set up for windowing."""
    path = Path(folder) / TOKENIZER_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing (every published model carries a {TOKENIZER_FILE})")
    return windowing_tokenizer(Tokenizer.from_file(str(path)))


def _pad_id(tokenizer: Tokenizer) -> int:
    for token in ("[PAD]", "<pad>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    return 0


def _unreadable(exc: BaseException) -> UnanswerableInputError:
    """UnanswerableInputError for a tokenizer failure; re-raises what is not about the input.

    The tokenizer raises TypeError on a lone surrogate (the API refuses those first; this keeps
    a 500 out of direct callers), and a Rust panic surfaces as ``pyo3_runtime.PanicException``,
    which derives from BaseException and so escapes every ``except Exception`` up to the Lambda
    runtime: a question of 253 to 380 tokens with a long context made it panic on the stride
    (``_check_question`` prevents that now); any other panic must not kill the request either.
    """
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc  # KeyboardInterrupt, SystemExit: not about the input
    return UnanswerableInputError("the question and context cannot be cut into windows")


def _check_question(tokenizer: Tokenizer, question: str, limits: RequestLimits) -> None:
    """PayloadTooLargeError when the question alone is over ``max_question_tokens``.

    Counted before the pair is tokenized: the windowing tokenizer panics when the question leaves
    a window no more room than the stride. Alone, the question is truncated at MAX_LENGTH too,
    and tokenizers refuses one longer than that ("Second sequence not provided").
    """
    tokens: int | None
    try:
        tokens = len(tokenizer.encode(question, add_special_tokens=False).ids)
    except TypeError as exc:
        raise _unreadable(exc) from None
    except Exception:
        tokens = None  # longer than a whole window
    except BaseException as exc:
        raise _unreadable(exc) from None
    if tokens is None or tokens > limits.max_question_tokens:
        length = f"{tokens} tokens" if tokens is not None else f"more than {MAX_LENGTH} tokens"
        raise PayloadTooLargeError(
            f"the question is {length} long", limits.max_question_tokens, "MAX_QUESTION_TOKENS"
        )


def _tokenize_pair(tokenizer: Tokenizer, question: str, context: str) -> Encoding:
    try:
        return tokenizer.encode(question, context)
    except BaseException as exc:
        raise _unreadable(exc) from None


def encode(tokenizer: Tokenizer, question: str, context: str, limits: RequestLimits | None = None) -> Windows:
    """The windows of one question/context pair, as one tokenization of the pair.

    Raises PayloadTooLargeError beyond ``limits`` (before any array is built, so before any
    forward pass), and UnanswerableInputError when the pair cannot be tokenized at all.
    """
    limits = limits or RequestLimits()
    _check_question(tokenizer, question, limits)
    first = _tokenize_pair(tokenizer, question, context)
    count = 1 + len(first.overflowing)
    if count > limits.max_windows:
        raise PayloadTooLargeError(
            f"the question and context make {count} windows of {MAX_LENGTH} tokens",
            limits.max_windows,
            "MAX_WINDOWS",
        )
    encodings = [first, *first.overflowing]
    sequence_ids = [[-1 if s is None else s for s in e.sequence_ids] for e in encodings]
    length = max(len(e.ids) for e in encodings)
    input_ids = np.full((count, length), _pad_id(tokenizer), dtype=np.int64)
    attention_mask = np.zeros((count, length), dtype=np.int64)
    token_type_ids = np.zeros((count, length), dtype=np.int64)
    sequences = np.full((count, length), -1, dtype=np.int64)
    offsets = np.zeros((count, length, 2), dtype=np.int64)
    for row, encoding in enumerate(encodings):
        n = len(encoding.ids)
        input_ids[row, :n] = encoding.ids
        attention_mask[row, :n] = encoding.attention_mask
        token_type_ids[row, :n] = encoding.type_ids
        sequences[row, :n] = sequence_ids[row]
        offsets[row, :n] = encoding.offsets
    question_tokens = int((sequences[0] == 0).sum())
    return Windows(input_ids, attention_mask, token_type_ids, sequences == 1, offsets, question_tokens)


def forward(engine: Engine, windows: Windows) -> tuple[np.ndarray, np.ndarray]:
    """Start and end logits of every window, in batches of at most WINDOWS_PER_BATCH."""
    starts, ends = [], []
    for first in range(0, windows.count, WINDOWS_PER_BATCH):
        start, end = engine.forward(windows.inputs(engine.input_names, first, first + WINDOWS_PER_BATCH))
        starts.append(np.asarray(start, dtype=np.float32))
        ends.append(np.asarray(end, dtype=np.float32))
    if len(starts) == 1:
        return starts[0], ends[0]
    return np.concatenate(starts), np.concatenate(ends)


def _softmax(values: np.ndarray) -> np.ndarray:
    shifted = np.exp(values - values.max())
    return shifted / shifted.sum()


def best_span(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    mask: np.ndarray,
    top_k: int = TOP_K,
    max_answer_tokens: int = MAX_ANSWER_TOKENS,
) -> Span | None:
    """The valid span with the highest start+end logit sum over all windows, or None.

    ``start_logits``/``end_logits``/``mask`` are (windows, tokens). Candidates are the ``top_k``
    best starts and ends among context tokens of each window; pairs with start <= end <
    start + ``max_answer_tokens`` are valid. Ties go to the earliest window, then start.
    """
    starts = np.where(mask, start_logits, -np.inf).astype(np.float32)
    ends = np.where(mask, end_logits, -np.inf).astype(np.float32)
    if starts.size == 0:
        return None
    k = min(top_k, starts.shape[1])
    start_index = np.argsort(-starts, axis=1, kind="stable")[:, :k]  # (W, k), best first
    end_index = np.argsort(-ends, axis=1, kind="stable")[:, :k]
    start_values = np.take_along_axis(starts, start_index, axis=1)
    end_values = np.take_along_axis(ends, end_index, axis=1)
    sums = start_values[:, :, None] + end_values[:, None, :]  # (W, k, k)
    s_idx, e_idx = start_index[:, :, None], end_index[:, None, :]
    valid = (s_idx <= e_idx) & (e_idx < s_idx + max_answer_tokens) & np.isfinite(sums)
    sums = np.where(valid, sums, -np.inf)
    best = sums.max()
    if not np.isfinite(best):
        return None
    w, i, j = np.nonzero(sums == best)
    window, start, end = min(
        zip(w.tolist(), start_index[w, i].tolist(), end_index[w, j].tolist(), strict=True)
    )
    probability = float(_softmax(starts[window])[start] * _softmax(ends[window])[end])
    return Span(window=window, start=start, end=end, logit_sum=float(best), probability=probability)


def answer(model: QAModel, question: str, context: str, limits: RequestLimits | None = None) -> Answer:
    """The answer to ``question`` in ``context`` (see the module docstring for the recipe)."""
    windows = encode(model.tokenizer, question, context, limits)
    start_logits, end_logits = forward(model.engine, windows)
    span = best_span(start_logits, end_logits, windows.context_mask)
    if span is None:
        raise UnanswerableInputError("the context holds no text the model can read")
    offsets = windows.offsets[span.window]
    char_start, char_end = int(offsets[span.start][0]), int(offsets[span.end][1])
    return Answer(
        text=context[char_start:char_end],
        start=char_start,
        end=char_end,
        score=span.probability,
        logit_sum=span.logit_sum,
        window=span.window,
    )
