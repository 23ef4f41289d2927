"""The engines behind one small interface: load a model folder, turn windows into logits.

Two runtimes serve the catalog's engines (``inference.contract.ENGINE_RUNTIMES``): ``torch``
(transformers' model on the HuggingFace weights) serves ``torch``; ``onnxruntime`` serves ``onnx``
and ``onnx-int8`` (an exported graph). Each runtime is a module with ``configure_threads(n)`` and
``load_model(folder, engine) -> inference.qa.QAModel``, imported only when first needed: an image
holds only the runtimes its catalog uses (the lean ONNX image has no torch at all), and which ones
it holds is read from the installed packages, not from configuration that could disagree.
"""

from __future__ import annotations

import importlib
import importlib.util
from functools import cache
from types import ModuleType

# Runtime -> (its module here, the distributions it imports).
RUNTIME_MODULES = {
    "torch": ("inference.engines.torch_runtime", ("torch", "transformers")),
    "onnxruntime": ("inference.engines.onnx_runtime", ("onnxruntime",)),
}


class RuntimeMissingError(Exception):
    """The image does not include the runtime a model's engine needs."""


@cache
def installed_runtimes() -> tuple[str, ...]:
    """The runtimes this environment can import, without importing them (find_spec only)."""
    return tuple(
        runtime
        for runtime, (_module, packages) in RUNTIME_MODULES.items()
        if all(importlib.util.find_spec(package) is not None for package in packages)
    )


def import_runtime(runtime: str) -> ModuleType:
    """The runtime's module; RuntimeMissingError when this image does not include it."""
    if runtime not in installed_runtimes():
        have = ", ".join(installed_runtimes()) or "none"
        raise RuntimeMissingError(
            f"this function's image does not include {runtime or 'it'} (it has: {have})"
        )
    return importlib.import_module(RUNTIME_MODULES[runtime][0])
