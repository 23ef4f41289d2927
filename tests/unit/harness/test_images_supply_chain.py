"""The image's supply chain without a network: the wheel locks, the Dockerfile's hash-checked
install and the RIE wheel's sha256 check (tests/image/test_supply_chain.py runs the real ones)."""

from __future__ import annotations

import hashlib
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from harness.images import requirements as requirements_module
from harness.images.requirements import Requirements, every_requirements_set, known_runtimes
from harness.images.rie import SAM_CLI_SHA256, RieError, extract_rie
from harness.images.wheelhouse import REQUIREMENTS_NAME, Wheelhouse, WheelhouseError, check_covered
from harness.images.wheellock import (
    LOCK_COMMAND,
    PIP_LOCK,
    PIP_VERSION,
    LockError,
    current_lock,
    current_pip_lock,
    lock_path,
    parse_lock,
)
from harness.paths import FUNCTION_DIR

RIE_MEMBER = "samcli/local/rapid/aws-lambda-rie-x86_64"


def _direct_requirements(requirements: Requirements) -> list[Requirement]:
    text = "\n".join(path.read_text() for path in requirements.files)
    lines = [line.split("#")[0].strip() for line in text.splitlines()]
    return [Requirement(line) for line in lines if line]


def test_every_runtime_combination_has_a_lock() -> None:
    assert set(known_runtimes()) == {"onnxruntime", "torch"}
    assert {r.name for r in every_requirements_set()} == {"onnxruntime", "torch", "onnxruntime-torch"}


@pytest.mark.parametrize("requirements", every_requirements_set(), ids=lambda r: r.name)
def test_each_lock_is_fresh_and_pins_every_direct_requirement_exactly(requirements: Requirements) -> None:
    lock = current_lock(requirements)  # raises when the requirements changed since the lock
    pinned = {wheel.name: wheel.version for wheel in lock.wheels}
    assert len(pinned) == len(lock.wheels), "a project is pinned twice"
    assert all(re.fullmatch(r"[0-9a-f]{64}", wheel.sha256) for wheel in lock.wheels)
    for direct in _direct_requirements(requirements):
        name = canonicalize_name(direct.name)
        assert name in pinned, f"{direct} is not in {lock.path.name}"
        assert direct.specifier.contains(pinned[name], prereleases=True), (direct, pinned[name])
    # Transitive wheels are pinned too: far more than the direct ones, and no CUDA build of torch.
    assert len(lock.wheels) > 2 * len(_direct_requirements(requirements))
    assert "pip" not in pinned, "pip installs the image; it is not installed into it"
    if "torch" in requirements.runtimes:
        assert pinned["torch"] == "2.13.0+cpu"
        assert not [name for name in pinned if name.startswith(("nvidia-", "triton", "cuda-"))]
    else:
        assert "torch" not in pinned and "transformers" not in pinned


def test_the_pip_lock_pins_the_pip_the_image_build_runs() -> None:
    lock = current_pip_lock()
    assert [(w.name, w.version) for w in lock.wheels] == [("pip", PIP_VERSION)]


def test_a_requirements_change_without_a_new_lock_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    function_dir = tmp_path / "function"
    shutil.copytree(FUNCTION_DIR / "requirements", function_dir / "requirements")
    base = function_dir / "requirements" / "base.txt"
    base.write_text(base.read_text() + "idna==3.20\n")
    monkeypatch.setattr(requirements_module, "FUNCTION_DIR", function_dir)
    monkeypatch.setattr(requirements_module, "REQUIREMENTS_DIR", function_dir / "requirements")
    monkeypatch.setattr(requirements_module, "BASE_REQUIREMENTS", base)
    with pytest.raises(LockError, match=re.escape(LOCK_COMMAND)) as refused:
        current_lock(Requirements(frozenset({"onnxruntime"})))
    assert "is stale" in str(refused.value)


