"""Test settings and column types, from a YAML file or defaults."""

from __future__ import annotations

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
# relative step of 2^-12, 0.024 %); a double has 52 after its first.
DEFAULT_MAX_DISTINCT, DEFAULT_SKETCH_BITS, MAX_SKETCH_BITS = 1_000_000, 12, 52


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
    max_distinct: int = DEFAULT_MAX_DISTINCT
    sketch_bits: int = DEFAULT_SKETCH_BITS

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


def load_config(path: Path) -> DriftConfig:
    """Read a YAML config file: keys ``alpha``, ``correction``, ``columns``, ``ignore``."""
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
        "alpha", "correction", "columns", "ignore", "max_distinct", "sketch_bits",
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
    return DriftConfig(
        alpha=float(alpha),
        # Only text is lowered: a blank `correction:` (None) must not become "none".
        correction=correction.lower() if isinstance(correction, str) else correction,
        columns={str(k): v for k, v in columns.items()} if columns else None,
        ignore=frozenset(str(c) for c in ignore),
        max_distinct=data.get("max_distinct", DEFAULT_MAX_DISTINCT),
        sketch_bits=data.get("sketch_bits", DEFAULT_SKETCH_BITS),
    )


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
