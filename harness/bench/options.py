"""The benchmark's command-line options: ``python -m harness bench`` and ``python -m harness.bench``.

Light on purpose (no model code): the harness CLI builds its parser from this for every command.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from harness.paths import VARIANTS

# The engine dimension: each variant with each of these catalogs (catalogs/<name>.json): the same
# two models on torch, fp32 ONNX and int8 ONNX.
DEFAULT_CATALOGS = ("offline", "offline-onnx", "offline-int8")
# In-process answers per engine: the engines' accuracy targets (int8 F1 loss, fp32 parity) are on 2,000.
INPROCESS_QUESTIONS = 2000
DEFAULT_BUDGET_S = 3 * 3600.0


def catalog_list(values: Sequence[str] | None) -> list[str]:
    """Repeatable and comma-separated: ``--catalog offline --catalog offline-onnx,offline-int8``."""
    names = [name.strip() for value in values or () for name in value.split(",") if name.strip()]
    return names or list(DEFAULT_CATALOGS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", action="append", choices=VARIANTS, help="repeatable; default: all")
    parser.add_argument(
        "--catalog",
        action="append",
        metavar="NAME[,NAME...]",
        help=f"a catalog (engine) to run every variant with; repeatable or comma-separated; "
        f"default: {','.join(DEFAULT_CATALOGS)}",
    )
    parser.add_argument("--questions", type=int, default=500, help="SQuAD questions through each endpoint")
    parser.add_argument(
        "--inprocess-questions",
        type=int,
        default=INPROCESS_QUESTIONS,
        help="SQuAD questions in-process per engine (the engines' accuracy targets are on 2000)",
    )
    parser.add_argument("--warm-requests", type=int, default=200)
    parser.add_argument("--cold-starts", type=int, default=5)
    parser.add_argument("--budget-minutes", type=float, default=DEFAULT_BUDGET_S / 60)