def test_a_lock_entry_without_a_hash_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "lock.txt"
    lock.write_text("# inputs sha256: x\nnumpy==2.4.6 \\\n    --hash=sha256:" + "0" * 64 + "\nidna==3.20\n")
    with pytest.raises(LockError, match=re.escape("is not `name==version --hash=sha256:<hex>`: idna==3.20")):
        parse_lock(lock)
    lock.write_text("numpy>=2 --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(LockError, match="is not `name==version"):
        parse_lock(lock)


def _wheelhouse(tmp_path: Path, requirements: Requirements) -> Wheelhouse:
    """A wheelhouse of empty files named as pip names the locked wheels."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    shutil.copy(lock_path(requirements), house / REQUIREMENTS_NAME)
    shutil.copy(PIP_LOCK, house / "pip.txt")
    for wheel in (*parse_lock(lock_path(requirements)).wheels, *parse_lock(PIP_LOCK).wheels):
        (house / f"{wheel.name.replace('-', '_')}-{wheel.version}-py3-none-any.whl").write_bytes(b"")
    return Wheelhouse(house, tuple(sorted(p.name for p in house.glob("*.whl"))), requirements)


def test_a_wheelhouse_holding_an_unpinned_wheel_is_refused(tmp_path: Path) -> None:
    requirements = Requirements(frozenset({"onnxruntime"}))
    house = _wheelhouse(tmp_path, requirements)
    check_covered(house)  # every wheel pinned: accepted
    (house.path / "numpy-2.4.7-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"")  # another version
    (house.path / "requests-2.33.0-py3-none-any.whl").write_bytes(b"")  # not locked at all
    grown = Wheelhouse(house.path, tuple(sorted(p.name for p in house.path.glob("*.whl"))), requirements)
    with pytest.raises(WheelhouseError, match=r"numpy-2\.4\.7.*requests-2\.33\.0"):
        check_covered(grown)


def _dockerfile_commands() -> list[str]:
    """The Dockerfile's instructions with continuation lines joined and comments dropped."""
    text = (FUNCTION_DIR / "Dockerfile").read_text()
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    return re.sub(r"\\\n\s*", " ", "\n".join(lines)).splitlines()


def test_the_image_installs_the_lock_with_hashes_checked() -> None:
    commands = _dockerfile_commands()
    installs = [part for c in commands for part in c.split(";") if re.search(r"pip\S* install", part)]
    assert len(installs) == 1, installs
    install = installs[0].split()
    assert {"--no-index", "--require-hashes"} <= set(install)
    assert install[install.index("-r") + 1] == "/build/requirements.txt"
    # The pip wheel that runs the install is checked against the pip lock before it runs.
    run = next(c for c in commands if "--require-hashes" in c)
    assert run.index("sha256sum -c") < run.index("--require-hashes")
    assert "/build/pip.txt" in run[: run.index("sha256sum -c")]
    assert any(c.startswith("COPY requirements.txt pip.txt ") for c in commands)


def _fake_sam_wheel(path: Path, payload: bytes) -> str:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(RIE_MEMBER, payload)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_rie_is_extracted_only_from_the_pinned_wheel(tmp_path: Path) -> None:
    wheel = tmp_path / "aws_sam_cli-1.170.0-py3-none-any.whl"
    pinned = _fake_sam_wheel(wheel, b"\x7fELF rie")
    target = tmp_path / "bin" / "aws-lambda-rie"
    target.parent.mkdir()
    assert extract_rie(wheel, target, sha256=pinned).read_bytes() == b"\x7fELF rie"
    assert target.stat().st_mode & 0o111
    target.unlink()
    corrupted = tmp_path / "corrupted" / wheel.name
    corrupted.parent.mkdir()
    data = bytearray(wheel.read_bytes())
    data[-1] ^= 0xFF
    corrupted.write_bytes(bytes(data))
    with pytest.raises(RieError, match="refusing to extract"):
        extract_rie(corrupted, target, sha256=pinned)
    with pytest.raises(RieError, match=SAM_CLI_SHA256):  # the default pin is the real wheel's
        extract_rie(wheel, target)
    assert not target.exists() and not target.with_suffix(".partial").exists()
