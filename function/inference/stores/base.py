"""The one interface of the three model stores, and what they raise.

A store answers two questions: what is published (``read_manifest``) and where the verified
files of one model are on this machine (``materialize``). Everything above the stores (cache,
handler) works with a local folder and never knows whether it came from S3, EFS or the image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

from inference.contract import Manifest, ManifestModel


class ManifestUnavailableError(Exception):
    """The store's manifest cannot be read or parsed (nothing is known to be published)."""


@dataclass(frozen=True)
class DiskUsage:
    """What a store that copies models keeps on local disk, against its budget."""

    used_bytes: int
    budget_bytes: int
    peak_bytes: int


class ModelStore(ABC):
    """Where published models live; implementations: S3Store, LocalStore (efs, image)."""

    name: str

    @abstractmethod
    def read_manifest(self) -> Manifest:
        """The manifest as published now; raises ManifestUnavailableError."""

    @abstractmethod
    def materialize(self, model: ManifestModel) -> Path:
        """A local folder holding every file of ``model``, verified against the manifest.

        Raises ``inference.errors.ModelUnavailableError`` (naming the model) when a file is missing,
        incomplete or fails its checksum. Calling it again for a model already materialized is
        cheap: stores remember what they verified.
        """

    def describe(self) -> str:
        """Where the store reads from, for logs (never sent to callers)."""
        return self.name

    # Stores that copy models to local disk (S3) keep the files of loaded models; the others
    # read in place and need none of this.

    def loaded(self, model: ManifestModel) -> None:
        """``model`` is now loaded in memory (its files must stay until ``unloaded``)."""
        return

    def unloaded(self, model: ManifestModel) -> None:
        """``model`` left memory; its files may be evicted from local disk again."""
        return

    def shortfall(self, model: ManifestModel) -> int:
        """Bytes that materializing ``model`` lacks even after evicting every model not in memory:
        what unloading models must free first (0: room can be made, the store copies nothing, or
        no unloading could make room, and ``materialize`` will refuse the model)."""
        return 0

    def disk_usage(self) -> DiskUsage | None:
        """Local disk used by copied models, or None for a store that reads in place."""
        return None
