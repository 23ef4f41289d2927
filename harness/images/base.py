"""The base image: Debian bookworm's Python 3.11, built here with debootstrap + ``docker import``.

No registry can be pulled from, so the project makes its own base. debootstrap installs bookworm
from Debian's mirror, then apt upgrades it from the security suite (``bookworm-security``), so
the base carries the security fixes published when it was built. It is trimmed (no apt lists or
caches, docs, man pages, locales) and dpkg is told to keep it that way for anything installed on
top. The recipe's hash names the tag and is baked into the image as an environment variable, so a
changed recipe builds a new tag beside the old one (checkouts on one engine never rebuild each
other's base) and an unchanged one is a single ``inspect``.

A build is not reproducible from a date: snapshot.debian.org, which serves the archive as it was
at any moment, does not resolve from this machine (only Debian's package mirror answers), so the
mirror gives whatever it holds today. What went in is recorded instead: every build writes
a manifest (each package's exact version and architecture, and the ``Date:`` of the Release file
of each suite it came from) into the image (``MANIFEST_IN_IMAGE``) and beside it in the cache
folder (``packages_manifest()``, with the image id).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
from pathlib import Path

from harness.errors import HarnessError
from harness.images.engine import docker_client
from harness.images.locks import file_lock
from harness.paths import cache_dir
from harness.progress import Log, run_logged, say

BASE_REPOSITORY = "lambda-inference/base"
SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
# Debian's security archive, on the same mirror host (security.debian.org serves the same suite).
SECURITY_MIRROR = "http://deb.debian.org/debian-security"
SECURITY_SUITE = f"{SUITE}-security"
SOURCES_LIST = f"deb {MIRROR} {SUITE} main\ndeb {SECURITY_MIRROR} {SECURITY_SUITE} main\n"
MANIFEST_FORMAT = "${Package}\t${Version}\t${Architecture}\n"
# The same record inside the image, so an image found without its host record still tells.
MANIFEST_IN_IMAGE = "/usr/share/lambda-inference/base-packages.txt"
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
    "Get:",  # apt-get update and upgrade: each index and package fetched
    "Setting up ",
    "E:",
    "W:",
)


class BaseImageError(HarnessError):
    """debootstrap or the import failed."""


def recipe_hash() -> str:
    parts = [SUITE, MIRROR, SOURCES_LIST, *PACKAGES, *TRIM, DPKG_EXCLUDES, *IMPORT_CHANGES, MANIFEST_IN_IMAGE]
    recipe = "\n".join([*parts, "v2"])
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


#: The project's base, tagged by its recipe (``lambda-inference/base:py3.11-bookworm-<recipe>``).
BASE_IMAGE = f"{BASE_REPOSITORY}:py3.11-{SUITE}-{recipe_hash()[:12]}"


def packages_manifest(image: str = BASE_IMAGE) -> Path:
    """Where the build of ``image`` recorded its packages: ``<cache>/images/<tag>.packages.txt``."""
    return cache_dir() / "images" / f"{image.replace('/', '_').replace(':', '_')}.packages.txt"


def base_is_current(image: str = BASE_IMAGE) -> bool:
    """Whether the base exists and was made by this recipe (a hand-made one is rebuilt once)."""
    client = docker_client(timeout=60)
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
    _apply_security_updates(rootfs, log)
    releases = _release_dates(rootfs)
    _trim(rootfs)
    manifest = _manifest_text(image, releases, _installed_packages(rootfs))
    baked = rootfs / MANIFEST_IN_IMAGE.lstrip("/")
    baked.parent.mkdir(parents=True, exist_ok=True)
    baked.write_text(manifest)
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
    client = docker_client()
    try:
        client.api.import_image_from_file(
            str(archive),
            repository=repository,
            tag=tag,
            changes=[*IMPORT_CHANGES, f"ENV {RECIPE_ENV}={recipe_hash()}"],
        )
        inspected = client.api.inspect_image(image)
        size, image_id = inspected["Size"], inspected["Id"]
    finally:
        client.close()
    _remove_tree(work)
    record = packages_manifest(image)
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text(f"# image id: {image_id}\n{manifest}")
    log(f"base image: {image} imported, {size / 1e6:.0f} MB, in {time.monotonic() - started:.0f} s")
    count = sum(1 for line in manifest.splitlines() if not line.startswith("#"))
    log(f"base image: {count} packages recorded in {record} and {MANIFEST_IN_IMAGE}")
    return image


def _apply_security_updates(rootfs: Path, log: Log) -> None:
    """Point apt at the suite and its security suite, and upgrade what the security suite fixed."""
    (rootfs / "etc/apt/sources.list").write_text(SOURCES_LIST)
    log(f"base image: apt-get upgrade from {SECURITY_MIRROR} {SECURITY_SUITE}")
    env = "DEBIAN_FRONTEND=noninteractive"
    _run(["chroot", str(rootfs), "env", env, "apt-get", "-q", "update"], log, "apt-get update")
    upgrade = ["apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0", "--no-install-recommends", "upgrade"]
    _run(["chroot", str(rootfs), "env", env, *upgrade], log, "apt-get upgrade")


def _release_dates(rootfs: Path) -> list[str]:
    """``<Release file>: <its Date:>`` for each suite apt read: the archive's state the base shows."""
    dates = []
    for release in sorted((rootfs / "var/lib/apt/lists").glob("*Release")):
        lines = release.read_text(errors="replace").splitlines()
        date = next((line.removeprefix("Date:").strip() for line in lines if line.startswith("Date:")), "?")
        dates.append(f"{release.name}: {date}")
    return dates


def _installed_packages(rootfs: Path) -> str:
    """Every package of the root filesystem with its exact version, from its own dpkg database."""
    done = subprocess.run(
        ["dpkg-query", f"--admindir={rootfs / 'var/lib/dpkg'}", "-W", f"--showformat={MANIFEST_FORMAT}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BaseImageError(f"dpkg-query of the base image's packages failed:\n{done.stderr}")
    return "".join(sorted(done.stdout.splitlines(keepends=True)))


def _manifest_text(image: str, releases: list[str], packages: str) -> str:
    header = [
        f"# The Debian packages of {image}, recorded when it was built",
        f"# on {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} by harness/images/base.py, from:",
        *(f"#   {line}" for line in SOURCES_LIST.splitlines()),
        "# Release files read (the archive's date; snapshot.debian.org is not reachable from here):",
        *(f"#   {line}" for line in releases),
        "# package\tversion\tarchitecture",
    ]
    return "\n".join(header) + "\n" + packages


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
    returncode, tail = run_logged(command, log, _LOGGED, "base image")
    if returncode != 0:
        raise BaseImageError(f"{name} failed (exit {returncode}):\n{tail}")
