"""EFS and image stores: the manifest and model files already on a local file system.

Files are read in place (no copy). Both stores check every file's size on each materialize (a
few stat calls); they differ in the sha256:

* efs: the mount is shared and writable by the seeder, so a file can be truncated or replaced
  after publishing. Each revision is hashed once per environment; the result is remembered, so a
  warm environment never hashes again and a new revision is hashed on its first use.
* image: the files were verified by the harness when it baked the image (a content-hash tagged,
  read-only layer that cannot change afterwards), so hashing them again would only add a second
  or more to every cold start. Only sizes are checked, which catches a broken build.
"""

from __future__ import annotations

import threading
from pathlib import Path

from inference.contract import MANIFEST_NAME, ContractError, FileDigest, Manifest, ManifestModel
from inference.errors import ModelUnavailableError
from inference.observability import logger
from inference.stores.base import ManifestUnavailableError, ModelStore
from inference.stores.files import file_problem, safe_join


class LocalStore(ModelStore):
    """Models under ``root`` (MODEL_ROOT): ``manifest.json`` + ``<folder>/<file>``."""

    def __init__(self, name: str, root: Path, check_sha256: bool) -> None:
        self.name = name
        self.root = Path(root)
        self.check_sha256 = check_sha256
        self._hashed: set[tuple[str, tuple[FileDigest, ...]]] = set()
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"{self.name}:{self.root}"

    def read_manifest(self) -> Manifest:
        path = self.root / MANIFEST_NAME
        try:
            return Manifest.from_json(path.read_bytes())
        except (OSError, ContractError) as exc:
            raise ManifestUnavailableError(f"{path}: {exc}") from exc

    def materialize(self, model: ManifestModel) -> Path:
        folder = safe_join(self.root, model.folder, model)
        identity = (model.folder, model.files)
        with self._lock:
            hash_now = self.check_sha256 and identity not in self._hashed
            problems = [
                problem
                for file in model.files
                if (problem := file_problem(safe_join(folder, file.name, model), file, hash_now))
            ]
            if problems:
                logger.warning(
                    "model files failed verification",
                    extra={"model_type": model.model_type, "store": self.name, "problems": problems},
                )
                raise ModelUnavailableError(model.model_type, "; ".join(problems))
            if hash_now:
                self._hashed.add(identity)
        return folder


def efs_store(root: Path) -> LocalStore:
    return LocalStore("efs", root, check_sha256=True)


def image_store(root: Path) -> LocalStore:
    return LocalStore("image", root, check_sha256=False)
