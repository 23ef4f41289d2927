"""The most expensive request the function accepts, built and timed in process.

``RequestLimits.max_windows`` is sized from this measurement: its docstring and function/README.md
quote the figure. A request's cost is its windows (each a forward pass over 384 tokens), so the
worst accepted request is a question of exactly ``max_question_tokens`` tokens with a context of
one token per character that makes exactly ``max_windows`` full windows. Run it on one thread
pinned to one CPU, as Lambda's one vCPU:

    taskset -c 0 python -m harness.bench.worst_case [--model PATH] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from inference import qa
from inference.config import RequestLimits
from tokenizers import Tokenizer

from harness.bench import inprocess, qa_adapter

QUESTION_WORD = "why "  # one token in the BERT vocabularies of the offline and default catalogs
CONTEXT_CHAR = "!"  # punctuation: one token per character, the most windows per character


@dataclass(frozen=True)
class WorstCase:
    question: str
    context: str
    windows: int
    question_tokens: int


def nlp1_folder() -> Path:
    """catalogs/offline.json's nlp1 (MiniLM-L6-H384), the model the limits are sized with."""
    return inprocess.model_folders("offline")["nlp1"]


def worst_accepted_request(tokenizer: Tokenizer, limits: RequestLimits) -> WorstCase:
    """The longest-question, most-windows request ``limits`` still accept (checked by encoding it)."""
    question = (QUESTION_WORD * limits.max_question_tokens).strip()
    room = qa.MAX_LENGTH - 3 - limits.max_question_tokens  # context tokens per window
    advance = room - qa.STRIDE  # new context tokens per further window
    tokens = min(room + (limits.max_windows - 1) * advance, limits.max_context_chars)
    context = CONTEXT_CHAR * tokens
    windows = qa.encode(tokenizer, question, context, limits)  # raises if the limits refuse it
    return WorstCase(question, context, windows.count, windows.question_tokens)


def time_request(model: qa.QAModel, case: WorstCase, limits: RequestLimits, runs: int) -> list[float]:
    """Seconds of ``qa.answer`` (tokenize, every window's forward pass, decode) per run."""
    qa.answer(model, case.question, case.context, limits)  # warm-up: first-call allocations
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        qa.answer(model, case.question, case.context, limits)
        seconds.append(time.perf_counter() - started)
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", type=Path, help="a model folder (default: the offline catalog's nlp1)")
    parser.add_argument("--engine", default="torch", help="torch (the slowest), onnx or onnx-int8")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads (Lambda: 1 per vCPU)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    limits = RequestLimits()
    folder = args.model or nlp1_folder()
    model = qa_adapter.load(folder, args.engine, threads=args.threads)
    case = worst_accepted_request(model.tokenizer, limits)
    seconds = time_request(model, case, limits, args.runs)
    print(
        f"{folder.name} on {args.engine}, {args.threads} thread(s): {case.windows} windows, "
        f"question {case.question_tokens} tokens, context {len(case.context)} characters; "
        f"answer in {statistics.median(seconds):.2f} s median, {max(seconds):.2f} s max of {args.runs} "
        f"({statistics.median(seconds) / case.windows * 1000:.0f} ms per window)"
    )


if __name__ == "__main__":
    main()
