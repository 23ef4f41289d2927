"""What the soak reads on the host: a process's resident memory, a container's memory, a folder's size.

Each probe answers ``None`` when it cannot read (a process gone, a container removed between the
listing and the read): a soak keeps sampling through an environment's end.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

# A container's memory as ``docker stats`` shows it: usage minus the inactive page cache (files
# read once, which the kernel drops first). cgroup v1 (cgroupfs driver), then v2 (systemd driver).
_CGROUP_V1 = "/sys/fs/cgroup/memory/docker/{id}"
_CGROUP_V2 = "/sys/fs/cgroup/system.slice/docker-{id}.scope"


def process_rss(pid: int) -> int | None:
    """``VmRSS`` of ``/proc/<pid>/status`` in bytes."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _stat_value(text: str, key: str) -> int:
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name == key:
            return int(value)
    return 0


def cgroup_memory(container_id: str) -> int | None:
    """The container's memory from its cgroup files (microseconds), None where this host has none."""
    v1 = Path(_CGROUP_V1.format(id=container_id))
    with contextlib.suppress(OSError, ValueError):
        usage = int((v1 / "memory.usage_in_bytes").read_text())
        return usage - _stat_value((v1 / "memory.stat").read_text(), "total_inactive_file")
    v2 = Path(_CGROUP_V2.format(id=container_id))
    with contextlib.suppress(OSError, ValueError):
        usage = int((v2 / "memory.current").read_text())
        return usage - _stat_value((v2 / "memory.stat").read_text(), "inactive_file")
    return None


def stats_memory(stats: dict[str, Any]) -> int | None:
    """The same figure from the engine's ``stats`` answer (when the cgroup files are not visible)."""
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    detail = memory.get("stats") or {}
    inactive = detail.get("total_inactive_file", detail.get("inactive_file", 0))
    return int(usage) - int(inactive)


def tree_size(root: Path) -> int | None:
    """Bytes of the regular files under ``root``; symlinks are not followed (the shared caches)."""
    if not root.exists():
        return None
    total = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        with contextlib.suppress(OSError), os.scandir(folder) as entries:
            for entry in entries:
                with contextlib.suppress(OSError):
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(Path(entry.path))
                    elif entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
    return total


def files_size(paths: list[Path]) -> int:
    """Bytes of the files that still exist."""
    total = 0
    for path in paths:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total
