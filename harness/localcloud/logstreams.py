"""Reading the environments' log streams: ``.state/logs/<function>/<env-id>.log``, like CloudWatch.

A stream past its size cap is two files, the older part in ``<env-id>.log.1`` (runtime/envlog.py).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from harness.localcloud.config import Settings
from harness.localcloud.runtime.envlog import stream_files


def log_streams(function_name: str, settings: Settings | None = None) -> list[Path]:
    """The function's streams, oldest first (one per execution environment)."""
    folder = (settings or Settings.from_env()).logs_dir / function_name
    return sorted(folder.glob("*.log"), key=lambda p: (p.stat().st_mtime, p.name)) if folder.is_dir() else []


def logs(function_name: str, settings: Settings | None = None) -> str:
    """Every stream of the function, each under a header naming its environment."""
    streams = log_streams(function_name, settings)
    if not streams:
        return f"no logs for function {function_name!r} yet"
    parts = []
    for path in streams:
        parts.append(f"==> {function_name} / environment {path.stem} ({path}) <==")
        parts.append("".join(p.read_text(errors="replace") for p in stream_files(path)).rstrip("\n"))
    return "\n".join(parts)


def follow(
    function_name: str, settings: Settings | None = None, out: TextIO = sys.stdout, poll: float = 0.5
) -> None:
    """Print new lines of every stream as they are written, new environments included (Ctrl-C ends)."""
    offsets: dict[Path, int] = {}
    try:
        while True:
            for path in log_streams(function_name, settings):
                offset = offsets.get(path, 0)
                size = path.stat().st_size
                if size < offset:  # rotated: the new file starts from nothing
                    offset = 0
                if size > offset:
                    with path.open("rb") as stream:
                        stream.seek(offset)
                        for line in stream.read(size - offset).decode(errors="replace").splitlines():
                            out.write(f"[{path.stem}] {line}\n")
                    offsets[path] = size
            out.flush()
            time.sleep(poll)
    except KeyboardInterrupt:
        return
