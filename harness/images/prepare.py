"""What setup.sh asks of the image side: the RIE, the wheelhouses (the torch image's and the lean
ONNX image's, downloaded from their hash-pinned locks) and the base image, each only when missing
or stale.
``python -m harness.images.prepare`` runs them in one interpreter, so a second setup run costs a
few hashes and two inspects.
"""

from __future__ import annotations

import argparse
import sys

from harness.images.base import ensure_base_image
from harness.images.engine import DockerUnavailableError
from harness.images.rie import ensure_rie
from harness.images.wheelhouse import ensure_wheelhouse
from harness.progress import say

# The images of the project's own catalogs: offline (torch) and offline-onnx/offline-int8 (lean).
WHEELHOUSES = (frozenset({"torch"}), frozenset({"onnxruntime"}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.images.prepare", description=__doc__)
    parser.add_argument("--skip-base", action="store_true", help="leave the base image alone")
    args = parser.parse_args(argv)
    rie = ensure_rie()
    say(f"setup: RIE at {rie}")
    for runtimes in WHEELHOUSES:
        house = ensure_wheelhouse(runtimes)
        say(f"setup: wheelhouse {house.path} ({len(house.wheels)} wheels)")
    if not args.skip_base:
        try:
            say(f"setup: base image {ensure_base_image()}")
        except DockerUnavailableError as exc:
            say(f"setup: {exc}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
