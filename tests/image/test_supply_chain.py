"""The supply chain for real: the wheelhouses hold exactly the locked wheels (sha256 of every
file), the RIE comes only from the pinned aws-sam-cli wheel, and the base image records the exact
Debian packages it contains."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from inference.contract import sha256_of_file

from harness.images.base import (
    BASE_IMAGE,
    MANIFEST_FORMAT,
    MANIFEST_IN_IMAGE,
    SECURITY_SUITE,
    ensure_base_image,
    packages_manifest,
)
from harness.images.prepare import WHEELHOUSES
from harness.images.rie import RieError, download_sam_cli_wheel, ensure_rie, extract_rie
from harness.images.wheelhouse import ensure_wheelhouse
from harness.images.wheellock import parse_lock


@pytest.mark.parametrize("runtimes", WHEELHOUSES, ids=lambda r: "-".join(sorted(r)))
def test_the_wheelhouse_holds_only_locked_wheels(runtimes: frozenset[str]) -> None:
    house = ensure_wheelhouse(runtimes)
    locks = (parse_lock(house.requirements_file), parse_lock(house.pip_lock_file))
    pinned = {wheel for lock in locks for wheel in lock.wheels}
    found = set()
    for name in house.wheels:
        wheel = next((w for w in (lock.find(name) for lock in locks) if w), None)
        assert wheel is not None, f"{name} is in {house.path} but in no lock"
        assert sha256_of_file(house.path / name) == wheel.sha256, f"{name} is not the wheel locked"
        found.add(wheel)
    assert found == pinned, f"locked but missing: {sorted(w.name for w in pinned - found)}"


def test_the_rie_comes_only_from_the_pinned_wheel(tmp_path: Path) -> None:
    wheel = download_sam_cli_wheel(tmp_path)  # pip --require-hashes against the pin
    extracted = extract_rie(wheel, tmp_path / "aws-lambda-rie")
    assert sha256_of_file(extracted) == sha256_of_file(ensure_rie())
    corrupted = tmp_path / "corrupted" / wheel.name
    corrupted.parent.mkdir()
    shutil.copy(wheel, corrupted)
    with open(corrupted, "r+b") as stream:  # one byte flipped inside the archive
        stream.seek(corrupted.stat().st_size // 2)
        byte = stream.read(1)
        stream.seek(-1, 1)
        stream.write(bytes([byte[0] ^ 0xFF]))
    target = tmp_path / "refused" / "aws-lambda-rie"
    target.parent.mkdir()
    with pytest.raises(RieError, match="refusing to extract"):
        extract_rie(corrupted, target)
    assert list(target.parent.iterdir()) == []


def _package_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def test_the_base_image_records_its_exact_packages(docker_engine: Any) -> None:
    image = ensure_base_image()
    assert image == BASE_IMAGE
    script = f"cat {MANIFEST_IN_IMAGE}; echo '#---'; dpkg-query -W --showformat='{MANIFEST_FORMAT}'"
    output = docker_engine.containers.run(
        image, ["sh", "-c", script], network_mode="none", remove=True
    ).decode()
    baked, installed = output.split("#---\n")
    assert _package_lines(baked) == sorted(_package_lines(installed))
    assert SECURITY_SUITE in baked and "InRelease: " in baked
    assert any(line.startswith("libc6\t2.36-9+deb12u") for line in _package_lines(baked))
    record = packages_manifest(image)
    if record.is_file():  # written by the build on this machine; an image built elsewhere has only its copy
        assert _package_lines(record.read_text()) == _package_lines(baked)
