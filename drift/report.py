"""What a comparison produces: per-feature results and the dataset-level summary."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from drift.config import MAX_KS_ERROR_BOUND, too_coarse
from drift.labels import shown

TESTED, SKIPPED = "tested", "skipped"


@dataclass(frozen=True)
class FeatureResult:
    feature: str
    kind: str
    test: str | None
    statistic: float | None
    p_value: float | None
    p_value_adjusted: float | None
    effect_size: float | None
    n_reference: int
    n_current: int
    missing_share_reference: float | None
    missing_share_current: float | None
    drifted: bool
    status: str
    reason: str | None
    # The effect size it had to reach to have drifted; None when not tested.
    effect_size_threshold: float | None = None
    # How far the exact KS statistic may be above the one computed from the sketch (a sketched
    # numeric feature, drift.summary.ks_error_bound); None when computed exactly.
    ks_error_bound: float | None = None


@dataclass(frozen=True)
class DriftReport:
    features: tuple[FeatureResult, ...]
    alpha: float
    correction: str

    @property
    def features_tested(self) -> int:
        return sum(f.status == TESTED for f in self.features)

    @property
    def features_skipped(self) -> int:
        """Planned features that could not be tested (absent, all missing, constant, dates)."""
        return sum(f.status == SKIPPED for f in self.features)

    @property
    def features_drifted(self) -> int:
        return sum(f.drifted for f in self.features)

    @property
    def share_drifted(self) -> float:
        return self.features_drifted / self.features_tested if self.features_tested else 0.0

    @property
    def drifted(self) -> bool:
        return self.features_drifted > 0

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DriftReport:
        """The report back from its dict form (as the monitor's API returns it)."""
        features = tuple(FeatureResult(**f) for f in data["features"])
        return cls(features, data["settings"]["alpha"], data["settings"]["correction"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": {"alpha": self.alpha, "correction": self.correction},
            "summary": {
                "features_tested": self.features_tested,
                "features_skipped": self.features_skipped,
                "features_drifted": self.features_drifted,
                "share_drifted": self.share_drifted,
                "drifted": self.drifted,
            },
            "features": [asdict(f) for f in self.features],
        }


def sketch_warnings(report: DriftReport) -> list[str]:
    """One line for each sketched feature whose results may be off (MAX_KS_ERROR_BOUND)."""
    return [
        f"{shown(f.feature)}: sketched; its KS statistic may be up to {f.ks_error_bound:.2g} "
        f"above the {_number(f.statistic)} shown (limit {MAX_KS_ERROR_BOUND}) and its effect "
        "size may be off too: raise sketch_bits or max_distinct in the config"
        for f in report.features
        if too_coarse(f.ks_error_bound)
    ]


def format_table(report: DriftReport) -> str:
    """A fixed-width table for people, one feature a line, then the dataset summary."""
    header = (
        "feature",
        "kind",
        "test",
        "statistic",
        "p_value",
        "p_adjusted",
        "effect",
        "min_effect",
        "missing_ref",
        "missing_cur",
        "drift",
    )
    rows = [header] + [
        (
            f.feature,
            f.kind,
            f.test or "-",
            _number(f.statistic),
            _number(f.p_value),
            _number(f.p_value_adjusted),
            _number(f.effect_size),
            _number(f.effect_size_threshold),
            _percent(f.missing_share_reference),
            _percent(f.missing_share_current),
            ("DRIFT" if f.drifted else "ok") if f.status == TESTED else f"skipped: {f.reason}",
        )
        for f in report.features
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    ]
    lines.append(
        f"{report.features_drifted} of {report.features_tested} features drifted, "
        f"{report.features_skipped} skipped (drift: adjusted p-value below alpha "
        f"{report.alpha} and effect at least min_effect; correction {report.correction}): "
        + ("DRIFT" if report.drifted else "no drift")
    )
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.1%}"
