"""EFS and image stores: the manifest and model files already on a local file system.

Files are read in place (no copy). Both stores check every file's size on each materialize (a
few stat calls); they differ in the sha256:

* efs: the mount is shared and writable by the seeder, so a file can be truncated or replaced
  after publishing. The seeder verified every file's sha256 and recorded, in the folder's marker,
  each file's stamp at that moment (``files.verified_unchanged``); a file whose stamp still
  matches was not written since, so it is not hashed again. Only a file whose stamp moved (or a
  folder without a stamped marker, seeded by an earlier version) is hashed, once per environment
  for as long as its stamp stays. The sha256 of a fleet model's 80 MB took about 100 ms of its
  first load in every environment, and of every eager model's fetch at each cold start.
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
from inference.stores.files import FileStamp, file_problem, safe_join, stamps_of, verified_unchanged


class LocalStore(ModelStore):
    """Models under ``root`` (MODEL_ROOT): ``manifest.json`` + ``<folder>/<file>``."""

    def __init__(self, name: str, root: Path, check_sha256: bool) -> None:
        self.name = name
        self.root = Path(root)
        self.check_sha256 = check_sha256
        # Files this environment hashed itself, by revision: the stamps they had then.
        self._hashed: dict[tuple[str, tuple[FileDigest, ...]], dict[str, FileStamp]] = {}
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
        with self._lock:
            problems = self._problems(folder, model)
            if problems:
                logger.warning(
                    "model files failed verification",
                    extra={"model_type": model.model_type, "store": self.name, "problems": problems},
                )
                raise ModelUnavailableError(model.model_type, "; ".join(problems))
        return folder

    def _problems(self, folder: Path, model: ManifestModel) -> list[str]:
        """Why the files are not the manifest's: sizes always, the sha256 when no stamp vouches.

        One ``stat`` per file gives both the size and the stamp (on EFS each is a round trip to
        the server); ``file_problem`` says what is wrong only when something is."""
        paths = [(file, safe_join(folder, file.name, model)) for file in model.files]
        stamps = stamps_of(folder, model)
        if stamps is None or any(stamps[file.name].size != file.size for file in model.files):
            problems = [p for file, path in paths if (p := file_problem(path, file, check_sha256=False))]
            if problems:
                return problems
            stamps = None  # the files changed between the two looks: hash them, remember nothing
        if not self.check_sha256:
            return []
        identity = (model.folder, model.files)
        if stamps is not None and (
            self._hashed.get(identity) == stamps or verified_unchanged(folder, model, stamps)
        ):
            return []
        problems = [p for file, path in paths if (p := file_problem(path, file))]
        if not problems and stamps is not None:
            self._hashed[identity] = stamps
        return problems


def efs_store(root: Path) -> LocalStore:
    return LocalStore("efs", root, check_sha256=True)


def image_store(root: Path) -> LocalStore:
    return LocalStore("image", root, check_sha256=False)
