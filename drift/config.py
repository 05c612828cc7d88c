"""Test settings and column types, from a YAML file or defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import yaml

from drift.errors import DriftInputError

Kind = Literal["numeric", "categorical"]
Correction = Literal["bh", "bonferroni", "none"]
KINDS: tuple[str, ...] = get_args(Kind)
CORRECTIONS: tuple[str, ...] = get_args(Correction)
# Numeric summaries (drift.summary): exact up to this many distinct values (16 MB of values
# and counts), above it a sketch on a grid of values rounded to this many significant bits (a
# cell 2^-12 to 2^-11 of its values wide); a double has 52 after its first.
DEFAULT_MAX_DISTINCT, DEFAULT_SKETCH_BITS, MAX_SKETCH_BITS = 1_000_000, 12, 52
# A sketched feature whose error bound on the KS statistic D (drift.summary.ks_error_bound) is
# above this gets a warning: its D, p-value and effect size may be off enough to change the
# decision. Smooth data has a bound near 1e-4 at the defaults; values packed within a cell of
# each other (timestamps, large offsets) reach 0.5 and more.
MAX_KS_ERROR_BOUND = 0.01
# Material drift: the effect size a feature must reach, besides an adjusted p-value below alpha,
# by kind: normed Wasserstein distance for numeric (KS) features, Cramer's V for categorical
# (chi-square) ones. Measured with bench/quality.py (bench/README.md): in no-drift splits the
# largest numeric effect is under 0.069 and the largest categorical one under 0.073 in 99 % of
# splits at 1x, 10x and 100x, so at most 0.7 % of them alert (p-values alone: all of them at
# 10x), while 2011 -> 2012's temperature (0.08), humidity (0.17) and counts (0.36 to 0.70) do.
MIN_EFFECT_SIZE: Mapping[str, float] = {"numeric": 0.07, "categorical": 0.1}
MIN_EFFECT_SIZE_KEYS = (*KINDS, "features")


def drifted(
    p_value_adjusted: float, effect_size: float | None, alpha: float, min_effect: float
) -> bool:
    """Material drift, the one condition: significant (adjusted p-value below alpha) and large
    enough (effect size at least the threshold). An effect size that overflowed is unknown, so
    not material: the alert rule, which reads the published effect size, could not see it."""
    return p_value_adjusted < alpha and effect_size is not None and effect_size >= min_effect


def too_coarse(ks_error_bound: float | None) -> bool:
    """Whether a sketched feature's D may be off enough to change its decision."""
    return ks_error_bound is not None and ks_error_bound > MAX_KS_ERROR_BOUND


@dataclass(frozen=True)
class DriftConfig:
    """How to compare two batches.

    ``columns`` is the schema: when given, exactly these columns are tested, with these
    kinds, and both batches must have them. When ``None``, every column is tested and its
    kind is inferred from the data; ``ignore`` names columns to leave out.
    """

    alpha: float = 0.05
    correction: Correction = "bh"
    columns: Mapping[str, Kind] | None = None
    ignore: frozenset[str] = field(default_factory=frozenset)
    # The effect size thresholds: by kind, and per feature (which wins).
    min_effect_size: Mapping[str, float] = field(default_factory=lambda: dict(MIN_EFFECT_SIZE))
    min_effect_size_features: Mapping[str, float] = field(default_factory=dict)
    max_distinct: int = DEFAULT_MAX_DISTINCT
    sketch_bits: int = DEFAULT_SKETCH_BITS

    def min_effect(self, feature: str, kind: str) -> float:
        """The effect size ``feature`` must reach to have drifted."""
        return float(self.min_effect_size_features.get(feature, self.min_effect_size[kind]))

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise DriftInputError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.correction not in CORRECTIONS:
            raise DriftInputError(
                f"correction must be one of {', '.join(CORRECTIONS)}, got {self.correction!r}"
            )
        _check_summary_settings(self.max_distinct, self.sketch_bits)
        for name, kind in (self.columns or {}).items():
            if kind not in KINDS:
                raise DriftInputError(
                    f"column {name!r}: kind must be one of {', '.join(KINDS)}, got {kind!r}"
                )
        if set(self.min_effect_size) != set(KINDS):
            raise DriftInputError(f"min_effect_size needs a value for each of {', '.join(KINDS)}")
        thresholds = {
            **self.min_effect_size,
            **{f"features.{name}": value for name, value in self.min_effect_size_features.items()},
        }
        for where, value in thresholds.items():
            if not _threshold(value):
                raise DriftInputError(
                    f"min_effect_size.{where} must be a number, 0 or more, got {value!r}"
                )
        unknown = set(self.min_effect_size_features) - set(self.columns or ())
        if self.columns is not None and unknown:
            raise DriftInputError(
                f"min_effect_size.features names {', '.join(map(repr, sorted(unknown)))}, "
                "not a configured column"
            )


