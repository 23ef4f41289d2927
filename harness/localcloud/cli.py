"""``python -m harness.localcloud up|down|status|logs <function> [--follow]``: thin, prints JSON or text.

The project's CLI (``python -m harness local ...``) calls the same functions; this one exists so the
local cloud can be driven on its own (and followed live with ``logs --follow``).
"""

from __future__ import annotations

import argparse
import json
import sys

from harness.errors import HarnessError
from harness.localcloud import logstreams as log_reader
from harness.localcloud.services import down, status, up


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m harness.localcloud", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start dockerd (if needed), the registry, moto and the gateway")
    sub.add_parser("down", help="stop what up started; remove this instance's containers, networks, volumes")
    sub.add_parser("status", help="what runs now")
    p = sub.add_parser("logs", help="a function's execution environment logs")
    p.add_argument("function")
    p.add_argument("--follow", "-f", action="store_true", help="keep printing new lines")
    args = parser.parse_args(argv)
    try:
        if args.command == "logs":
            if args.follow:
                log_reader.follow(args.function)
            else:
                print(log_reader.logs(args.function))
            return 0
        result = {"up": up, "down": down, "status": status}[args.command]()
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0
