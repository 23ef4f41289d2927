"""Catalog name or path -> the local files of each model, or an early error that says what to do.

Resolving is the only step that may need the network (a hub repo not in the cache), so it runs
for every model before anything is bundled or uploaded: a catalog with one unavailable model
fails in a second, naming that model, instead of after minutes of uploading the others.

Hub sources go through ``huggingface_hub.snapshot_download`` with the ``HF_HUB_CACHE`` and
``HF_HUB_OFFLINE`` of the caller's environment, read at call time (the hub library reads them
once at import, which would ignore a caller that sets them later). A revision such as ``main``
is resolved to the commit it points at (the snapshot folder's name), and the manifest records
that commit, so a published model never changes under a moving branch.

Local-directory sources have no commit; their revision is a digest of their files' contents
(``sha256-<16 hex>``), so pointing a local source at new files publishes a new folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inference.contract import DEFAULT_ENGINE, Catalog, CatalogEntry, ContractError

from harness.errors import HarnessError
from harness.models.digests import DigestCache
from harness.paths import CATALOGS_DIR

# What AutoModelForQuestionAnswering + AutoTokenizer need; model cards, other frameworks'
# weights (tf, flax, onnx) and training files are left out of every store.
CONFIG_FILE = "config.json"
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")  # in order of preference
TOKENIZER_FILES = ("tokenizer.json", "vocab.txt")  # at least one
OPTIONAL_FILES = ("tokenizer_config.json", "special_tokens_map.json")
QA_FILES = (CONFIG_FILE, *WEIGHT_FILES, *TOKENIZER_FILES, *OPTIONAL_FILES)

WAY_OUT = (
    "set HF_HUB_CACHE to a cache that holds it, unset HF_HUB_OFFLINE with network access, "
    "or use CATALOG=offline (the models of ../shared/hf-cache)"
)
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


class CatalogError(HarnessError):
    """A catalog name or path that names no catalog file, or a file that is not a catalog."""


class ModelSourceError(HarnessError):
    """One or more catalog entries cannot be resolved to local files."""


@dataclass(frozen=True)
class ResolvedModel:
    """A catalog entry pinned to local files: what bundling lays out and digests."""

    model_type: str
    source: str  # manifest "source": the hub repo id, or local/<dir name>
    revision: str  # a commit sha, or sha256-<16 hex> for a local directory
    eager: bool
    directory: Path
    files: tuple[Path, ...]  # only the files a QA model needs, sorted by name
    requested: str  # the catalog's own words, for messages (repo@revision or path)
    engine: str = DEFAULT_ENGINE  # the catalog's engine: torch serves these files, onnx* an export


# Catalogs made by code rather than written as a file: name -> what builds it.
GENERATED_CATALOGS = ("fleet",)


def available_catalogs() -> list[str]:
    return sorted({p.stem for p in CATALOGS_DIR.glob("*.json")} | set(GENERATED_CATALOGS))


def load_catalog(name_or_path: str | Path) -> Catalog:
    """A catalog by name (``catalogs/<name>.json``) or by file path, as ``CATALOG=`` takes it."""
    text = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or "/" in text or text.endswith(".json")
    if not looks_like_path and text in GENERATED_CATALOGS:
        from harness.models.fleet import fleet_catalog  # it resolves the offline catalog itself

        return fleet_catalog()
    path = Path(text).expanduser() if looks_like_path else CATALOGS_DIR / f"{text}.json"
    if not path.is_file():
        names = ", ".join(available_catalogs()) or "none"
        raise CatalogError(
            f"no catalog {text!r} (looked for {path}); available catalogs: {names}; "
            "or pass the path of a catalog file"
        )
    try:
        return Catalog.load(path)
    except ContractError as exc:
        raise CatalogError(str(exc)) from exc


def select_files(directory: Path) -> tuple[Path, ...]:
    """The files of ``directory`` a QA model needs; raises ValueError naming what is missing."""
    present = {name for name in QA_FILES if (directory / name).is_file()}
    missing = []
    if CONFIG_FILE not in present:
        missing.append(CONFIG_FILE)
    weights = next((name for name in WEIGHT_FILES if name in present), None)
    if weights is None:
        missing.append(" or ".join(WEIGHT_FILES))
    if not present.intersection(TOKENIZER_FILES):
        missing.append(" or ".join(TOKENIZER_FILES))
    if missing:
        raise ValueError(f"{directory} has no {', '.join(missing)}")
    chosen = {CONFIG_FILE, weights, *present.intersection(TOKENIZER_FILES + OPTIONAL_FILES)}
    return tuple(directory / name for name in sorted(chosen))


def content_revision(files: Iterable[Path], digests: DigestCache) -> str:
    """A revision for files with no commit: changes exactly when a name or a byte changes."""
    lines = "".join(f"{p.name}\t{p.stat().st_size}\t{digests.sha256(p)}\n" for p in sorted(files))
    return "sha256-" + hashlib.sha256(lines.encode()).hexdigest()[:16]


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "on", "yes", "true"}


def _hub_snapshot(repo_id: str, revision: str) -> Path:
    """Download (or find in the cache) only the QA files of one repo revision.

    A full commit sha that the cache already holds completely is taken from the cache without
    asking the Hub (a commit never changes): with no network and HF_HUB_OFFLINE unset, the hub
    library would otherwise retry for half a minute per model before falling back to the cache.
    """
    from huggingface_hub import snapshot_download  # import cost only when a hub source is used

    offline = _env_true("HF_HUB_OFFLINE")
    cache_dir = os.environ.get("HF_HUB_CACHE") or None

    def fetch(local_only: bool) -> Path:
        kwargs = {"revision": revision, "cache_dir": cache_dir, "local_files_only": local_only}
        wanted = [name for name in QA_FILES if name != "pytorch_model.bin"]
        folder = Path(snapshot_download(repo_id, allow_patterns=wanted, **kwargs))
        if not (folder / "model.safetensors").is_file():
            # Older repos only have PyTorch pickles; fetch them only then (never both weights).
            folder = Path(snapshot_download(repo_id, allow_patterns=["pytorch_model.bin"], **kwargs))
        return folder

    if offline:
        return fetch(local_only=True)
    if _COMMIT.match(revision):
        try:
            folder = fetch(local_only=True)
            select_files(folder)  # a partial snapshot (another tool fetched only some files)
            return folder
        except Exception:  # not (completely) cached: ask the Hub
            pass
    return fetch(local_only=False)


def _hub_failure(entry: CatalogEntry, exc: Exception) -> str:
    src = entry.source
    cache = os.environ.get("HF_HUB_CACHE") or "the default HuggingFace cache"
    if _env_true("HF_HUB_OFFLINE"):
        # The hub's own text here suggests an argument the user cannot pass; say it plainly.
        reason = f"it is not in {cache}, and HF_HUB_OFFLINE=1 forbids downloading it"
    else:
        text = str(exc).strip()
        first = text.splitlines()[0].rstrip(".") if text else type(exc).__name__
        reason = f"it is not in {cache}, and the Hub did not provide it ({first})"
    model = f"model {entry.model_type!r}: {src.repo_id}@{src.revision}"
    return f"{model} is not available: {reason}. Way out: {WAY_OUT}"


def resolve_model(entry: CatalogEntry, digests: DigestCache | None = None) -> ResolvedModel:
    """One catalog entry -> its local QA files and pinned revision; ModelSourceError if unavailable."""
    src = entry.source
    digests = digests or DigestCache(None)
    if src.repo_id is not None:
        assert src.revision is not None  # ModelSource guarantees it
        try:
            folder = _hub_snapshot(src.repo_id, src.revision)
        except Exception as exc:  # the hub raises many types (OSError, HTTP, validation)
            raise ModelSourceError(_hub_failure(entry, exc)) from exc
        commit = folder.name
        if not _COMMIT.match(commit):
            raise ModelSourceError(
                f"model {entry.model_type!r}: {src.repo_id}@{src.revision} resolved to {folder}, "
                "which is not a snapshot folder named by its commit"
            )
        try:
            files = select_files(folder)
        except ValueError as exc:
            raise ModelSourceError(
                f"model {entry.model_type!r}: {src.repo_id}@{commit[:12]} is not a complete QA model: "
                f"{exc}. Way out: {WAY_OUT}"
            ) from exc
        return ResolvedModel(
            entry.model_type, src.repo_id, commit, entry.eager, folder, files, src.label, entry.engine
        )

    directory = Path(str(src.path))
    if not directory.is_dir():
        raise ModelSourceError(
            f"model {entry.model_type!r}: local source {directory} is not a directory. "
            "Way out: fix 'path' in the catalog (relative paths are relative to the catalog file)"
        )
    try:
        files = select_files(directory)
    except ValueError as exc:
        raise ModelSourceError(
            f"model {entry.model_type!r}: local source is not a complete QA model: {exc}"
        ) from exc
    return ResolvedModel(
        entry.model_type,
        f"local/{directory.name}",
        content_revision(files, digests),
        entry.eager,
        directory,
        files,
        str(directory),
        entry.engine,
    )


def resolve_catalog(catalog: Catalog, digests: DigestCache | None = None) -> list[ResolvedModel]:
    """Resolve every model before any work is done; one error naming every unavailable model."""
    resolved: list[ResolvedModel] = []
    failures: list[str] = []
    for model_type in sorted(catalog.models):
        try:
            resolved.append(resolve_model(catalog.models[model_type], digests))
        except ModelSourceError as exc:
            failures.append(str(exc))
    if len(failures) == 1:
        raise ModelSourceError(f"catalog {catalog.name!r}: {failures[0]}")
    if failures:
        listed = "".join(f"\n  - {line}" for line in failures)
        raise ModelSourceError(f"catalog {catalog.name!r}: {len(failures)} models are not available:{listed}")
    return resolved


__all__ = [
    "CatalogError",
    "ModelSourceError",
    "ResolvedModel",
    "available_catalogs",
    "content_revision",
    "load_catalog",
    "resolve_catalog",
    "resolve_model",
    "select_files",
]
