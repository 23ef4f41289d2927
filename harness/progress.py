"""Progress lines for long work: one style for every step the harness runs, all on stderr.

Long steps (debootstrap, pip, docker build and push, exports, uploads) take an optional ``log``
callback (``Log``) so the CLI, tests and setup.sh decide where lines go; the default, ``say``,
prints them at once, since a silent minute looks like a hang.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

Log = Callable[[str], None]
TAIL_LINES = 40


def run_logged(command: Sequence[str], log: Log, shown: tuple[str, ...], label: str) -> tuple[int, str]:
    """Run ``command`` (stderr merged into stdout), logging as ``label: <line>`` each line that
    starts with one of ``shown`` as it arrives; returns the exit code and the output's last lines,
    which is what a failure's message needs."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-TAIL_LINES:], line]
            if line.startswith(shown):
                log(f"{label}: {line}")
    return proc.returncode, "\n".join(tail)


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
