"""The fleet catalog: N distinct QA models made on the host from the two offline models.

A user with 50 fine-tunes behind one function pays, per model, a separate download, load and
cache entry. The offline cache holds two models, so the fleet copies them: model ``qa-<i>`` copies
base ``i % 2`` of ``catalogs/offline.json`` (``qa-000`` nlp1, ``qa-001`` nlp2, ...) and becomes a
revision of its own by one deterministic, answer-preserving change: its ``model.safetensors``
header gets ``__metadata__`` entries naming the copy (``fleet_model_type``, ``fleet_base``).
safetensors tensor offsets are relative to the end of the header, so the tensors' bytes are the
same and every copy answers exactly as its base (the car question: "1886"); but each copy's file
has its own sha256, and so its own folder in every store, as a real fine-tune would.

Generation is reproducible and cheap: the copies live in ``<cache>/fleet/models/qa-<i>/`` and a
copy whose weights already have the expected size and header is left alone (no bytes written),
so an unchanged fleet bundles and publishes nothing. The other files (config, tokenizer) are
hard-linked from the base. ``FLEET_SIZE`` (default 50) sets N; the generated catalog file
``<cache>/fleet/fleet.json`` records each model's base.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from inference.contract import DEFAULT_ENGINE, ENGINE_RUNTIMES, Catalog

from harness.local_settings import env_int
from harness.models.bundle import write_atomically, write_if_changed
from harness.models.resolve import CatalogError, ResolvedModel, resolve_catalog
from harness.paths import CATALOGS_DIR, cache_dir
from harness.progress import Log, say

FLEET_NAME = "fleet"
FLEET_SIZE_VARIABLE = "FLEET_SIZE"
DEFAULT_FLEET_SIZE = 50
MAX_FLEET_SIZE = 10_000
BASE_CATALOG = "offline"
# Every fleet model runs on torch: an ONNX fleet would export each copy separately (minutes per
# model) for no new information; the engines' own comparison is in docs/engines.md.
FLEET_ENGINE = DEFAULT_ENGINE
FLEET_RUNTIMES = frozenset({ENGINE_RUNTIMES[FLEET_ENGINE]})
WEIGHTS_FILE = "model.safetensors"
_HEADER_LENGTH = struct.Struct("<Q")
# safetensors pads its header with spaces so the tensors start 8-byte aligned.
_HEADER_ALIGNMENT = 8


@dataclass(frozen=True)
class FleetModel:
    """One generated model: its type, the base it copies, and its folder on the host."""

    model_type: str
    base: str  # the base catalog's model_type (nlp1, nlp2)
    directory: Path


def fleet_size(env: dict[str, str] | None = None) -> int:
    """N from ``FLEET_SIZE`` (default 50); a clear error for anything but 1..10000."""
    try:
        size = env_int(FLEET_SIZE_VARIABLE, DEFAULT_FLEET_SIZE, env)
    except ValueError as exc:
        raise CatalogError(str(exc)) from None
    if not 1 <= size <= MAX_FLEET_SIZE:
        raise CatalogError(f"{FLEET_SIZE_VARIABLE}={size} must be between 1 and {MAX_FLEET_SIZE}")
    return size


def model_types(size: int | None = None) -> list[str]:
    """The fleet's model types for a size: ``qa-000`` ... ``qa-{N-1}`` (3 digits, more past 1000)."""
    size = fleet_size() if size is None else size
    width = max(3, len(str(size - 1)))
    return [f"qa-{index:0{width}d}" for index in range(size)]


def fleet_dir() -> Path:
    return cache_dir() / FLEET_NAME


def fleet_catalog_path() -> Path:
    return fleet_dir() / f"{FLEET_NAME}.json"


def _bases() -> list[ResolvedModel]:
    base = Catalog.load(CATALOGS_DIR / f"{BASE_CATALOG}.json")
    return resolve_catalog(base)  # sorted by model_type: nlp1, nlp2


def stamped_header(weights: Path, metadata: dict[str, str]) -> tuple[bytes, int]:
    """The safetensors header of ``weights`` with ``metadata`` merged into ``__metadata__``, and
    the offset where the original file's tensors start. Padded to safetensors' alignment."""
    with open(weights, "rb") as stream:
        (length,) = _HEADER_LENGTH.unpack(stream.read(_HEADER_LENGTH.size))
        header = json.loads(stream.read(length))
    header["__metadata__"] = {**header.get("__metadata__", {}), **metadata}
    text = json.dumps(header, separators=(",", ":"), sort_keys=True).encode()
    text += b" " * (-len(text) % _HEADER_ALIGNMENT)
    return _HEADER_LENGTH.pack(len(text)) + text, _HEADER_LENGTH.size + length