def _threshold(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def load_config(path: Path) -> DriftConfig:
    """Read a YAML config file: keys ``alpha``, ``correction``, ``columns``, ``ignore``,
    ``min_effect_size``."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise DriftInputError(f"{path}: cannot read config ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DriftInputError(f"{path}: cannot read config (not UTF-8 text)") from None
    except yaml.YAMLError as exc:
        raise DriftInputError(f"{path}: not valid YAML ({_one_line(exc)})") from None
    if not isinstance(data, dict):
        raise DriftInputError(f"{path}: expected a mapping at the top level")
    try:
        return config_from_mapping(data)
    except DriftInputError as exc:
        raise DriftInputError(f"{path}: {exc}") from None


def _one_line(exc: yaml.YAMLError) -> str:
    """PyYAML's message spans several lines; an error for a person takes one."""
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    mark = getattr(exc, "problem_mark", None)
    return f"{problem}, line {mark.line + 1}, column {mark.column + 1}" if mark else problem


def config_from_mapping(data: Mapping[str, Any]) -> DriftConfig:
    unknown = set(data) - {
        "alpha", "correction", "columns", "ignore", "min_effect_size", "max_distinct",
        "sketch_bits",
    }  # fmt: skip
    if unknown:
        raise DriftInputError(f"unknown setting(s): {', '.join(sorted(map(str, unknown)))}")
    columns = data.get("columns")
    if columns is not None and not (isinstance(columns, dict) and columns):
        raise DriftInputError("'columns' must map column names to numeric or categorical")
    ignore = data.get("ignore") or []
    if not isinstance(ignore, list):
        raise DriftInputError("'ignore' must be a list of column names")
    alpha = data.get("alpha", DriftConfig.alpha)
    if isinstance(alpha, bool) or not isinstance(alpha, int | float):
        raise DriftInputError(f"alpha must be a number, got {alpha!r}")
    correction = data.get("correction", DriftConfig.correction)
    by_kind, by_feature = _min_effect_size(data.get("min_effect_size") or {})
    return DriftConfig(
        alpha=float(alpha),
        # Only text is lowered: a blank `correction:` (None) must not become "none".
        correction=correction.lower() if isinstance(correction, str) else correction,
        columns={str(k): v for k, v in columns.items()} if columns else None,
        ignore=frozenset(str(c) for c in ignore),
        min_effect_size={**MIN_EFFECT_SIZE, **by_kind},
        min_effect_size_features=by_feature,
        max_distinct=data.get("max_distinct", DEFAULT_MAX_DISTINCT),
        sketch_bits=data.get("sketch_bits", DEFAULT_SKETCH_BITS),
    )


def _min_effect_size(data: object) -> tuple[dict[str, float], dict[str, float]]:
    """``min_effect_size``: thresholds by kind (unset ones keep their default) and per feature."""
    if not isinstance(data, dict):
        raise DriftInputError(
            "'min_effect_size' must map numeric, categorical and features to thresholds"
        )
    unknown = set(data) - set(MIN_EFFECT_SIZE_KEYS)
    if unknown:
        raise DriftInputError(
            f"min_effect_size: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
            f"(expected {', '.join(MIN_EFFECT_SIZE_KEYS)})"
        )
    features = data.get("features") or {}
    if not isinstance(features, dict):
        raise DriftInputError("'min_effect_size.features' must map column names to thresholds")
    by_kind = {kind: data[kind] for kind in KINDS if kind in data}
    return by_kind, {str(name): value for name, value in features.items()}


def _check_summary_settings(max_distinct: object, sketch_bits: object) -> None:
    for key, value, low, high in (
        ("max_distinct", max_distinct, 1, None),
        ("sketch_bits", sketch_bits, 1, MAX_SKETCH_BITS),
    ):
        if (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value < low
            or (high is not None and value > high)
        ):
            within = f"from {low} to {high}" if high else f"{low} or more"
            raise DriftInputError(f"{key} must be a whole number {within}, got {value!r}")
