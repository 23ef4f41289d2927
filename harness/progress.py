"""Progress lines for long work: one style for every step the harness runs, all on stderr.

Long steps (debootstrap, pip, docker build and push, exports, uploads) take an optional ``log``
callback (``Log``) so the CLI, tests and setup.sh decide where lines go; the default, ``say``,
prints them at once, since a silent minute looks like a hang.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Log = Callable[[str], None]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def step(title: str) -> Iterator[None]:
    """Announce a step, and say how long it took (or that it failed) when it ends."""
    say(f"==> {title}")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"<== {title}: failed after {time.monotonic() - started:.1f}s")
        raise
    say(f"<== {title}: {time.monotonic() - started:.1f}s")