def write_stamped_weights(base: Path, target: Path, metadata: dict[str, str]) -> bool:
    """Write the stamped copy of ``base`` at ``target`` unless it is already there; True if written.

    A new revision of a model that answers as its base does (the fleet's copies; the fault tests'
    "good revision" published over a corrupted one)."""
    header, data_offset = stamped_header(base, metadata)
    size = len(header) + base.stat().st_size - data_offset
    if target.is_file() and target.stat().st_size == size:
        with open(target, "rb") as existing:
            if existing.read(len(header)) == header:
                return False

    def write(out: BinaryIO) -> None:
        out.write(header)
        with open(base, "rb") as source:
            source.seek(data_offset)
            shutil.copyfileobj(source, out, 16 * 1024 * 1024)

    write_atomically(target, write)
    return True


def _link_others(base: ResolvedModel, target: Path) -> None:
    """Config and tokenizer files: the base's own bytes (a hard link when possible)."""
    for src in base.files:
        if src.name == WEIGHTS_FILE:
            continue
        dst = target / src.name
        if dst.is_file() and dst.read_bytes() == src.read_bytes():  # small files: compare bytes
            continue
        dst.unlink(missing_ok=True)
        try:
            os.link(src, dst)
        except OSError:
            shutil.copy2(src, dst)


def planned_sizes(size: int | None = None) -> list[int]:
    """Each fleet model's bytes, known before any is generated (a copy is its base's size plus
    a few header bytes): what the oci build checks against Lambda's image limit first."""
    size = fleet_size() if size is None else size
    bases = [sum(p.stat().st_size for p in base.files) + 256 for base in _bases()]
    return [bases[index % len(bases)] for index in range(size)]


def generate_fleet(size: int | None = None, progress: Log = say) -> list[FleetModel]:
    """Make (or find) the N models on the host; returns them in model_type order."""
    size = fleet_size() if size is None else size
    bases = _bases()
    for base in bases:
        if not any(f.name == WEIGHTS_FILE for f in base.files):
            raise CatalogError(f"the fleet copies {base.model_type!r}, which has no {WEIGHTS_FILE}")
    models, written = [], 0
    for index, model_type in enumerate(model_types(size)):
        base = bases[index % len(bases)]
        directory = fleet_dir() / "models" / model_type
        directory.mkdir(parents=True, exist_ok=True)
        metadata = {"fleet_model_type": model_type, "fleet_base": f"{base.source}@{base.revision}"}
        written += write_stamped_weights(base.directory / WEIGHTS_FILE, directory / WEIGHTS_FILE, metadata)
        _link_others(base, directory)
        models.append(FleetModel(model_type, base.model_type, directory))
        if written and (index + 1) % 10 == 0:
            progress(f"    fleet: {index + 1}/{size} models ready ({written} written)")
    unchanged = size - written
    where = fleet_dir() / "models"
    progress(f"    fleet: {size} models in {where} ({written} written, {unchanged} unchanged)")
    return models


def fleet_catalog(size: int | None = None, progress: Log = say) -> Catalog:
    """The fleet as a catalog named ``fleet`` (its file records each model's base).

    A deploy asks for its catalog several times (image, bundle, checks): the models are checked
    on the host once per size and cache folder in a process.
    """
    size = fleet_size() if size is None else size
    key = (size, str(fleet_dir()))
    if key not in _generated:
        _generated[key] = _write_catalog(generate_fleet(size, progress))
    return Catalog.load(_generated[key])


_generated: dict[tuple[int, str], Path] = {}


def _write_catalog(models: list[FleetModel]) -> Path:
    raw = {
        "description": (
            f"{len(models)} generated copies of the {BASE_CATALOG} catalog's models (qa-<i> copies "
            f"base i % 2), each with its own safetensors header metadata; see harness/models/fleet.py"
        ),
        "models": {
            m.model_type: {"path": str(m.directory), "base": m.base, "engine": FLEET_ENGINE, "eager": False}
            for m in models
        },
    }
    path = fleet_catalog_path()
    write_if_changed(path, json.dumps(raw, indent=2, sort_keys=True) + "\n")
    return path


__all__ = [
    "DEFAULT_FLEET_SIZE",
    "FLEET_ENGINE",
    "FLEET_NAME",
    "FLEET_RUNTIMES",
    "FLEET_SIZE_VARIABLE",
    "FleetModel",
    "fleet_catalog",
    "fleet_size",
    "generate_fleet",
    "model_types",
    "planned_sizes",
    "stamped_header",
    "write_stamped_weights",
]
