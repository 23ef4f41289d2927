"""The torch runtime: transformers' AutoModelForQuestionAnswering on the source's own weights.

Importing this module imports torch and transformers, including transformers' model machinery
that ``from_pretrained`` would otherwise import during the first load (about two seconds in all,
most of a torch cold start); the handler overlaps that with fetching the eager models' files.
"""

from __future__ import annotations

import contextlib
import inspect
import os

# The function must never call the HuggingFace Hub (no network in a VPC, and no need: every file
# is local). Set before transformers is imported, which reads these once.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers.modeling_utils  # noqa: F401  # the generic model machinery (most of the import time)
from transformers import AutoModelForQuestionAnswering, AutoTokenizer
from transformers.utils import logging as hf_logging

from inference import qa

hf_logging.disable_progress_bar()

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


class TorchEngine:
    """A float32 transformers model in eval mode; feeds it only the inputs its forward takes."""

    def __init__(self, model: Any) -> None:
        self.model = model
        accepted = inspect.signature(model.forward).parameters
        self.input_names = tuple(name for name in qa.INPUT_NAMES if name in accepted)

    def forward(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            output = self.model(**{name: torch.from_numpy(inputs[name]) for name in self.input_names})
        return output.start_logits.float().numpy(), output.end_logits.float().numpy()


def _tokenizer(folder: Path) -> Any:
    """The folder's tokenizer.json; a folder with only a vocabulary gets transformers' conversion."""
    if (folder / qa.TOKENIZER_FILE).is_file():
        return qa.load_tokenizer(folder)
    converted = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    return qa.windowing_tokenizer(converted.backend_tokenizer)


def load_model(folder: str | Path, engine: str = "torch") -> qa.QAModel:
    """Tokenizer and float32 weights from a local folder (safetensors are memory-mapped)."""
    folder = Path(folder)
    has_safetensors = any(folder.glob("*.safetensors"))
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(folder),
        dtype=torch.float32,
        local_files_only=True,
        use_safetensors=True if has_safetensors else None,
    )
    model.eval()
    return qa.QAModel(
        folder=folder, engine_name=engine, tokenizer=_tokenizer(folder), engine=TorchEngine(model)
    )
