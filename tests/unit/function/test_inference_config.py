"""Settings from the environment: defaults, validation, derived budget and threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from inference.config import RUNTIME_BASELINE_MB, ConfigError, RequestLimits, Settings


def test_defaults_per_store() -> None:
    s3 = Settings.from_env({"MODEL_STORE": "s3", "MODEL_BUCKET": "b", "MODEL_PREFIX": "/p/q/"})
    assert (s3.bucket, s3.prefix, s3.cache_dir) == ("b", "p/q", Path("/tmp/models"))
    assert s3.manifest_ttl_seconds == 30.0
    assert s3.limits == RequestLimits(
        max_context_chars=100_000, max_question_chars=2_000, max_question_tokens=128, max_windows=48
    )
    assert Settings.from_env({"MODEL_STORE": "efs"}).model_root == Path("/mnt/models")
    assert Settings.from_env({"MODEL_STORE": "IMAGE"}).model_root == Path("/opt/models")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({}, "MODEL_STORE must be one of"),
        ({"MODEL_STORE": "gcs"}, "MODEL_STORE must be one of"),
        ({"MODEL_STORE": "s3"}, "MODEL_BUCKET is required"),
        ({"MODEL_STORE": "efs", "MAX_CONTEXT_CHARS": "lots"}, "MAX_CONTEXT_CHARS='lots' is not an integer"),
        ({"MODEL_STORE": "efs", "MAX_CONTEXT_CHARS": "0"}, "must be at least 1"),
        ({"MODEL_STORE": "efs", "MAX_QUESTION_CHARS": "-5"}, "MAX_QUESTION_CHARS=-5 must be at least 1"),
        ({"MODEL_STORE": "efs", "MAX_QUESTION_TOKENS": "253"}, "MAX_QUESTION_TOKENS=253 must be at most 252"),
        ({"MODEL_STORE": "efs", "MAX_WINDOWS": "many"}, "MAX_WINDOWS='many' is not an integer"),
        ({"MODEL_STORE": "efs", "MANIFEST_TTL_SECONDS": "-1"}, "MANIFEST_TTL_SECONDS=-1.0 must be at least"),
        ({"MODEL_STORE": "efs", "MODEL_MEMORY_BUDGET_MB": "x"}, "MODEL_MEMORY_BUDGET_MB"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        Settings.from_env(env)


def test_the_memory_budget_is_explicit_or_derived_from_the_function_memory() -> None:
    explicit = Settings.from_env({"MODEL_STORE": "efs", "MODEL_MEMORY_BUDGET_MB": "500"})
    assert explicit.memory_budget_bytes == 500 * 1024 * 1024
    derived = Settings.from_env({"MODEL_STORE": "efs", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "6000"})
    assert derived.memory_budget_mb == 6000 - RUNTIME_BASELINE_MB


def test_threads_follow_the_cpu_share_within_the_affinity() -> None:
    cpus = len(os.sched_getaffinity(0))
    for memory, share in ((1024, 1), (3538, 2), (10240, 5)):
        settings = Settings.from_env({"MODEL_STORE": "efs", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory)})
        assert settings.inference_threads() == max(1, min(cpus, share))
    assert Settings.from_env({"MODEL_STORE": "efs"}).inference_threads() == cpus


def test_request_limits_are_read_from_their_variables() -> None:
    env = {"MAX_CONTEXT_CHARS": "10", "MAX_QUESTION_CHARS": "20", "MAX_QUESTION_TOKENS": "30"}
    limits = Settings.from_env({"MODEL_STORE": "efs", "MAX_WINDOWS": "4", **env}).limits
    assert limits == RequestLimits(
        max_context_chars=10, max_question_chars=20, max_question_tokens=30, max_windows=4
    )
