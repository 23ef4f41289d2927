"""Session-wide defaults: the offline model cache and AWS settings that never reach AWS."""

from __future__ import annotations

import os

from harness import local_settings
from harness.paths import hf_cache_dir

# The offline catalog resolves from ../shared/hf-cache; nothing may try the HuggingFace Hub.
os.environ.setdefault("HF_HUB_CACHE", str(hf_cache_dir()))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
# boto3 clients built without explicit settings must never find real credentials or regions.
os.environ.setdefault("AWS_DEFAULT_REGION", local_settings.REGION)
for _name, _value in local_settings.CREDENTIALS_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_PROFILE", None)
