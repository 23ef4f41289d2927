"""Progress lines for long image steps (debootstrap, pip, docker build and push).

Every step takes an optional ``log`` callback so the CLI, tests and setup.sh decide where lines
go; the default prints them at once, since a silent minute looks like a hang.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

Log = Callable[[str], None]


def print_line(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


