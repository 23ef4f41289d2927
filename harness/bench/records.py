"""The benchmark's matrix as typed records: which runs (variant x catalog) a results dict holds.

``results["runs"]`` is keyed ``"<variant>/<catalog>"``; each entry names its ``variant``,
``catalog`` and ``engine`` (the catalog's engine: ``torch``, ``onnx``, ``onnx-int8``, or ``a+b``
for a catalog that mixes engines). ``results["catalogs"][<catalog>]`` describes each catalog
(engines per model, runtimes, bundle). Report, targets and plots read the matrix through here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SCHEMA = 2
TORCH = "torch"
ONNX = "onnx"
INT8 = "onnx-int8"
ENGINE_ORDER = (TORCH, ONNX, INT8)
VARIANT_ORDER = ("s3", "efs", "oci")


def run_key(variant: str, catalog: str) -> str:
    return f"{variant}/{catalog}"


@dataclass(frozen=True)
class Run:
    """One deployed combination: a variant serving a catalog (whose models run on ``engine``)."""

    variant: str
    catalog: str
    engine: str
    label: str  # what tables and plots call it: "oci · onnx-int8"

    @property
    def key(self) -> str:
        return run_key(self.variant, self.catalog)


def catalogs(results: dict[str, Any]) -> list[str]:
    """The catalogs of the run, in the order they were benchmarked."""
    named = list((results.get("settings") or {}).get("catalogs") or [])
    for entry in (results.get("runs") or {}).values():
        if entry.get("catalog") and entry["catalog"] not in named:
            named.append(entry["catalog"])
    for catalog in results.get("catalogs") or {}:
        if catalog not in named:
            named.append(catalog)
    return named


def catalog_engine(results: dict[str, Any], catalog: str) -> str:
    info = (results.get("catalogs") or {}).get(catalog) or {}
    if info.get("engine"):
        return str(info["engine"])
    for entry in (results.get("runs") or {}).values():
        if entry.get("catalog") == catalog and entry.get("engine"):
            return str(entry["engine"])
    return TORCH


def catalog_label(results: dict[str, Any], catalog: str) -> str:
    """The catalog's engine, or engine and catalog when two catalogs of the run share an engine."""
    engine = catalog_engine(results, catalog)
    same = [c for c in catalogs(results) if catalog_engine(results, c) == engine]
    return engine if len(same) <= 1 else f"{engine} ({catalog})"


def catalog_for_engine(results: dict[str, Any], engine: str) -> str | None:
    """The first catalog of the run whose models all run on ``engine``."""
    return next((c for c in catalogs(results) if catalog_engine(results, c) == engine), None)


def catalog_runtimes(results: dict[str, Any], catalog: str) -> set[str]:
    info = (results.get("catalogs") or {}).get(catalog) or {}
    if "runtimes" in info:
        return set(info["runtimes"])
    engine = catalog_engine(results, catalog)
    return {"onnxruntime" if e.startswith("onnx") else e for e in engine.split("+")}


def runs(results: dict[str, Any], catalog: str | None = None, variant: str | None = None) -> list[Run]:
    """The runs of the results, in run order, optionally of one catalog or one variant."""
    out = []
    for entry in (results.get("runs") or {}).values():
        if catalog is not None and entry.get("catalog") != catalog:
            continue
        if variant is not None and entry.get("variant") != variant:
            continue
        label = f"{entry['variant']} · {catalog_label(results, entry['catalog'])}"
        out.append(Run(entry["variant"], entry["catalog"], catalog_engine(results, entry["catalog"]), label))
    return out


def variants(results: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for run in runs(results):
        if run.variant not in seen:
            seen.append(run.variant)
    return seen


def data(results: dict[str, Any], run: Run) -> dict[str, Any]:
    return (results.get("runs") or {}).get(run.key) or {}


def find(results: dict[str, Any], variant: str, engine: str) -> Run | None:
    """The run of ``variant`` with the first catalog on ``engine``."""
    catalog = catalog_for_engine(results, engine)
    if catalog is None:
        return None
    return next(iter(runs(results, catalog=catalog, variant=variant)), None)


def upgrade(results: dict[str, Any]) -> dict[str, Any]:
    """A schema-1 results dict (one catalog, ``variants.<name>``) in the schema-2 layout."""
    if results.get("schema", 1) >= SCHEMA or "variants" not in results:
        return results
    settings = dict(results.get("settings") or {})
    catalog = settings.get("catalog") or "offline"
    settings["catalogs"] = [catalog]
    upgraded = {k: v for k, v in results.items() if k != "variants"}
    upgraded.update(
        schema=SCHEMA,
        settings=settings,
        catalogs={catalog: {"engine": TORCH, "runtimes": [TORCH]}},
        runs={
            run_key(v, catalog): {**entry, "variant": v, "catalog": catalog, "engine": TORCH}
            for v, entry in results["variants"].items()
        },
        inprocess_accuracy={catalog: results.get("inprocess_accuracy") or {}},
    )
    upgraded.pop("targets", None)  # evaluated again, per run
    return upgraded
