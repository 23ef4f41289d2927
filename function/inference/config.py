"""The function's settings, read once from its environment (docs/design.md lists the variables).

Everything is validated here so that a typo in a Terraform variable fails at init with a message
naming the variable, instead of surfacing later as a confusing store or cache error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
STORES = ("s3", "efs", "image")
DEFAULT_MODEL_ROOT = {"efs": "/mnt/models", "image": "/opt/models"}
DEFAULT_CACHE_DIR = "/tmp/models"
DEFAULT_MAX_CONTEXT_CHARS = 100_000
DEFAULT_MANIFEST_TTL_SECONDS = 30.0
# What the runtime itself needs besides the models: Python + torch + transformers (~300 MB
# resident after import; ONNX Runtime needs less) and the activations of one batch of windows
# (a few hundred MB).
RUNTIME_BASELINE_MB = 640
# Lambda gives a function one vCPU's worth of CPU time per 1,769 MB of memory.
MB_PER_VCPU = 1769


class ConfigError(ValueError):
    """An environment variable is missing or has a value the function cannot use."""


def _int(env: Mapping[str, str], name: str, default: int | None, minimum: int = 0) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    return value


def physical_memory_mb() -> int:
    """Memory of the machine (outside Lambda, where the function's memory size is unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB)
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-Linux
        return 4096


@dataclass(frozen=True)
class Settings:
    """Validated configuration of one function environment."""

    store: str
    bucket: str = ""
    prefix: str = ""
    model_root: Path | None = None
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    max_context_chars: int = DEFAULT_MAX_CONTEXT_CHARS
    manifest_ttl_seconds: float = DEFAULT_MANIFEST_TTL_SECONDS
    memory_budget_mb: int = 2048
    function_memory_mb: int | None = None
    ephemeral_storage_mb: int | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        store = env.get("MODEL_STORE", "").strip().lower()
        if store not in STORES:
            raise ConfigError(f"MODEL_STORE must be one of {', '.join(STORES)} (got {store!r})")
        bucket = env.get("MODEL_BUCKET", "").strip()
        if store == "s3" and not bucket:
            raise ConfigError("MODEL_BUCKET is required when MODEL_STORE=s3")
        root = env.get("MODEL_ROOT", "").strip() or DEFAULT_MODEL_ROOT.get(store, "")
        function_memory = _int(env, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", None, minimum=128)
        budget = _int(env, "MODEL_MEMORY_BUDGET_MB", None, minimum=1)
        if budget is None:
            budget = derived_memory_budget_mb(function_memory)
        return cls(
            store=store,
            bucket=bucket,
            prefix=env.get("MODEL_PREFIX", "").strip().strip("/"),
            model_root=Path(root) if root else None,
            cache_dir=Path(env.get("MODEL_CACHE_DIR", "").strip() or DEFAULT_CACHE_DIR),
            max_context_chars=_int(env, "MAX_CONTEXT_CHARS", DEFAULT_MAX_CONTEXT_CHARS, minimum=1) or 1,
            manifest_ttl_seconds=_float(env, "MANIFEST_TTL_SECONDS", DEFAULT_MANIFEST_TTL_SECONDS),
            memory_budget_mb=budget,
            function_memory_mb=function_memory,
            ephemeral_storage_mb=_int(env, "EPHEMERAL_STORAGE_MB", None, minimum=1),
        )

    @property
    def memory_budget_bytes(self) -> int:
        return self.memory_budget_mb * MIB

    def inference_threads(self) -> int:
        """Intra-op threads: the function's CPU share, never more than the CPUs we may run on.

        Rounded down: with a CPU quota, one thread too many spins against the quota and makes
        every matrix multiply wait for the slowest thread.
        """
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        if self.function_memory_mb is None:
            return max(1, available)
        return max(1, min(available, self.function_memory_mb // MB_PER_VCPU))


def derived_memory_budget_mb(function_memory_mb: int | None) -> int:
    """What the in-memory model cache may hold: the function's memory minus the runtime's own."""
    total = function_memory_mb if function_memory_mb is not None else physical_memory_mb()
    return max(total - RUNTIME_BASELINE_MB, 128)
