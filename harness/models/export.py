"""Export a resolved model to the ONNX engines' files, on the host, once per export setting.

An ``onnx`` model is the source's transformers model traced to an fp32 ONNX graph
(``torch.onnx.export``, TorchScript exporter, dynamic batch and sequence axes); an ``onnx-int8``
model is that graph with int8 weights (ONNX Runtime's dynamic quantization, with the recipe
below, tuned for accuracy). Either folder holds ``model.onnx``, the source's ``tokenizer.json``
(written from transformers' tokenizer when the source has none) and ``config.json``: what the
function's ONNX runtime reads, and nothing that needs torch to read.

Exports are cached under ``.state/exports/<source>/<revision>-<engine>-<settings digest>/`` and
made atomically (a temporary folder renamed into place), so a publish with unchanged inputs
exports nothing, an interrupted one leaves no half-written graph, and a change of setting
(``ExportSettings``) exports again into a new folder. Every export is checked before it is
used: the fp32 graph's logits must match torch's on a padded two-window batch, and the int8
graph must run and give finite logits of the same shape.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from inference.contract import (
    MODEL_INPUT_NAMES,
    MODEL_OUTPUT_NAMES,
    ONNX_GRAPH_FILE,
    TOKENIZER_FILE,
    model_folder,
)

from harness.errors import HarnessError
from harness.models.resolve import ResolvedModel
from harness.paths import cache_dir
from harness.progress import say

GRAPH_FILE = ONNX_GRAPH_FILE
CONFIG_FILE = "config.json"
INPUT_NAMES = MODEL_INPUT_NAMES
OUTPUT_NAMES = MODEL_OUTPUT_NAMES
# fp32 ONNX vs torch on the check batch: ORT fuses and reorders float ops, so logits differ in
# the last bits; 1e-3 is far below what moves an argmax over logits of magnitude ~10.
FP32_TOLERANCE = 1e-3


def _onnxruntime_version() -> str:
    """The host's ONNX Runtime (pinned with the image's in function/requirements/onnxruntime.txt)."""
    from importlib.metadata import version

    return version("onnxruntime")


@dataclass(frozen=True)
class Quantization:
    """ONNX Runtime dynamic quantization: int8 weights, activations quantized per batch at run time.

    The recipe (docs/engines.md has the measurements): only MatMuls with a constant weight are
    quantized (``MatMulConstBOnly``: attention's Q·K^T and P·V stay fp32), per output channel,
    signed int8 weights; and the QA head (``/qa_outputs/MatMul``), whose two output channels are
    the start and end logits themselves, stays fp32. The word-embedding table, 80% of the int8
    graph's bytes (47 of 59 MB for nlp1), is stored in fp16 and cast to fp32 after the lookup:
    40% fewer bytes to download, bake and parse for -0.2 F1 or less, every check answer unchanged
    (int8 tables lost up to 0.7 F1 and changed nlp1's car answer).
    """

    weight_type: str = "QInt8"
    per_channel: bool = True
    reduce_range: bool = False
    op_types: tuple[str, ...] = ("MatMul",)
    matmul_const_b_only: bool = True
    exclude_nodes: tuple[str, ...] = ("/qa_outputs/MatMul",)
    # Gather tables (fp32 initializers) at least this big are stored in fp16: the word embeddings.
    fp16_tables_min_bytes: int = 4 * 2**20


@dataclass(frozen=True)
class ExportSettings:
    """Everything that decides an export's bytes besides the source; recorded in the manifest."""

    engine: str
    opset: int = 17
    exporter: str = "torch.onnx.export (TorchScript, dynamo=False)"
    attention: str = "eager"
    quantization: Quantization | None = None
    # ONNX Runtime's extended graph optimisations (operator fusions, constant folding), applied
    # once here and saved, so a cold start's InferenceSession does not redo them: 193 -> 126 ms
    # for the int8 nlp1 graph. Portable: no hardware-specific layout is baked in (that is
    # ORT_ENABLE_ALL, which the session still applies at load).
    graph_optimization: str = "extended"
    onnxruntime: str = field(default_factory=_onnxruntime_version)

    def as_manifest(self) -> dict[str, Any]:
        """The settings in JSON form (lists, not tuples): equal to what the manifest reads back."""
        return json.loads(json.dumps(asdict(self)))

    @property
    def digest(self) -> str:
        text = json.dumps(self.as_manifest(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:10]


EXPORT_SETTINGS = {
    "onnx": ExportSettings("onnx"),
    "onnx-int8": ExportSettings("onnx-int8", quantization=Quantization()),
}


class ExportError(HarnessError):
    """A model could not be exported, or its export failed its check."""


@dataclass(frozen=True)
class ExportedModel:
    """The files of one export, and what the manifest records about them."""

    directory: Path
    files: tuple[Path, ...]
    settings: ExportSettings
    seconds: float = 0.0
    cached: bool = True
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def variant(self) -> str:
        """The store folder suffix: engine + settings digest (``models/<source>/<revision>-<this>``)."""
        return f"{self.settings.engine}-{self.settings.digest}"


def exports_dir() -> Path:
    return cache_dir() / "exports"


def export_dir(model: ResolvedModel, settings: ExportSettings) -> Path:
    variant = f"{settings.engine}-{settings.digest}"
    return exports_dir() / model_folder(model.source, model.revision, variant).removeprefix("models/")


def export_model(model: ResolvedModel, engine: str, progress: Callable[[str], None] = say) -> ExportedModel:
    """The model's files for ``engine`` (``onnx`` or ``onnx-int8``), exported now or from the cache."""
    settings = EXPORT_SETTINGS.get(engine)
    if settings is None:
        raise ExportError(f"model {model.model_type!r}: no export for engine {engine!r}")
    target = export_dir(model, settings)
    if (target / GRAPH_FILE).is_file():
        return ExportedModel(target, _files(target), settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    started = time.monotonic()
    label = f"{model.model_type} ({model.source}@{model.revision[:12]})"
    try:
        progress(f"    export {label} -> {engine}: tracing the fp32 graph (opset {settings.opset})")
        graph = staged / "model.traced.onnx"
        torch_model, check = _trace(model.directory, graph, settings)
        if settings.quantization is not None:
            progress(f"    export {label} -> {engine}: quantizing weights to int8")
            quantized = staged / "model.int8.onnx"
            _quantize(graph, quantized, settings.quantization)
            graph.unlink()
            _halve_tables(quantized, settings.quantization.fp16_tables_min_bytes)
            graph = quantized
        progress(f"    export {label} -> {engine}: optimizing the graph ({settings.graph_optimization})")
        _optimize(graph, staged / GRAPH_FILE)
        graph.unlink()
        if settings.quantization is None:
            _check_fp32(staged / GRAPH_FILE, torch_model, check, label)
        else:
            _check_runs(staged / GRAPH_FILE, check, label)
        _write_tokenizer(model.directory, staged / TOKENIZER_FILE)
        shutil.copy2(model.directory / CONFIG_FILE, staged / CONFIG_FILE)
        staged.chmod(0o755)
        for path in staged.iterdir():
            path.chmod(0o644)
        staged.rename(target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    seconds = time.monotonic() - started
    size = (target / GRAPH_FILE).stat().st_size
    progress(f"    export {label} -> {engine}: {size / 2**20:.1f} MiB graph in {seconds:.1f}s")
    return ExportedModel(target, _files(target), settings, seconds=seconds, cached=False)


def _files(directory: Path) -> tuple[Path, ...]:
    return tuple(sorted(p for p in directory.iterdir() if p.is_file()))


def _check_batch(tokenizer_dir: Path) -> dict[str, Any]:
    """Two windows of different lengths (the second padded): exercises the mask and dynamic axes."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
    batch = tokenizer(
        ["When was the car invented?", "Who patented the Motorwagen?"],
        [
            "The year 1886 is regarded as the birth year of the modern car.",
            "German inventor Karl Benz patented his Benz Patent-Motorwagen in 1886, in Mannheim.",
        ],
        padding="longest",
        return_tensors="np",
    )
    return {name: batch[name].astype("int64") for name in INPUT_NAMES if name in batch}


def _trace(source: Path, out: Path, settings: ExportSettings) -> tuple[Any, dict[str, Any]]:
    import warnings

    import torch
    from transformers import AutoModelForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    model = AutoModelForQuestionAnswering.from_pretrained(
        str(source), dtype=torch.float32, local_files_only=True, attn_implementation=settings.attention
    )
    model.eval()
    check = _check_batch(source)
    names = [n for n in INPUT_NAMES if n in check]
    axes = {name: {0: "batch", 1: "sequence"} for name in (*names, *OUTPUT_NAMES)}
    args = tuple(torch.from_numpy(check[n]) for n in names)
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer notes
        torch.onnx.export(
            model,
            args,
            str(out),
            dynamo=False,
            opset_version=settings.opset,
            input_names=names,
            output_names=list(OUTPUT_NAMES),
            dynamic_axes=axes,
            do_constant_folding=True,
        )
    return model, check


def _session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_fp32(path: Path, model: Any, check: dict[str, Any], label: str) -> None:
    import numpy as np
    import torch

    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    start, end = session.run(list(OUTPUT_NAMES), {n: check[n] for n in names})
    with torch.inference_mode():
        output = model(**{n: torch.from_numpy(check[n]) for n in names})
    mask = check["attention_mask"].astype(bool)
    diff = max(
        float(np.abs(start - output.start_logits.numpy())[mask].max()),
        float(np.abs(end - output.end_logits.numpy())[mask].max()),
    )
    if not diff <= FP32_TOLERANCE:
        raise ExportError(
            f"{label}: the fp32 ONNX graph differs from torch by {diff:.2e} (limit {FP32_TOLERANCE})"
        )


def _check_runs(path: Path, check: dict[str, Any], label: str) -> None:
    import numpy as np

    session = _session(path)
    names = [i.name for i in session.get_inputs()]
    start, end = session.run(list(OUTPUT_NAMES), {n: check[n] for n in names})
    shape = check["input_ids"].shape
    if (
        start.shape != shape
        or end.shape != shape
        or not (np.isfinite(start).all() and np.isfinite(end).all())
    ):
        raise ExportError(f"{label}: the int8 graph gives logits of shape {start.shape} or non-finite values")


def _optimize(graph: Path, out: Path) -> None:
    """Save the graph as ONNX Runtime's extended optimisations leave it (the function's runtime
    is the same ONNX Runtime version, recorded in the settings)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(out)
    ort.InferenceSession(str(graph), options, providers=["CPUExecutionProvider"])


def _quantize(fp32: Path, out: Path, recipe: Quantization) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    present = {node.name for node in onnx.load(str(fp32), load_external_data=False).graph.node}
    missing = [name for name in recipe.exclude_nodes if name not in present]
    if missing:  # a renamed node would silently be quantized: the recipe no longer fits the graph
        raise ExportError(f"the quantization recipe excludes nodes the graph does not have: {missing}")
    quantize_dynamic(
        str(fp32),
        str(out),
        op_types_to_quantize=list(recipe.op_types),
        per_channel=recipe.per_channel,
        reduce_range=recipe.reduce_range,
        weight_type=getattr(QuantType, recipe.weight_type),
        nodes_to_exclude=list(recipe.exclude_nodes),
        extra_options={"MatMulConstBOnly": recipe.matmul_const_b_only},
    )


def _halve_tables(graph: Path, min_bytes: int) -> None:
    """Store every Gather's fp32 table of at least ``min_bytes`` in fp16, cast back after the lookup.

    The Cast follows the Gather (it converts the looked-up rows, not the table), so no graph
    optimisation folds the table back to fp32 at load. Raises when the graph has no such table:
    the recipe no longer fits the model.
    """
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(str(graph))
    tables = {
        init.name: init
        for init in model.graph.initializer
        if init.data_type == TensorProto.FLOAT and numpy_helper.to_array(init).nbytes >= min_bytes
    }
    nodes = list(model.graph.node)
    gathers = [n for n in nodes if n.op_type == "Gather" and n.input[0] in tables]
    if not gathers:
        raise ExportError(f"the int8 recipe halves Gather tables of >= {min_bytes} bytes; the graph has none")
    for name in {n.input[0] for n in gathers}:
        table = tables[name]
        half = numpy_helper.from_array(numpy_helper.to_array(table).astype(np.float16), f"{name}.fp16")
        model.graph.initializer.remove(table)
        model.graph.initializer.append(half)
    for gather in gathers:
        looked_up = gather.output[0]
        gather.input[0] = f"{gather.input[0]}.fp16"
        gather.output[0] = f"{looked_up}.fp16"
        cast = helper.make_node(
            "Cast", [gather.output[0]], [looked_up], to=TensorProto.FLOAT, name=f"{gather.name}/CastToFloat"
        )
        model.graph.node.insert(list(model.graph.node).index(gather) + 1, cast)
    onnx.save(model, str(graph))


def _write_tokenizer(source: Path, out: Path) -> None:
    if (source / TOKENIZER_FILE).is_file():
        shutil.copy2(source / TOKENIZER_FILE, out)
        return
    from transformers import AutoTokenizer  # a vocabulary-only source: transformers converts it

    AutoTokenizer.from_pretrained(str(source), local_files_only=True).backend_tokenizer.save(str(out))


__all__ = [
    "EXPORT_SETTINGS",
    "ExportError",
    "ExportSettings",
    "ExportedModel",
    "Quantization",
    "export_dir",
    "export_model",
    "exports_dir",
]
