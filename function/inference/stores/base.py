"""The one interface of the three model stores, and what they raise.

A store answers two questions: what is published (``read_manifest``) and where the verified
files of one model are on this machine (``materialize``). Everything above the stores (cache,
handler) works with a local folder and never knows whether it came from S3, EFS or the image.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path

from inference.contract import Manifest, ManifestModel


class ManifestUnavailableError(Exception):
    """The store's manifest cannot be read or parsed (nothing is known to be published)."""


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
