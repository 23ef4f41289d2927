"""The one place the benchmark touches the function's QA code: ``inference.qa`` + ``inference.engines``.

The benchmark needs, for a model folder and its engine: load it with the engine's runtime (the
same ``load_model`` the function calls), answer a question with the function's decoding, and run
the bare forward pass on an already tokenised input. All of it is the code that ships; there is no
second decoder here, so in-process and endpoint answers come from the same code, and a change to
``inference.qa`` is measured, not hidden.

Threads: ONNX Runtime fixes a session's intra-op threads when the session is created
(``configure_threads`` applies to sessions created afterwards), so a model is loaded with the
thread count it will be timed with; torch's count is process-wide and can change between calls
(``thread_scope``).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

from inference import engines, qa
from inference.contract import ENGINE_RUNTIMES
from inference.errors import PayloadTooLargeError

QA_CODE = "inference.qa + inference.engines"
Answer = qa.Answer
QAModel = qa.QAModel
Windows = qa.Windows
# Runtimes whose thread count is fixed when a model is loaded (an ORT session), not per call.
THREADS_AT_LOAD = frozenset({"onnxruntime"})
UNANSWERED = qa.Answer("", 0, 0, 0.0)


def default_threads() -> int:
    """The CPUs this process may run on (what the function uses on this machine, capped the same way)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def runtime_name(engine: str) -> str:
    """The runtime that runs ``engine`` (``inference.contract.ENGINE_RUNTIMES``)."""
    try:
        return ENGINE_RUNTIMES[engine]
    except KeyError:
        raise ValueError(f"unknown engine {engine!r}; known: {', '.join(ENGINE_RUNTIMES)}") from None


def runtime(engine: str) -> ModuleType:
    """The runtime module of ``engine`` (imported on first use, as the function does)."""
    return engines.import_runtime(runtime_name(engine))


def threads_fixed_at_load(engine: str) -> bool:
    return runtime_name(engine) in THREADS_AT_LOAD


def load(folder: str | Path, engine: str, threads: int | None = None) -> qa.QAModel:
    """The model in ``folder`` loaded by ``engine``'s runtime, with ``threads`` intra-op threads."""
    module = runtime(engine)
    module.configure_threads(threads or default_threads())
    return module.load_model(Path(folder), engine)


def threads_in_use(model: qa.QAModel) -> int | None:
    """The intra-op threads ``model`` computes with now: its session's, or torch's process-wide count."""
    session = getattr(model.engine, "session", None)
    if session is not None:
        return int(session.get_session_options().intra_op_num_threads)
    torch = sys.modules.get("torch")
    if runtime_name(model.engine_name) == "torch" and torch is not None:
        return int(torch.get_num_threads())
    return None


@contextlib.contextmanager
def thread_scope(model: qa.QAModel, threads: int | None) -> Iterator[int | None]:
    """Run ``model`` with ``threads`` inside the block (torch: set, then restored); yields the count in use.

    For a runtime that fixes threads at load, nothing changes here: load the model with the count
    (``load(..., threads=)``); the yielded count says what it really uses.
    """
    if not threads or threads_fixed_at_load(model.engine_name):
        yield threads_in_use(model)
        return
    module = runtime(model.engine_name)
    previous = threads_in_use(model)
    module.configure_threads(threads)
    try:
        yield threads_in_use(model)
    finally:
        if previous:
            module.configure_threads(previous)


def answer(model: qa.QAModel, question: str, context: str) -> qa.Answer:
    """``inference.qa.answer``; an input the function answers 400 or 413 for gives an empty answer."""
    try:
        return qa.answer(model, question, context)
    except (qa.UnanswerableInputError, PayloadTooLargeError):
        return UNANSWERED


def encode(model: qa.QAModel, question: str, context: str) -> qa.Windows:
    return qa.encode(model.tokenizer, question, context)


def forward(model: qa.QAModel, windows: qa.Windows) -> tuple[Any, Any]:
    """The bare forward pass: no tokenisation, no decoding."""
    return qa.forward(model.engine, windows)
