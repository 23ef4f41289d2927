"""Settings from the environment: defaults, validation, derived budget and threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from inference.config import RUNTIME_BASELINE_MB, ConfigError, Settings


def test_defaults_per_store() -> None:
    s3 = Settings.from_env({"MODEL_STORE": "s3", "MODEL_BUCKET": "b", "MODEL_PREFIX": "/p/q/"})
    assert (s3.bucket, s3.prefix, s3.cache_dir) == ("b", "p/q", Path("/tmp/models"))
    assert (s3.max_context_chars, s3.manifest_ttl_seconds) == (100_000, 30.0)
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
