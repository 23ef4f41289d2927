"""Can a base image run the wheelhouse? Asked of the base image itself, before anything is built.

The wheelhouse holds CPython wheels for one Python version and manylinux tags, and the newest tag
among them sets the oldest glibc the image may have (torch 2.13's CPU build is manylinux_2_28: it
calls ``fcntl64``). A base image with another Python or an older glibc would fail minutes later,
deep inside pip, with "no matching distribution found for torch". This runs the base image's own
``python3`` once, in a throwaway container with no network, and says at once what is wrong and
what to do instead. ``public.ecr.aws/lambda/python:3.11`` is such a case: Amazon Linux 2, glibc 2.26.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import docker

from harness.docker_engine import BUILD_TIMEOUT_SECONDS, engine_client
from harness.errors import HarnessError

# The glibc each legacy manylinux alias stands for (PEP 600).
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_MANYLINUX = re.compile(r"manylinux_(\d+)_(\d+)_")
PROBE_LABEL = "io.github.lambda-inference.base-probe"  # marks the probe's throwaway containers
_PROBE = "import platform, sys; print('%d.%d' % sys.version_info[:2], platform.libc_ver()[1] or '-')"


class IncompatibleBaseImageError(HarnessError):
    """The base image cannot install or run the wheelhouse."""


@dataclass(frozen=True)
class BaseImageRuntime:
    """What a base image offers the wheels: its python3's version and its glibc's."""

    python: str
    glibc: tuple[int, int] | None  # None: not glibc (musl, or none found)

    @property
    def glibc_text(self) -> str:
        return _version(self.glibc) if self.glibc else "no glibc"


def wheel_glibc(name: str) -> tuple[int, int] | None:
    """The oldest glibc a wheel loads on, from its platform tag; None for pure-Python wheels.

    A wheel tagged for several platforms (``manylinux_2_17_x86_64.manylinux2014_x86_64``) needs
    the lowest of its own tags.
    """
    platform_tag = name.removesuffix(".whl").rsplit("-", 1)[-1]
    known = [needs for tag in platform_tag.split(".") if (needs := _tag_glibc(tag)) is not None]
    return min(known) if known else None


def required_glibc(wheel_names: Iterable[str]) -> tuple[int, int]:
    """The oldest glibc that loads every wheel: the highest floor among them."""
    return max((needs for name in wheel_names if (needs := wheel_glibc(name))), default=(0, 0))


def _version(pair: tuple[int, int]) -> str:
    return f"{pair[0]}.{pair[1]}"


def _tag_glibc(tag: str) -> tuple[int, int] | None:
    match = _MANYLINUX.match(tag)
    if match:
        return int(match[1]), int(match[2])
    return _LEGACY_MANYLINUX.get(tag.removesuffix("_x86_64").removesuffix("_aarch64"))


def parse_probe(output: str) -> BaseImageRuntime:
    """``"3.11 2.36"`` (what ``_PROBE`` prints) -> BaseImageRuntime."""
    fields = output.split()
    if len(fields) != 2 or not re.fullmatch(r"\d+\.\d+", fields[0]):
        raise ValueError(f"unexpected answer from the base image's python3: {output!r}")
    glibc = re.fullmatch(r"(\d+)\.(\d+)", fields[1])
    return BaseImageRuntime(fields[0], (int(glibc[1]), int(glibc[2])) if glibc else None)


def probe_base_image(image: str, timeout: float = 60) -> BaseImageRuntime:
    """Run the base image's python3 once: no network, as root, removed whatever happens."""
    client = engine_client(BUILD_TIMEOUT_SECONDS)
    container = None
    try:
        container = client.containers.create(
            image,
            ["-c", _PROBE],
            entrypoint="python3",
            network_mode="none",
            user="0",
            labels={PROBE_LABEL: image},
        )
        container.start()
        status = container.wait(timeout=timeout).get("StatusCode")
        if status != 0:
            stderr = container.logs(stdout=False, stderr=True).decode(errors="replace").strip()[-300:]
            raise IncompatibleBaseImageError(
                f"base image {image}: its python3 exited with {status} ({stderr}); "
                "the function image needs a working CPython on the base image's PATH"
            )
        return parse_probe(container.logs(stdout=True, stderr=False).decode(errors="replace"))
    except docker.errors.APIError as exc:  # e.g. no python3 on the PATH: the runtime cannot exec it
        raise IncompatibleBaseImageError(
            f"base image {image}: cannot run python3 in it ({exc.explanation or exc}); "
            "the function image needs a CPython on the base image's PATH"
        ) from exc
    finally:
        if container is not None:
            with contextlib.suppress(docker.errors.APIError):
                container.remove(force=True)
        client.close()


def check_base_image(image: str, python_version: str, wheel_names: Iterable[str]) -> BaseImageRuntime:
    """Raise IncompatibleBaseImageError unless ``image`` can install and load the wheelhouse."""
    runtime = probe_base_image(image)
    wheels = list(wheel_names)
    needed = required_glibc(wheels)
    problems = []
    if runtime.python != python_version:
        problems.append(f"its python3 is {runtime.python}, the wheelhouse is for CPython {python_version}")
    if runtime.glibc is None or runtime.glibc < needed:
        floor = runtime.glibc or (0, 0)
        too_new = sorted(n.split("-", 1)[0] for n in wheels if (wheel_glibc(n) or (0, 0)) > floor)
        problems.append(
            f"it has {runtime.glibc_text}; the wheelhouse needs glibc >= {_version(needed)} "
            f"({', '.join(too_new)})"
        )
    if problems:
        raise IncompatibleBaseImageError(
            f"base image {image} cannot run the function's dependencies: {'; '.join(problems)}. "
            "Leave BASE_IMAGE unset to build on the project's Debian bookworm base (the default, "
            "also for TARGET=aws); public.ecr.aws/lambda/python:3.11 is Amazon Linux 2 (glibc 2.26)."
        )
    return runtime
