"""Request bodies of the monitor's POST /api/v1/runs: a run and its features, valid unless a
test changes them. Plain Python (no pytest), so the benchmarks build their runs with them too;
conftest re-exports them for the tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

RUN_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def feature_doc(
    name: str, p_value: float | None = 0.5, *, drifted: bool = False, **changes: Any
) -> dict[str, Any]:
    """One feature of a run: tested with these p-values, or skipped when p_value is None."""
    if p_value is None:
        document = {
            "feature": name, "kind": "numeric", "test": None, "statistic": None,
            "p_value": None, "p_value_adjusted": None, "effect_size": None,
            "n_reference": 0, "n_current": 0, "missing_share_reference": None,
            "missing_share_current": None, "drifted": False, "status": "skipped",
            "reason": "absent from the current batch", "effect_size_threshold": None,
            "ks_error_bound": None,
        }  # fmt: skip
    else:
        document = {
            "feature": name, "kind": "numeric", "test": "ks", "statistic": 0.25,
            "p_value": p_value, "p_value_adjusted": min(1.0, 2 * p_value), "effect_size": 0.125,
            "n_reference": 100, "n_current": 90, "missing_share_reference": 0.0,
            "missing_share_current": 0.0625, "drifted": drifted, "status": "tested",
            "reason": None, "effect_size_threshold": 0.0, "ks_error_bound": None,
        }  # fmt: skip
    return {**document, **changes}


def run_doc(
    dataset: str,
    features: list[dict[str, Any]],
    run_at: datetime = RUN_AT,
    batch: str = "batch_2.csv",
    reference: str = "reference.csv",
) -> dict[str, Any]:
    """A valid run body whose summary agrees with its features."""
    tested = sum(f["status"] == "tested" for f in features)
    drifted = sum(f["drifted"] for f in features)
    return {
        "dataset": dataset,
        "batch": batch,
        "reference": reference,
        "run_at": run_at.isoformat(),
        "settings": {"alpha": 0.05, "correction": "bh"},
        "summary": {
            "features_tested": tested,
            "features_skipped": len(features) - tested,
            "features_drifted": drifted,
            "share_drifted": drifted / tested if tested else 0.0,
            "drifted": drifted > 0,
        },
        "features": features,
    }
