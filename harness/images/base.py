"""The base image: Debian bookworm's Python 3.11, built here with debootstrap + ``docker import``.

No registry can be pulled from, so the project makes its own base. It is trimmed (no apt lists
or caches, docs, man pages, locales) and dpkg is told to keep it that way for anything installed
on top. The recipe's hash is baked into the image as an environment variable, so a changed recipe
rebuilds and an unchanged one is a single ``inspect``.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from harness.docker_engine import BUILD_TIMEOUT_SECONDS, engine_client
from harness.errors import HarnessError
from harness.locks import file_lock
from harness.paths import cache_dir
from harness.progress import Log, say

BASE_IMAGE = "lambda-inference/base:py3.11-bookworm"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ("python3", "ca-certificates")
RECIPE_ENV = "LAMBDA_INFERENCE_BASE_RECIPE"
# Paths removed from the root filesystem (globs relative to it); also excluded by dpkg afterwards.
TRIM = (
    "var/cache/apt/*",
    "var/lib/apt/lists/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/log/*",
    "usr/share/doc/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/locale/*",
    "usr/share/lintian/*",
    "usr/share/common-licenses/*",
    "debootstrap",
)
DPKG_EXCLUDES = """\
# Keep images built on this base as small as the base: no docs, man pages or translations.
path-exclude /usr/share/doc/*
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
"""
IMPORT_CHANGES = (
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["python3"]',
)


_LOGGED = (
    "I: Retrieving Release ",
    "I: Retrieving Packages",
    "I: Unpacking the base",
    "I: Installing core",
    "I: Configuring required",
    "I: Base system installed",
    "E:",
    "W:",
)


class BaseImageError(HarnessError):
    """debootstrap or the import failed."""


def recipe_hash() -> str:
    recipe = "\n".join([SUITE, MIRROR, *PACKAGES, *TRIM, DPKG_EXCLUDES, *IMPORT_CHANGES, "v1"])
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def base_is_current(image: str = BASE_IMAGE) -> bool:
    """Whether the base exists and was made by this recipe (a hand-made one is rebuilt once)."""
    client = engine_client(timeout=60)
    try:
        env = client.api.inspect_image(image)["Config"].get("Env") or []
    except Exception:  # docker.errors.ImageNotFound, or a half-removed image
        return False
    finally:
        client.close()
    return f"{RECIPE_ENV}={recipe_hash()}" in env


def ensure_base_image(image: str = BASE_IMAGE, log: Log = say) -> str:
    """Return the base image's tag, building it first when missing or made by another recipe."""
    if base_is_current(image):
        return image
    with file_lock(cache_dir() / "build" / "base.lock"):
        if not base_is_current(image):  # another process may have built it while we waited
            build_base_image(image, log)
    return image


def build_base_image(image: str = BASE_IMAGE, log: Log = say) -> str:
    """debootstrap a minimal bookworm with python3, trim it, and import it as ``image``."""
    work = cache_dir() / "build" / "base"
    rootfs, archive = work / "rootfs", work / "rootfs.tar"
    _remove_tree(rootfs)
    work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"base image: debootstrap {SUITE} ({', '.join(PACKAGES)}) from {MIRROR}; about a minute")
    _run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), MIRROR],
        log,
        "debootstrap",
    )
    _trim(rootfs)
    log("base image: packing the root filesystem")
    _run(
        [
            "tar",
            "--numeric-owner",
            "--xattrs",
            "-C",
            str(rootfs),
            "--exclude=./dev/*",
            "--exclude=./proc/*",
            "--exclude=./sys/*",
            "-cf",
            str(archive),
            ".",
        ],
        log,
        "tar",
    )
    repository, tag = image.rsplit(":", 1)
    client = engine_client(BUILD_TIMEOUT_SECONDS)
    try:
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=tag,
            changes=[*IMPORT_CHANGES, f"ENV {RECIPE_ENV}={recipe_hash()}"],
        )
        size = client.api.inspect_image(image)["Size"]
    finally:
        client.close()
    _remove_tree(work)
    log(f"base image: {image} imported, {size / 1e6:.0f} MB, in {time.monotonic() - started:.0f} s")
    return image


def _trim(rootfs: Path) -> None:
    for pattern in TRIM:
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    excludes = rootfs / "etc/dpkg/dpkg.cfg.d/lambda-inference-excludes"
    excludes.write_text(DPKG_EXCLUDES)


def _remove_tree(path: Path) -> None:
    """Remove a debootstrap tree, first unmounting anything a failed run left mounted in it."""
    if not path.exists():
        return
    with open("/proc/mounts") as mounts:
        inside = [line.split()[1] for line in mounts if line.split()[1].startswith(str(path.resolve()) + "/")]
    for mountpoint in sorted(inside, reverse=True):
        subprocess.run(["umount", "-l", mountpoint], check=False)
    shutil.rmtree(path)


def _run(command: list[str], log: Log, name: str) -> None:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as proc:
        assert proc.stdout is not None
        tail: list[str] = []
        for raw in proc.stdout:
            line = raw.rstrip()
            tail = [*tail[-40:], line]
            if line.startswith(_LOGGED):
                log(f"base image: {line}")
    if proc.returncode != 0:
        raise BaseImageError(f"{name} failed (exit {proc.returncode}):\n" + "\n".join(tail))
