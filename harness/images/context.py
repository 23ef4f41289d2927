"""The build context of the function image, and the content hash that names the image.

The context is assembled from its sources (function/, the wheelhouse, the RIE, the model bundle)
straight into one tar, so nothing is copied on disk. The hash covers exactly what goes into the
image: the Dockerfile and entrypoint, every function source, the requirements, the wheelhouse
listing (wheel names pin versions), the RIE, the base image id, the build target and, for the OCI
variant, the bundle's manifest, which names every model file with its sha256.
"""

from __future__ import annotations

import hashlib
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from docker.utils.build import exclude_paths
from inference.contract import MANIFEST_NAME, ContractError, Manifest

from harness.images.wheelhouse import Wheelhouse

# Bump when the way the context is laid out changes without any input changing.
CONTEXT_FORMAT = "1"
_EXECUTABLE = {"lambda-entrypoint.sh", "aws-lambda-rie"}


@dataclass
class BuildContext:
    """What goes into one build: tar members (name -> source file) plus the hash inputs."""

    files: dict[str, Path] = field(default_factory=dict)
    hashed: list[str] = field(default_factory=list)

    def add_file(self, name: str, source: Path, digest: bool = True) -> None:
        """Add ``source`` as ``name``; its content enters the hash unless ``digest`` is False."""
        self.files[name] = source
        if digest:
            self.hashed.append(f"file {name} {_sha256(source)}")

    def note(self, line: str) -> None:
        """Add a hash input that is not a file's content (an image id, a listing, a target)."""
        self.hashed.append(line)

    def content_hash(self) -> str:
        digest = hashlib.sha256(f"context-format {CONTEXT_FORMAT}\n".encode())
        for line in sorted(self.hashed):
            digest.update(line.encode() + b"\n")
        return digest.hexdigest()

    def write_tar(self, target: Path) -> Path:
        """Write the context as an uncompressed tar (root-owned, fixed mtimes) to ``target``."""
        target.parent.mkdir(parents=True, exist_ok=True)
        with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(self.files):
                source = self.files[name]
                info = tar.gettarinfo(str(source), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = "root"
                info.mtime = 0
                info.mode = 0o755 if Path(name).name in _EXECUTABLE or info.isdir() else 0o644
                with open(source, "rb") as stream:
                    tar.addfile(info, stream)
        return target


def add_function_sources(context: BuildContext, function_dir: Path) -> None:
    """The ``inference`` package, filtered by function/.dockerignore as ``docker build`` would."""
    ignore = function_dir / ".dockerignore"
    patterns = [
        line.strip()
        for line in (ignore.read_text().splitlines() if ignore.exists() else [])
        if line.strip() and not line.startswith("#")
    ]
    for relative in sorted(exclude_paths(str(function_dir), patterns)):
        source = function_dir / relative
        if relative.startswith("inference/") and source.is_file() and not source.is_symlink():
            context.add_file(relative, source)


def add_wheelhouse(context: BuildContext, house: Wheelhouse) -> None:
    for name in house.wheels:
        context.add_file(f"wheelhouse/{name}", house.path / name, digest=False)
    context.note("wheelhouse " + hashlib.sha256(house.listing().encode()).hexdigest())


def add_model_bundle(context: BuildContext, bundle: Path) -> Manifest:
    """Exactly the files the bundle's manifest names, under ``models/``; only the manifest is hashed.

    The manifest digests every model file, so hashing it covers the weights without reading them;
    a file missing or of the wrong size fails here rather than in a 503 at run time.
    """
    manifest_path = bundle / MANIFEST_NAME
    manifest = Manifest.from_json(manifest_path.read_bytes())
    context.add_file(f"models/{MANIFEST_NAME}", manifest_path)
    for model in manifest.models.values():
        for entry in model.files:
            source = bundle / model.folder / entry.name
            if not source.is_file() or source.stat().st_size != entry.size:
                raise ContractError(
                    f"bundle {bundle}: {model.model_type} file {entry.name} is missing or "
                    f"not {entry.size} bytes at {source}"
                )
            context.add_file(f"models/{model.folder}/{entry.name}", source, digest=False)
    return manifest


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
