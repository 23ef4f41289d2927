"""Runs inside the image build (stdlib only): bytecode for what a cold start imports, nothing more,
and a check that each engine runtime the image installs imports and computes.

Lambda's root filesystem is read-only, so Python cannot cache bytecode there: every module
without a .pyc is compiled again on every cold start (measured: the imports below take ~17-24 s
without bytecode, ~6 s with it). Compiling all of site-packages costs ~200 MB; compiling only the
modules this script imports costs ~60 MB and gives the same cold start. The .pyc files use
unchecked-hash invalidation: the image never changes under them, so Python skips the check.

Usage (in the Dockerfile): ``python3 precompile.py RUNTIME...`` with the venv's interpreter, the
runtimes being those the image installs (``torch``, ``onnxruntime``).
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import py_compile
import sys
import sysconfig

# What the function imports at init whatever its engines.
MODULES = (
    "awslambdaric.__main__",
    "awslambdaric.bootstrap",
    "numpy",
    "tokenizers",
    "botocore.session",
    "aws_lambda_powertools",
    "aws_lambda_powertools.logging",
    "aws_lambda_powertools.metrics",
    "aws_lambda_powertools.utilities.typing",
)
# Per engine runtime: its modules, and packages imported whole (transformers resolves model
# classes lazily, by config, on first use of a BERT or DistilBERT QA model).
RUNTIME_MODULES = {
    "torch": ("torch", "safetensors.torch", "transformers", "huggingface_hub"),
    "onnxruntime": ("onnxruntime",),
}
RUNTIME_PACKAGES = {
    "torch": ("transformers.models.auto", "transformers.models.bert", "transformers.models.distilbert"),
    "onnxruntime": (),
}


def import_everything(runtimes: list[str]) -> None:
    for name in MODULES + tuple(m for r in runtimes for m in RUNTIME_MODULES[r]):
        importlib.import_module(name)
    for package in (p for r in runtimes for p in RUNTIME_PACKAGES[r]):
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__, package + "."):
            try:
                importlib.import_module(info.name)
            except Exception as exc:  # optional backends (e.g. vision extras) may be absent
                print(f"precompile: skipped {info.name}: {exc.__class__.__name__}", file=sys.stderr)
    import botocore.session

    # Creating a client imports botocore's lazily loaded modules; no network call is made.
    session = botocore.session.get_session()
    session.create_client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def check_runtimes(runtimes: list[str]) -> None:
    """Each runtime computes here (a broken wheel fails the build, not a cold start); torch is
    the CPU build; a runtime the image was not asked for is absent."""
    if "torch" in runtimes:
        import torch
        import transformers

        assert torch.version.cuda is None, "the image must carry torch's CPU build"
        product = (torch.ones(2) @ torch.ones(2)).item()
        print(
            f"precompile: torch {torch.__version__} transformers {transformers.__version__} matmul {product}"
        )
    else:
        assert importlib.util.find_spec("torch") is None, "torch is installed but no model needs it"
        assert importlib.util.find_spec("transformers") is None, "transformers is installed but not needed"
    if "onnxruntime" in runtimes:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
        assert "CPUExecutionProvider" in providers, providers
        print(f"precompile: onnxruntime {onnxruntime.__version__} providers {providers}")


def main(argv: list[str]) -> int:
    runtimes = argv or ["torch"]
    unknown = sorted(set(runtimes) - set(RUNTIME_MODULES))
    if unknown:
        print(f"precompile: unknown runtime(s) {unknown}; known: {sorted(RUNTIME_MODULES)}", file=sys.stderr)
        return 2
    site = sysconfig.get_paths()["purelib"]
    import_everything(runtimes)
    check_runtimes(runtimes)
    sources = sorted(
        {
            module.__file__
            for module in list(sys.modules.values())
            if getattr(module, "__file__", None)
            and module.__file__.startswith(site)
            and module.__file__.endswith(".py")
        }
    )
    mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
    for source in sources:
        py_compile.compile(source, doraise=True, invalidation_mode=mode)
    print(f"precompile: {len(sources)} modules compiled", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
