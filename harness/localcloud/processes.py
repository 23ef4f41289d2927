"""Background processes the local cloud starts, recorded so they can be stopped by pid, and only them.

Each one leaves ``<name>.pid``, ``<name>.log`` and ``<name>.json`` (argv, pid, the kernel's start
time of that pid) under ``.state/services/``. The start time guards against pid reuse: a record
whose pid now belongs to another program is treated as not running, and that program is never
signalled.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.paths import REPO_ROOT

# Popen objects of the children this process started, kept so they can be reaped (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class ProcessRecord:
    name: str
    pid: int
    argv: list[str]
    start_ticks: int
    log: str
    started_at: float

    @property
    def log_path(self) -> Path:
        return Path(self.log)


def _start_ticks(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), None if gone or a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def _paths(services_dir: Path, name: str) -> tuple[Path, Path, Path]:
    return services_dir / f"{name}.pid", services_dir / f"{name}.json", services_dir / f"{name}.log"


def start(name: str, argv: list[str], env: dict[str, str], services_dir: Path) -> ProcessRecord:
    """Start ``argv`` in its own session, output to ``<name>.log``; record it."""
    services_dir.mkdir(parents=True, exist_ok=True)
    pid_path, record_path, log_path = _paths(services_dir, name)
    with log_path.open("ab") as log_file:
        log_file.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        log_file.flush()
        child = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO_ROOT,
            start_new_session=True,
        )
    _children[child.pid] = child
    record = ProcessRecord(name, child.pid, argv, _start_ticks(child.pid) or 0, str(log_path), time.time())
    record_path.write_text(json.dumps(asdict(record), indent=2))
    pid_path.write_text(f"{child.pid}\n")
    return record


def load(name: str, services_dir: Path) -> ProcessRecord | None:
    _, record_path, _ = _paths(services_dir, name)
    try:
        return ProcessRecord(**json.loads(record_path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def alive(record: ProcessRecord) -> bool:
    """Whether the recorded process still runs (the same process, not a reuse of its pid)."""
    _reap(record.pid)
    ticks = _start_ticks(record.pid)
    return ticks is not None and (record.start_ticks == 0 or ticks == record.start_ticks)


def stop(record: ProcessRecord, timeout: float = 20.0) -> bool:
    """SIGTERM, wait up to ``timeout``, then SIGKILL. True if it was running."""
    if not alive(record):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    if not _wait_gone(record, timeout):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
        _wait_gone(record, 10.0)
    return True


def forget(name: str, services_dir: Path) -> None:
    for path in _paths(services_dir, name)[:2]:
        path.unlink(missing_ok=True)


def log_tail(record_or_path: ProcessRecord | Path, lines: int = 15) -> str:
    path = record_or_path.log_path if isinstance(record_or_path, ProcessRecord) else record_or_path
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(record):
            return True
        time.sleep(0.1)
    return not alive(record)


def _reap(pid: int) -> None:
    """Collect the exit status of a child of ours, so it does not linger as a zombie."""
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]
