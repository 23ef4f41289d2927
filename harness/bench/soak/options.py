"""The soak's command-line options: ``python -m harness soak`` and ``python -m harness.bench.soak``.

Light on purpose (no HTTP or Docker code): the harness CLI builds its parser from this.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.paths import VARIANTS

DEFAULT_VARIANT = "efs"
DEFAULT_CATALOG = "offline"
DEFAULT_MINUTES = 10.0
DEFAULT_CONCURRENCY = 8
SAMPLE_INTERVAL_S = 10.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", choices=VARIANTS, default=DEFAULT_VARIANT)
    parser.add_argument("--catalog", default=DEFAULT_CATALOG, help="a name under catalogs/ or a path")
    parser.add_argument("--minutes", type=float, default=DEFAULT_MINUTES)
    parser.add_argument("--seconds", type=float, help="the soak's length in seconds (overrides --minutes)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--interval", type=float, default=SAMPLE_INTERVAL_S, help="seconds between samples")
    parser.add_argument(
        "--out", type=Path, help="results folder (default bench/results; elsewhere the README is left alone)"
    )


def seconds(args: argparse.Namespace) -> float:
    return args.seconds if args.seconds is not None else args.minutes * 60
