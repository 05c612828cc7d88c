"""Per-feature summaries of a batch: all the drift tests need, computed by any backend.

A categorical feature is its counts per category; a numeric one its counts per distinct value
(``drift.stats.Distinct``: the KS statistic, the Wasserstein distance and the chi-square tables
are exact from these). Both also count missing values. Above ``max_distinct`` distinct values a
numeric feature is summarised by a **sketch** instead: its values rounded to ``sketch_bits``
significant bits (a fixed relative grid, the same for every batch), with the count, smallest
and largest value of each grid cell.

Every backend hands its GROUP BY results (value, count) to the constructors here, so identical
data gives identical summaries whichever backend computed them, and partial summaries of chunks
merge exactly (``merge``): counts add up, and a summary is a sketch exactly when the whole has
more than ``max_distinct`` distinct values.

**The sketch's error bound on the KS statistic D.** Rounding is monotone and the grid does not
depend on the data, so at each cell's upper edge both sketched CDFs equal the exact ones: the
sketched D never exceeds the exact D. Between two edges each exact CDF moves by at most its
batch's share of that cell, so

    D_sketch <= D <= D_sketch + max over cells of max(share of the reference, of the current)

where cells whose values are one and the same number in both batches count 0 (nothing moves
inside them). ``ks_error_bound`` computes that bound from the two summaries. With 12 bits a
cell is 2^-12 to 2^-11 of its values wide (0.024 % to 0.049 %), so for smooth data the bound is
the probability mass of such a sliver: about 1e-4 for a normal sample, below the sampling noise
of D at the sizes where sketches apply (1/sqrt(n) = 1e-3 at 10^6 values). It is large only when
most values differ by less than a relative 2^-11 (timestamps in seconds, say): raise
``sketch_bits`` or ``max_distinct`` then; the bound says when.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from drift.config import DEFAULT_MAX_DISTINCT, DEFAULT_SKETCH_BITS, DriftConfig, Kind
from drift.stats import Distinct, collapse, run_starts

SummaryKind = Literal["numeric", "categorical", "datetime"]
# The spellings of booleans pandas' CSV reader recognises (one category each).
BOOLEAN_TEXTS = {
    **dict.fromkeys(("True", "TRUE", "true"), True),
    **dict.fromkeys(("False", "FALSE", "false"), False),
}

# The columns to summarise with their kinds; None: inferred from the data by the backend.
Plan = Mapping[str, Kind | None]


@dataclass(frozen=True)
class SummarySettings:
    """How numeric features are summarised (part of a cached summary's identity); checked
    where they are set, in DriftConfig."""

    max_distinct: int = DEFAULT_MAX_DISTINCT
    sketch_bits: int = DEFAULT_SKETCH_BITS


def summary_settings(config: DriftConfig) -> SummarySettings:
    return SummarySettings(config.max_distinct, config.sketch_bits)


@dataclass(frozen=True, eq=False)
class Sketch:
    """Counts per cell of the grid of values rounded to ``bits`` significant bits."""

    bits: int
    cells: Distinct  # each occupied cell's rounded value and how many values fell in it
    low: np.ndarray  # the smallest value in each cell
    high: np.ndarray  # the largest value in each cell

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sketch)
            and self.bits == other.bits
            and _same(self.cells, other.cells)
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )


@dataclass(frozen=True, eq=False)
class NumericSummary:
    """A numeric feature: exact counts per distinct value, or a sketch of them."""

    exact: Distinct | None
    sketch: Sketch | None
    missing: int  # NaN, None and +-inf
    kind: SummaryKind = field(default="numeric", init=False)

    @property
    def distribution(self) -> Distinct:
        """Values (or cells) with counts: what the KS test reads."""
        if self.sketch is not None:
            return self.sketch.cells
        assert self.exact is not None
        return self.exact

    @property
    def present(self) -> int:
        return int(self.distribution.counts.sum())

    @property
    def rows(self) -> int:
        return self.present + self.missing

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, NumericSummary)
            and self.missing == other.missing
            and self.sketch == other.sketch
            and (self.exact is None) == (other.exact is None)
            and (self.exact is None or other.exact is None or _same(self.exact, other.exact))
        )


@dataclass(frozen=True)
class CategoricalSummary:
    """A categorical feature: counts per category label (see ``category_label``)."""

    counts: Mapping[str, int]  # sorted by label; every count > 0
    missing: int
    kind: SummaryKind = field(default="categorical", init=False)

    @property
    def present(self) -> int:
        return sum(self.counts.values())

    @property
    def rows(self) -> int:
        return self.present + self.missing


@dataclass(frozen=True)
class DateSummary:
    """A column of ISO dates: not tested, so only its size is kept."""

    missing: int
    rows: int
    kind: SummaryKind = field(default="datetime", init=False)

    @property
    def present(self) -> int:
        return self.rows - self.missing


FeatureSummary = NumericSummary | CategoricalSummary | DateSummary


@dataclass(frozen=True)
class BatchSummary:
    """A batch as the engine tests it: its header and a summary per summarised column."""

    columns: tuple[str, ...]
    features: Mapping[str, FeatureSummary]


# --- constructors: every backend's GROUP BY results go through these -----------------------


def category_label(value: object) -> str:
    """One text per category whatever type carried it, so that batches and backends agree:
    a number is its value ("1" for 1, 1.0, "01", "1.0" and np.int64(1); "0.5"), a boolean
    "True" or "False" (also for "true", "TRUE", ...), other text itself. Backends read the same
    data as different types (CSV text, pandas' typed categories, DuckDB BIGINT, Arrow
    dictionaries), and pandas types a CSV column's categories as numbers only when all of that
    batch's are: labelling each value alone keeps it the same category in every batch."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        number = float(value)
        return str(int(number)) if number.is_integer() else repr(number)
    text = str(value)
    if text in BOOLEAN_TEXTS:
        return str(BOOLEAN_TEXTS[text])
    number = _number(text)
    return text if number is None else category_label(number)


def _number(text: str) -> int | float | None:
    """The number a text spells, as pandas reads one (no "_" digit separators), else None."""
    if "_" in text:
        return None
    for parse in (int, float):
        try:
            number = parse(text)
        except ValueError:
            continue
        return None if number != number else number  # "nan" stays text
    return None


def categorical_summary(
    categories: Iterable[object], counts: Iterable[int], missing: int
) -> CategoricalSummary:
    """From (category, count) pairs, such as a GROUP BY gives: categories are labelled with
    ``category_label`` (pairs with the same label add up), zero counts dropped, and a None or
    NaN category counts as missing (a GROUP BY keeps a float column's NaN as a group)."""
    by_label: dict[str, int] = {}
    missing = int(missing)
    for category, count in zip(categories, counts, strict=True):
        if _is_missing(category):
            missing += int(count)
        elif count:
            label = category_label(category)
            by_label[label] = by_label.get(label, 0) + int(count)
    return CategoricalSummary(dict(sorted(by_label.items())), missing)


def _is_missing(category: object) -> bool:
    return category is None or (isinstance(category, float | np.floating) and np.isnan(category))


def numeric_summary(
    values: np.ndarray, counts: np.ndarray, missing: int, settings: SummarySettings
) -> NumericSummary:
    """From (value, count) pairs in any order, repeated values allowed (a GROUP BY's rows, or
    each value with count 1). NaN and +-inf count as missing; -0.0 is 0.0."""
    values = np.asarray(values, dtype=float) + 0.0  # -0.0 + 0.0 is 0.0: one zero
    counts = np.asarray(counts, dtype=np.int64)
    finite = np.isfinite(values)
    missing = int(missing) + int(counts[~finite].sum())
    kept = finite & (counts > 0)
    exact = collapse(values[kept], counts[kept])
    if len(exact.values) > settings.max_distinct:
        return NumericSummary(None, sketch_of(exact, settings.sketch_bits), missing)
    return NumericSummary(exact, None, missing)


def sketched_summary(
    bits: int,
    cells: np.ndarray,
    counts: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    missing: int,
) -> NumericSummary:
    """From per-cell rows in any order (``grid(value, bits)``, count, smallest and largest
    finite value), such as a GROUP BY on the grid gives: for backends that sketch a column
    without handing over its distinct values. The caller has found more than ``max_distinct``
    distinct values."""
    part = Sketch(
        bits,
        Distinct(np.asarray(cells, dtype=float), np.asarray(counts, dtype=np.int64)),
        np.asarray(low, dtype=float),
        np.asarray(high, dtype=float),
    )
    return NumericSummary(None, _merge_sketches([part]), int(missing))


# --- the sketch -------------------------------------------------------------------------------


def grid(values: np.ndarray, bits: int) -> np.ndarray:
    """Each value rounded to ``bits`` significant bits (half to even): the cell it falls in.
    Monotone, and the same numbers for every batch and backend."""
    mantissa, exponent = np.frexp(values)  # value = mantissa * 2**exponent, 0.5 <= |m| < 1
    with np.errstate(over="ignore"):  # the largest doubles round up to infinity
        return np.ldexp(np.round(np.ldexp(mantissa, bits)), exponent - bits)


def sketch_of(exact: Distinct, bits: int) -> Sketch:
    """The sketch of exact counts: distinct values are sorted and rounding is monotone, so each
    cell is a run of consecutive values."""
    rounded = grid(exact.values, bits)
    starts = run_starts(rounded)
    ends = np.r_[starts[1:], len(rounded)] - 1
    counts = np.add.reduceat(exact.counts, starts) if len(rounded) else exact.counts
    cells = Distinct(rounded[starts], counts.astype(np.int64, copy=False))
    return Sketch(bits, cells, exact.values[starts], exact.values[ends])


def _merge_sketches(parts: list[Sketch]) -> Sketch:
    rounded = np.concatenate([p.cells.values for p in parts])
    order = np.argsort(rounded, kind="stable")
    rounded = rounded[order]
    starts = run_starts(rounded)
    counts = np.add.reduceat(np.concatenate([p.cells.counts for p in parts])[order], starts)
    low = np.minimum.reduceat(np.concatenate([p.low for p in parts])[order], starts)
    high = np.maximum.reduceat(np.concatenate([p.high for p in parts])[order], starts)
    return Sketch(parts[0].bits, Distinct(rounded[starts], counts), low, high)


def as_sketch(summary: NumericSummary, bits: int) -> Sketch:
    if summary.sketch is not None:
        if summary.sketch.bits != bits:
            raise ValueError(f"sketches of {summary.sketch.bits} and {bits} bits do not merge")
        return summary.sketch
    assert summary.exact is not None
    return sketch_of(summary.exact, bits)


def comparable(reference: NumericSummary, current: NumericSummary) -> tuple[Distinct, Distinct]:
    """The two distributions the KS test compares: both exact, or both on the sketch's grid
    (an exact summary is sketched when the other one is)."""
    if reference.sketch is None and current.sketch is None:
        return reference.distribution, current.distribution
    bits = (reference.sketch or current.sketch).bits  # type: ignore[union-attr]
    return as_sketch(reference, bits).cells, as_sketch(current, bits).cells


def ks_error_bound(reference: NumericSummary, current: NumericSummary) -> float:
    """How far the exact KS D can be above the D of ``comparable``'s distributions (see the
    module's docstring); 0 when both summaries are exact."""
    if reference.sketch is None and current.sketch is None:
        return 0.0
    bits = (reference.sketch or current.sketch).bits  # type: ignore[union-attr]
    ref, cur = as_sketch(reference, bits), as_sketch(current, bits)
    cells = np.union1d(ref.cells.values, cur.cells.values)
    ref_share, ref_low, ref_high = _on_cells(cells, ref)
    cur_share, cur_low, cur_high = _on_cells(cells, cur)
    low, high = np.fmin(ref_low, cur_low), np.fmax(ref_high, cur_high)
    one_point = low == high  # NaN (a cell neither batch occupies) is never one point
    moves = np.where(one_point, 0.0, np.maximum(ref_share, cur_share))
    return float(moves.max(initial=0.0))


def _on_cells(cells: np.ndarray, sketch: Sketch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sketch's shares, lows and highs on ``cells`` (0 and NaN where it has none)."""
    at = np.searchsorted(cells, sketch.cells.values)
    share = np.zeros(len(cells))
    low, high = np.full(len(cells), np.nan), np.full(len(cells), np.nan)
    share[at] = sketch.cells.counts / sketch.cells.counts.sum()
    low[at], high[at] = sketch.low, sketch.high
    return share, low, high


# --- merging partial summaries ----------------------------------------------------------------


def merge(parts: Iterable[FeatureSummary], settings: SummarySettings) -> FeatureSummary:
    """The summary of the rows of all ``parts`` (partial summaries of one column, e.g. per
    chunk or partition): exact for counts, whatever the order."""
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to merge")
    kinds = {p.kind for p in parts}
    if len(kinds) != 1:
        raise ValueError(f"cannot merge summaries of kinds {', '.join(sorted(kinds))}")
    first = parts[0]
    if isinstance(first, DateSummary):
        dates = [p for p in parts if isinstance(p, DateSummary)]
        return DateSummary(sum(p.missing for p in dates), sum(p.rows for p in dates))
    if isinstance(first, CategoricalSummary):
        counted = [p for p in parts if isinstance(p, CategoricalSummary)]
        return categorical_summary(
            [label for p in counted for label in p.counts],
            [count for p in counted for count in p.counts.values()],
            sum(p.missing for p in counted),
        )
    numeric = [p for p in parts if isinstance(p, NumericSummary)]
    missing = sum(p.missing for p in numeric)
    if all(p.exact is not None for p in numeric):
        exact = [p.distribution for p in numeric]
        return numeric_summary(
            np.concatenate([d.values for d in exact]),
            np.concatenate([d.counts for d in exact]),
            missing,
            settings,
        )
    sketches = [as_sketch(p, settings.sketch_bits) for p in numeric]
    return NumericSummary(None, _merge_sketches(sketches), missing)


def current_plan(plan: Plan, reference: BatchSummary) -> Plan:
    """The current batch's plan: a kind left to inference is the reference's, when the
    reference has values to infer it from (as one batch's column is tested as the other's)."""
    return {
        name: kind or _kind_with_values(reference.features.get(name)) for name, kind in plan.items()
    }


def _kind_with_values(summary: FeatureSummary | None) -> Kind | None:
    """The kind to summarise as, from a summary with values; None: infer it."""
    if summary is None or not summary.present or summary.kind == "datetime":
        return None
    return summary.kind


def _same(a: Distinct, b: Distinct) -> bool:
    return np.array_equal(a.values, b.values) and np.array_equal(a.counts, b.counts)
