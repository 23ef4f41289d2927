"""The ONNX Runtime: an exported graph (``model.onnx``, fp32 or int8) on the CPU provider.

No torch, no transformers: ``import onnxruntime`` and an InferenceSession take ~0.2 s each, which
is what makes a sub-second cold start possible. The session is set up for one request at a time
on Lambda's CPU share: intra-op threads = the function's vCPUs, no inter-op pool, and threads that
do not spin while waiting, so environments that share cores (the local cloud, any busy host) do not
burn each other's CPU between requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inference import contract, qa

GRAPH_FILE = contract.ONNX_GRAPH_FILE
OUTPUT_NAMES = contract.MODEL_OUTPUT_NAMES

_threads = 1


def configure_threads(threads: int) -> None:
    """Intra-op threads of the sessions created from now on."""
    global _threads
    _threads = max(1, threads)


def session_options(threads: int) -> ort.SessionOptions:
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    options.log_severity_level = 3  # warnings about unused initializers are not ours to act on
    return options


class OnnxEngine:
    """An InferenceSession; feeds it the inputs the graph declares, by name."""

    def __init__(self, session: ort.InferenceSession) -> None:
        self.session = session
        self.input_names = tuple(i.name for i in session.get_inputs())

    def forward(self, inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.session.run(OUTPUT_NAMES, {name: inputs[name] for name in self.input_names})
        return start, end


def load_model(folder: str | Path, engine: str = "onnx") -> qa.QAModel:
    folder = Path(folder)
    session = ort.InferenceSession(
        str(folder / GRAPH_FILE), session_options(_threads), providers=["CPUExecutionProvider"]
    )
    return qa.QAModel(
        folder=folder, engine_name=engine, tokenizer=qa.load_tokenizer(folder), engine=OnnxEngine(session)
    )
