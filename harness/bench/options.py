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
# The fleet scenario (harness/bench/fleet.py): Zipf traffic over N models, a phase per N.
FLEET_SIZES = (2, 10, 50)
FLEET_REQUESTS = 2000
FLEET_CONCURRENCY = 1


def catalog_list(values: Sequence[str] | None) -> list[str]:
    """Repeatable and comma-separated: ``--catalog offline --catalog offline-onnx,offline-int8``."""
    names = [name.strip() for value in values or () for name in value.split(",") if name.strip()]
    return names or list(DEFAULT_CATALOGS)


def size_list(value: str) -> tuple[int, ...]:
    """``--fleet-sizes 2,10,50``: the fleet sizes N, each a phase of the fleet scenario."""
    try:
        sizes = tuple(sorted({int(part) for part in value.split(",") if part.strip()}))
    except ValueError:
        message = f"fleet sizes are whole numbers separated by commas (got {value!r})"
        raise argparse.ArgumentTypeError(message) from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError(f"fleet sizes must be at least 1 (got {value!r})")
    return sizes


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
    fleet = parser.add_argument_group("fleet scenario (Zipf traffic over N models; one deploy per variant)")
    fleet.add_argument(
        "--fleet-sizes",
        type=size_list,
        default=FLEET_SIZES,
        metavar="N[,N...]",
        help="fleet sizes, a phase each; the largest is deployed "
        f"(default {','.join(map(str, FLEET_SIZES))})",
    )
    fleet.add_argument("--fleet-requests", type=int, default=FLEET_REQUESTS, help="Zipf requests per phase")
    fleet.add_argument(
        "--fleet-concurrency",
        type=int,
        default=FLEET_CONCURRENCY,
        help="clients sending the sequence (1: one environment, comparable with the offline LRU)",
    )
    only = fleet.add_mutually_exclusive_group()
    only.add_argument("--no-fleet", action="store_true", help="skip the fleet scenario")
    only.add_argument(
        "--fleet-only",
        action="store_true",
        help="only the fleet scenario, merged into the existing results.json (its other runs are kept)",
    )
