"""Where things live on the host. One place, so that every part agrees on the state folder."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTION_DIR = REPO_ROOT / "function"
CATALOGS_DIR = REPO_ROOT / "catalogs"
TERRAFORM_DIR = REPO_ROOT / "terraform"
MODULES_DIR = REPO_ROOT / "modules"
VARIANTS = ("s3", "efs", "oci")


def state_dir() -> Path:
    """The one git-ignored folder for everything the harness starts or generates.

    ``LAMBDA_INFERENCE_STATE`` moves it (tests use this to run isolated stacks).
    """
    path = Path(os.environ.get("LAMBDA_INFERENCE_STATE", REPO_ROOT / ".state"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_dir() -> Path:
    """Where built artifacts live: wheelhouse, RIE, base-image build, ONNX exports, model bundles.

    They are content-addressed and describe no deployment, so several state folders can share
    them: the test sessions run with a state folder of their own (no deployment, service or port
    of the user's) and ``LAMBDA_INFERENCE_CACHE`` pointing at the user's cache, instead of
    rebuilding gigabytes. Unset, it is the state folder, as it always was.
    """
    explicit = os.environ.get("LAMBDA_INFERENCE_CACHE")
    if not explicit:
        return state_dir()
    path = Path(explicit)
    path.mkdir(parents=True, exist_ok=True)
    return path


def shared_dir() -> Path:
    """``../shared`` beside the checkout: the offline model cache and the SQuAD dev set."""
    return Path(os.environ.get("LAMBDA_INFERENCE_SHARED", REPO_ROOT.parent / "shared"))


def hf_cache_dir() -> Path:
    return Path(os.environ.get("HF_HUB_CACHE", shared_dir() / "hf-cache"))
