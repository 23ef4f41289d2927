"""Session-wide defaults: the offline model cache and AWS settings that never reach AWS."""

from __future__ import annotations

import os

from harness.paths import hf_cache_dir

# The offline catalog resolves from ../shared/hf-cache; nothing may try the HuggingFace Hub.
os.environ.setdefault("HF_HUB_CACHE", str(hf_cache_dir()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# boto3 clients built without explicit settings must never find real credentials or regions.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.pop("AWS_PROFILE", None)
