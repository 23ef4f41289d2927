"""The one contract between the harness and the function: catalogs and manifests.

A *catalog* (``catalogs/*.json``) is what a user writes: model_type -> where the model comes
from (a HuggingFace repo id at a pinned revision, or a local directory), which engine runs it and
whether it loads eagerly at init. A *manifest* is what publishing writes next to the model files
in a store: for each model_type the exact source that was resolved, its engine and the settings
its files were exported with, the folder its files live in (relative to the store root) and every
file with its size and sha256. The function trusts only the manifest, and verifies what it loads
against it.

Engines: ``torch`` runs the HuggingFace weights as they are (transformers + torch); ``onnx`` runs
an fp32 ONNX graph exported from them at publish time, ``onnx-int8`` the same graph with int8
weights; both through ONNX Runtime, without torch or transformers in the function.

This module is imported by both sides (``function/`` inside the image, ``harness/`` on the host),
so it uses the standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
MODEL_TYPE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_HASH_CHUNK = 8 * 1024 * 1024

DEFAULT_ENGINE = "torch"
# Engine -> the runtime (Python distribution set) that runs it. The image installs the runtimes of
# its catalog's engines; the function checks a model's runtime before loading it.
ENGINE_RUNTIMES = {"torch": "torch", "onnx": "onnxruntime", "onnx-int8": "onnxruntime"}
ENGINES = tuple(ENGINE_RUNTIMES)
# The files and graph interface of an ONNX model, as publishing exports it and the function reads it.
TOKENIZER_FILE = "tokenizer.json"
ONNX_GRAPH_FILE = "model.onnx"
MODEL_INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
MODEL_OUTPUT_NAMES = ("start_logits", "end_logits")


class ContractError(ValueError):
    """A catalog or manifest that does not follow the format."""


@dataclass(frozen=True)
class ModelSource:
    """Where a model comes from: a hub repo at a revision, or a local directory."""

    repo_id: str | None = None
    revision: str | None = None
    path: str | None = None

    def __post_init__(self) -> None:
        if (self.repo_id is None) == (self.path is None):
            raise ContractError("a model source names exactly one of 'repo_id' or 'path'")
        if self.repo_id is not None and not self.revision:
            raise ContractError(f"model {self.repo_id!r} needs a pinned 'revision'")

    @property
    def label(self) -> str:
        """A human-readable name, e.g. ``local/minilm@cecc2a7``."""
        if self.repo_id:
            return f"{self.repo_id}@{(self.revision or '')[:12]}"
        return str(self.path)


@dataclass(frozen=True)
class CatalogEntry:
    """One model_type of a catalog."""

    model_type: str
    source: ModelSource
    eager: bool = False
    engine: str = DEFAULT_ENGINE


@dataclass(frozen=True)
class Catalog:
    """A parsed catalog: the models a deployment serves, by model_type."""

    name: str
    models: dict[str, CatalogEntry]
    description: str = ""

    @property
    def engines(self) -> frozenset[str]:
        return frozenset(entry.engine for entry in self.models.values())

    @property
    def runtimes(self) -> frozenset[str]:
        """The runtimes an image needs to serve every model of this catalog."""
        return frozenset(ENGINE_RUNTIMES[engine] for engine in self.engines)

    @classmethod
    def load(cls, path: str | Path) -> Catalog:
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ContractError(f"cannot read catalog {path}: {exc}") from exc
        return cls.from_dict(raw, name=path.stem, base_dir=path.parent)

    @classmethod
    def from_dict(cls, raw: Any, name: str, base_dir: Path | None = None) -> Catalog:
        if not isinstance(raw, dict) or not isinstance(raw.get("models"), dict) or not raw["models"]:
            raise ContractError(f"catalog {name!r} needs a non-empty 'models' object")
        models: dict[str, CatalogEntry] = {}
        for model_type, spec in raw["models"].items():
            if not MODEL_TYPE_PATTERN.match(model_type):
                raise ContractError(f"model_type {model_type!r} must match {MODEL_TYPE_PATTERN.pattern}")
            if not isinstance(spec, dict):
                raise ContractError(f"catalog entry {model_type!r} must be an object")
            local = spec.get("path")
            if local is not None and base_dir is not None and not Path(local).is_absolute():
                local = str((base_dir / local).resolve())
            try:
                source = ModelSource(repo_id=spec.get("repo_id"), revision=spec.get("revision"), path=local)
            except ContractError as exc:
                raise ContractError(f"catalog entry {model_type!r}: {exc}") from exc
            engine = spec.get("engine", DEFAULT_ENGINE)
            if engine not in ENGINE_RUNTIMES:
                raise ContractError(
                    f"catalog entry {model_type!r}: engine {engine!r} is not one of {', '.join(ENGINES)}"
                )
            models[model_type] = CatalogEntry(
                model_type, source, eager=bool(spec.get("eager", False)), engine=engine
            )
        return cls(name=name, models=models, description=str(raw.get("description", "")))


@dataclass(frozen=True)
class FileDigest:
    """One file of a model, as published."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class ManifestModel:
    """A published model: its source, resolved revision, folder in the store and files."""

    model_type: str
    source: str
    revision: str
    folder: str
    files: tuple[FileDigest, ...]
    eager: bool = False
    engine: str = DEFAULT_ENGINE
    # How the files were made from the source (opset, quantization recipe); None for torch,
    # which serves the source's own files.
    export: dict[str, Any] | None = None

    @property
    def runtime(self) -> str:
        """The runtime that runs this model; "" for an engine this code does not know (a newer
        publisher's), which the function answers 503 for, model by model."""
        return ENGINE_RUNTIMES.get(self.engine, "")

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def key(self) -> str:
        """Identity of this exact published revision (cache key on the function side)."""
        return f"{self.model_type}:{self.folder}"


