"""The base-image check's pure parts: glibc floors from wheel tags, and the probe's answer."""

from __future__ import annotations

import pytest

from harness.images.compat import BaseImageRuntime, parse_probe, required_glibc, wheel_glibc

TORCH = "torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl"
NUMPY = "numpy-2.4.6-cp311-cp311-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl"
MARKUPSAFE = (
    "markupsafe-3.0.4-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl"
)
SIMPLEJSON = "simplejson-4.3.0-cp311-cp311-manylinux1_x86_64.manylinux_2_28_x86_64.manylinux_2_5_x86_64.whl"
PURE = "boto3-1.44.8-py3-none-any.whl"


@pytest.mark.parametrize(
    ("wheel", "floor"),
    [
        (TORCH, (2, 28)),
        (NUMPY, (2, 27)),  # several tags: the lowest one is enough
        (MARKUPSAFE, (2, 17)),  # manylinux2014 = glibc 2.17
        (SIMPLEJSON, (2, 5)),  # manylinux1 = glibc 2.5
        (PURE, None),
    ],
)
def test_wheel_glibc_is_the_lowest_of_its_tags(wheel: str, floor: tuple[int, int] | None) -> None:
    assert wheel_glibc(wheel) == floor


def test_required_glibc_is_the_highest_floor() -> None:
    assert required_glibc([PURE, MARKUPSAFE, NUMPY, TORCH]) == (2, 28)
    assert required_glibc([PURE, SIMPLEJSON]) == (2, 5)
    assert required_glibc([PURE]) == (0, 0)


def test_parse_probe() -> None:
    assert parse_probe("3.11 2.36\n") == BaseImageRuntime("3.11", (2, 36))
    assert parse_probe("3.12 -") == BaseImageRuntime("3.12", None)
    assert parse_probe("3.12 -").glibc_text == "no glibc"
    with pytest.raises(ValueError, match="unexpected answer"):
        parse_probe("Python 3.11.2")
