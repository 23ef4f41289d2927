"""The function's settings, read once from its environment (docs/design.md lists the variables).

Everything is validated here so that a typo in a Terraform variable fails at init with a message
naming the variable, instead of surfacing later as a confusing store or cache error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

MIB = 1024 * 1024
STORES = ("s3", "efs", "image")
DEFAULT_MODEL_ROOT = {"efs": "/mnt/models", "image": "/opt/models"}
DEFAULT_CACHE_DIR = "/tmp/models"
DEFAULT_MANIFEST_TTL_SECONDS = 30.0
# A model that failed to load is tried again after 5 s, then 10, 20, ... at most 5 minutes
# (inference.backoff): long enough that a broken model costs no store reads per request, short
# enough that a repaired one (files re-seeded) comes back within minutes.
DEFAULT_FAILURE_BACKOFF_SECONDS = 5.0
DEFAULT_FAILURE_BACKOFF_MAX_SECONDS = 300.0
# What the runtime itself needs besides the models: Python + torch + transformers (~300 MB
# resident after import; ONNX Runtime needs less) and the activations of one batch of windows
# (a few hundred MB).
RUNTIME_BASELINE_MB = 640
# Lambda gives a function one vCPU's worth of CPU time per 1,769 MB of memory.
MB_PER_VCPU = 1769


class ConfigError(ValueError):
    """An environment variable is missing or has a value the function cannot use."""


@dataclass(frozen=True)
class RequestLimits:
    """How much work one request may ask for; beyond each limit the request answers 413.

    A public API must bound the work per request: a 99,000-character context of punctuation with
    a 120-token question passed every other check, made ~750 windows (~25 forward passes), and
    ran on long after API Gateway had answered 504 at 30 s, holding its environment. The cost of
    a request is its number of windows (each a forward pass over 384 tokens), so ``max_windows``
    is the limit that bounds the time; the others bound what is read before windows exist.

    Sized on one vCPU with the offline catalog's nlp1 (MiniLM-L6-H384) on torch, the slowest
    engine: ``python -m harness.bench.worst_case`` (one thread, pinned to one CPU) builds the
    worst accepted request (a 128-token question, 48 full windows) and answered it in 6.5 s
    (136 ms per window; 2026-12-02, a shared 2-core Xeon under load 3.7). Per-window times of up to
    190 ms were seen on the same machine when busier, 9.1 s for 48 windows: under 10 s either way.
    distilbert (the default catalog's two models: 6 layers of width 768, ~3.7x the work per token
    of width 384 at 384 tokens) needs about 0.5 s per window there: 48 windows about 24 s on one
    vCPU, so set MAX_WINDOWS=18 with that catalog for the same 10 s (or give the function 3 vCPUs).
    """

    # Characters, checked before tokenizing: tokenizing is linear in the text (0.5 s for 99,000
    # characters of punctuation) and the context's windows are what MAX_WINDOWS bounds.
    max_context_chars: int = 100_000
    # A question of 128 tokens is at most a few thousand characters of any script; more is
    # refused before the tokenizer sees it.
    max_question_chars: int = 2_000
    # With stride 128, a window of 384 tokens keeps 384 - 3 - question tokens, of which 128
    # overlap the previous window: a 128-token question leaves 125 new context tokens per window.
    max_question_tokens: int = 128
    # 48 full windows: 6.5 s measured for nlp1 on torch, one thread (see above). That is 6,128
    # context tokens with a 128-token question, ~11,500 with a short one (~50,000 characters of
    # English prose: a longer context answers 413 even under MAX_CONTEXT_CHARS).
    max_windows: int = 48

    # The tokenizer cannot cut a pair whose question leaves no room for context beside the
    # stride: 384 - 3 special tokens - 128 stride - at least one context token.
    QUESTION_TOKENS_CEILING = 252

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RequestLimits:
        defaults = cls()
        return cls(
            max_context_chars=_required_int(env, "MAX_CONTEXT_CHARS", defaults.max_context_chars),
            max_question_chars=_required_int(env, "MAX_QUESTION_CHARS", defaults.max_question_chars),
            max_question_tokens=_required_int(
                env, "MAX_QUESTION_TOKENS", defaults.max_question_tokens, cls.QUESTION_TOKENS_CEILING
            ),
            max_windows=_required_int(env, "MAX_WINDOWS", defaults.max_windows),
        )


N = TypeVar("N", int, float)


def _number(
    env: Mapping[str, str],
    name: str,
    default: N | None,
    parse: Callable[[str], N],
    what: str,
    minimum: N,
    maximum: N | None = None,
) -> N | None:
    """The setting ``name`` parsed, within its bounds, or ``default`` when unset or blank; the
    message names the variable and shows at most 40 characters of a value that does not parse."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw[:40]!r} is not {what}") from None
    if value < minimum:
        raise ConfigError(f"{name}={value} must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name}={value} must be at most {maximum}")
    return value


def _int(
    env: Mapping[str, str], name: str, default: int | None, minimum: int = 0, maximum: int | None = None
) -> int | None:
    return _number(env, name, default, int, "an integer", minimum, maximum)


def _required_int(env: Mapping[str, str], name: str, default: int, maximum: int | None = None) -> int:
    """A positive integer setting with a default (so never None)."""
    value = _int(env, name, default, minimum=1, maximum=maximum)
    assert value is not None  # a default was given
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    value = _number(env, name, default, float, "a number", minimum)
    assert value is not None  # a default was given
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
    limits: RequestLimits = RequestLimits()
    manifest_ttl_seconds: float = DEFAULT_MANIFEST_TTL_SECONDS
    memory_budget_mb: int = 2048
    function_memory_mb: int | None = None
    ephemeral_storage_mb: int | None = None
    failure_backoff_seconds: float = DEFAULT_FAILURE_BACKOFF_SECONDS
    failure_backoff_max_seconds: float = DEFAULT_FAILURE_BACKOFF_MAX_SECONDS

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
            limits=RequestLimits.from_env(env),
            manifest_ttl_seconds=_float(env, "MANIFEST_TTL_SECONDS", DEFAULT_MANIFEST_TTL_SECONDS),
            memory_budget_mb=budget,
            function_memory_mb=function_memory,
            ephemeral_storage_mb=_int(env, "EPHEMERAL_STORAGE_MB", None, minimum=1),
            failure_backoff_seconds=_float(
                env, "MODEL_FAILURE_BACKOFF_SECONDS", DEFAULT_FAILURE_BACKOFF_SECONDS
            ),
            failure_backoff_max_seconds=_float(
                env, "MODEL_FAILURE_BACKOFF_MAX_SECONDS", DEFAULT_FAILURE_BACKOFF_MAX_SECONDS
            ),
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