@dataclass(frozen=True)
class Manifest:
    """What a store holds: written last by publishing, read first by the function."""

    models: dict[str, ManifestModel]
    catalog: str = ""
    format: int = MANIFEST_FORMAT
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        body = {
            "format": self.format,
            "catalog": self.catalog,
            "models": {
                mt: {
                    "source": m.source,
                    "revision": m.revision,
                    "folder": m.folder,
                    "eager": m.eager,
                    "engine": m.engine,
                    "files": [asdict(f) for f in m.files],
                    **({"export": m.export} if m.export is not None else {}),
                }
                for mt, m in sorted(self.models.items())
            },
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> Manifest:
        try:
            raw = json.loads(text)
            if raw.get("format") != MANIFEST_FORMAT:
                raise ContractError(f"unsupported manifest format {raw.get('format')!r}")
            models = {
                mt: ManifestModel(
                    model_type=mt,
                    source=spec["source"],
                    revision=spec["revision"],
                    folder=spec["folder"],
                    eager=bool(spec.get("eager", False)),
                    files=tuple(FileDigest(f["name"], int(f["size"]), f["sha256"]) for f in spec["files"]),
                    engine=str(spec.get("engine", DEFAULT_ENGINE)),
                    export=spec.get("export"),
                )
                for mt, spec in raw["models"].items()
            }
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed manifest: {exc}") from exc
        return cls(models=models, catalog=str(raw.get("catalog", "")))


def model_folder(source: str, revision: str, variant: str = "") -> str:
    """The store folder of one model revision: immutable, so a new revision never overwrites.

    ``variant`` names files derived from the revision (an engine and a digest of its export
    settings, e.g. ``onnx-int8-3f2a9c1d``): each export gets a folder of its own beside the
    source's, so changing an export setting publishes new files instead of replacing old ones.
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "--", source).strip("-")
    return f"models/{safe}/{revision}-{variant}" if variant else f"models/{safe}/{revision}"


def object_key(prefix: str, relative: str) -> str:
    """The S3 key of a store-relative path under a prefix ("" puts it at the bucket root).

    Publishing writes these keys and the function reads them: one definition keeps them equal.
    """
    prefix = prefix.strip("/")
    return f"{prefix}/{relative}" if prefix else relative


def sha256_of_stream(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_HASH_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of_file(path: str | Path) -> str:
    with open(path, "rb") as stream:
        return sha256_of_stream(stream)


def digest_file(path: Path, name: str | None = None) -> FileDigest:
    return FileDigest(name=name or path.name, size=path.stat().st_size, sha256=sha256_of_file(path))
