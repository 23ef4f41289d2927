"""The issue's targets, checked against a results dict: met, not met, or not measured.

Targets (2-core machine, offline catalog): warm overhead over the in-process forward <= 5 ms at
p50; cold start (median first answer) OCI <= 3 s, EFS <= 3.5 s, S3 <= 4 s; zero reloads when
switching between cached models; EFS warm latency >= 10x better than the old sample's strategy
(p50 against p50, per model, the worse model counts); image <= 1.2 GB (decimal, as Docker prints).
Besides the targets, two checks: endpoint and in-process accuracy agree, and the in-process figures
match ../shared/hf-cache/README.md.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

WARM_OVERHEAD_MS = 5.0
COLD_START_S = {"oci": 3.0, "efs": 3.5, "s3": 4.0}
OLD_STRATEGY_FACTOR = 10.0
IMAGE_BYTES = 1_200_000_000


@dataclass(frozen=True)
class TargetCheck:
    name: str
    variant: str
    target: str
    value: str
    met: bool | None  # None: not measured

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def old_strategy_factors(results: dict[str, Any], variant: str) -> dict[str, float]:
    """Per model: old strategy p50 / the variant's warm end-to-end p50."""
    factors: dict[str, float] = {}
    old = _get(results, "old_strategy", "models") or {}
    warm = _get(results, "variants", variant, "warm", "models") or {}
    for model_type, entry in warm.items():
        old_p50 = _get(old, model_type, "total_ms", "p50")
        warm_p50 = _get(entry, "end_to_end_ms", "p50")
        if old_p50 and warm_p50:
            factors[model_type] = old_p50 / warm_p50
    return factors


def _check_variant(results: dict[str, Any], variant: str) -> list[TargetCheck]:
    data = _get(results, "variants", variant) or {}
    checks: list[TargetCheck] = []

    overheads = {
        mt: m["overhead_p50_ms"]
        for mt, m in (_get(data, "warm", "models") or {}).items()
        if m.get("overhead_p50_ms") is not None
    }
    worst = max(overheads.values()) if overheads else None
    checks.append(
        TargetCheck(
            "warm overhead p50",
            variant,
            f"<= {WARM_OVERHEAD_MS:g} ms",
            ", ".join(f"{mt} {v:.1f} ms" for mt, v in sorted(overheads.items())) or "not measured",
            None if worst is None else worst <= WARM_OVERHEAD_MS,
        )
    )

    limit = COLD_START_S.get(variant)
    cold_ms = _get(data, "cold_start", "median_ms", "total")
    if limit is not None:
        checks.append(
            TargetCheck(
                "cold start (median)",
                variant,
                f"<= {limit:g} s",
                "not measured" if cold_ms is None else f"{cold_ms / 1000:.2f} s",
                None if cold_ms is None else cold_ms / 1000 <= limit,
            )
        )

    reloads = _get(data, "switching", "reloads")
    checks.append(
        TargetCheck(
            "reloads when switching cached models",
            variant,
            "0",
            "not measured" if reloads is None else str(reloads),
            None if reloads is None else reloads == 0,
        )
    )

    if variant == "efs":
        factors = old_strategy_factors(results, variant)
        worst_factor = min(factors.values()) if factors else None
        checks.append(
            TargetCheck(
                "warm latency vs the old sample's strategy",
                variant,
                f">= {OLD_STRATEGY_FACTOR:g}x",
                ", ".join(f"{mt} {v:.1f}x" for mt, v in sorted(factors.items())) or "not measured",
                None if worst_factor is None else worst_factor >= OLD_STRATEGY_FACTOR,
            )
        )

    size = _get(data, "image", "image_bytes")
    checks.append(
        TargetCheck(
            "image size",
            variant,
            f"<= {IMAGE_BYTES / 1e9:g} GB",
            "not measured" if not size else f"{size / 1e9:.2f} GB",
            None if not size else size <= IMAGE_BYTES,
        )
    )

    for model_type, entry in sorted((_get(data, "accuracy", "models") or {}).items()):
        checks.append(
            TargetCheck(
                f"accuracy endpoint = in-process ({model_type})",
                variant,
                "agree",
                f"EM {entry['endpoint']['exact_match']:.2f}/{entry['inprocess']['exact_match']:.2f}, "
                f"F1 {entry['endpoint']['f1']:.2f}/{entry['inprocess']['f1']:.2f}, "
                f"{entry['differing_answers']} answer(s) differ",
                entry.get("agree"),
            )
        )
    return checks


def _check_reference(results: dict[str, Any]) -> list[TargetCheck]:
    checks = []
    for model_type, entry in sorted((_get(results, "inprocess_accuracy") or {}).items()):
        reference = entry.get("reference")
        checks.append(
            TargetCheck(
                f"in-process accuracy = hf-cache README ({model_type})",
                "in-process",
                "-" if not reference else f"EM {reference['exact_match']:.2f} / F1 {reference['f1']:.2f}",
                f"EM {entry['exact_match']:.2f} / F1 {entry['f1']:.2f} on {entry['count']}",
                entry.get("matches_reference"),
            )
        )
    return checks


def evaluate(results: dict[str, Any]) -> list[TargetCheck]:
    checks: list[TargetCheck] = []
    for variant in results.get("variants", {}):
        checks.extend(_check_variant(results, variant))
    checks.extend(_check_reference(results))
    return checks


def verdict(met: bool | None) -> str:
    return {True: "met", False: "NOT met", None: "not measured"}[met]
