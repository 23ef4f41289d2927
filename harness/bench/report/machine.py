"""The machine the benchmark ran on: probed at the start of a run, one line in the report."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import platform
import sys
from pathlib import Path

from harness.bench.results import Machine

BUSY_LOAD_PER_CPU = 0.5  # a 1-minute load average above this share of the CPUs: a busy machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_info() -> Machine:
    """nproc, memory, CPU model and the software that did the measuring."""
    info = Machine(
        nproc=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        cpu_count=os.cpu_count(),
        cpu_model=_cpu_model(),
        memory_bytes=_memory_bytes(),
        os=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
    )
    # Other work on a 2-core machine shows in every latency (an earlier run beside a test suite
    # measured imports at 5.6 s instead of 2.0 s); the report says how busy the machine was.
    with contextlib.suppress(OSError, AttributeError):
        info.loadavg_1m_at_start = round(os.getloadavg()[0], 2)
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        info.torch = importlib.metadata.version("torch")
    with contextlib.suppress(importlib.metadata.PackageNotFoundError):
        info.onnxruntime = importlib.metadata.version("onnxruntime")
    torch = sys.modules.get("torch")  # threads only if already imported: importing takes seconds
    if torch is not None:
        info.torch_threads = torch.get_num_threads()
    return info


def machine_line(machine: Machine) -> str:
    memory = machine.memory_bytes
    memory_text = f"{memory / 2**30:.1f} GiB memory" if memory else "memory unknown"
    line = (
        f"{'?' if machine.nproc is None else machine.nproc} CPUs ({machine.cpu_model}), {memory_text}, "
        f"{machine.os}, Python {machine.python}, torch {machine.torch or '?'}"
    )
    if machine.onnxruntime:
        line += f", onnxruntime {machine.onnxruntime}"
    load = machine.loadavg_1m_at_start
    if load is not None:
        busy = load >= BUSY_LOAD_PER_CPU * (machine.nproc or 1)
        line += f", load average {load:.2f} at the start" + (
            " (busy: other work was running, so the timings are pessimistic)" if busy else ""
        )
    return line
