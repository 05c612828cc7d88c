"""Per-feature summaries: what they count, how partial ones merge, the sketch and its
documented error bound on the KS statistic D (checked against scipy's D on the raw data)."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from drift.config import DriftConfig, load_config
from drift.dataset import read_batch
from drift.engine import compare
from drift.errors import DriftInputError
from drift.stats import Distinct
from drift.summary import (
    BatchSummary,
    CategoricalSummary,
    NumericSummary,
    SummarySettings,
    categorical_summary,
    category_label,
    comparable,
    current_plan,
    grid,
    ks_error_bound,
    merge,
    numeric_summary,
    summary_settings,
)

DATA = Path(__file__).resolve().parents[1] / "data"
EXACT = SummarySettings()


def summarise(values: np.ndarray, settings: SummarySettings = EXACT) -> NumericSummary:
    return numeric_summary(values, np.ones(len(values), dtype=np.int64), 0, settings)


# --- what a summary counts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (1, "1"), (np.int64(1), "1"), (1.0, "1"), (np.float32(2.0), "2"), (0.5, "0.5"),
        (True, "True"), (np.bool_(False), "False"), ("Clear", "Clear"), ("", ""),
        ("Śnieg ❄", "Śnieg ❄"), (float("inf"), "inf"), (-0.0, "0"),
    ],
)  # fmt: skip
def test_a_category_has_one_label_whatever_type_carried_it(value: object, label: str) -> None:
    assert category_label(value) == label


def test_categorical_summary_adds_up_equal_labels_and_counts_none_and_nan_as_missing() -> None:
    summary = categorical_summary(
        ["b", 1, 1.0, None, float("nan"), "a", "zero"], [2, 3, 4, 5, 6, 7, 0], missing=1
    )
    assert summary.counts == {"1": 7, "a": 7, "b": 2}  # sorted; the zero count dropped
    assert list(summary.counts) == ["1", "a", "b"]
    assert (summary.missing, summary.present, summary.rows) == (12, 16, 28)


def test_a_text_category_is_labelled_by_the_value_it_spells_alone() -> None:
    # pandas types a CSV batch's categories as numbers only when every one is: "01" beside
    # "x" stays text in one batch, becomes 1 in a batch without "x"; both must be one category.
    for text, number in (("01", 1), ("1.0", 1.0), (" 2", 2), ("1e3", 1000.0), ("-0.0", 0.0)):
        assert category_label(text) == category_label(number)
    assert [category_label(t) for t in ("true", "TRUE", "False")] == ["True", "True", "False"]
    assert category_label("12345678901234567890") == "12345678901234567890"  # exact integer
    for text in ("1_000", "0x10", "nan", "x1", "1,5"):  # not numbers to pandas: themselves
        assert category_label(text) == text


def test_numeric_summary_counts_distinct_values_and_nan_and_inf_as_missing() -> None:
    values = np.array([2.0, 1.0, np.nan, 2.0, np.inf, -0.0, 0.0, -np.inf, 1.0, 2.0])
    summary = numeric_summary(values, np.ones(10, dtype=np.int64), 4, EXACT)
    assert summary.exact is not None and summary.sketch is None
    np.testing.assert_array_equal(summary.exact.values, [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(summary.exact.counts, [2, 2, 3])
    assert np.signbit(summary.exact.values[0]) == False  # noqa: E712  -0.0 is 0.0
    assert (summary.missing, summary.present, summary.rows) == (7, 7, 14)


def test_numeric_summary_takes_group_by_rows_in_any_order_with_repeats() -> None:
    summary = numeric_summary(np.array([3.0, 1.0, 3.0]), np.array([2, 5, 1]), 0, EXACT)
    assert summary == summarise(np.array([1.0] * 5 + [3.0] * 3))


def test_above_max_distinct_a_numeric_column_is_sketched() -> None:
    values = np.random.default_rng(1).normal(size=1_000)
    assert summarise(values, SummarySettings(max_distinct=1_000)).sketch is None
    sketched = summarise(values, SummarySettings(max_distinct=999, sketch_bits=6))
    assert sketched.exact is None and sketched.sketch is not None
    assert sketched.present == 1_000
    assert len(sketched.sketch.cells.values) < 1_000


# --- the grid -----------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [1, 4, 12, 30])
def test_grid_rounds_to_a_relative_step_of_two_to_the_minus_bits_and_keeps_order(
    bits: int,
) -> None:
    rng = np.random.default_rng(bits)
    values = np.sort(np.concatenate([rng.normal(0, 1e6, 5_000), rng.normal(0, 1e-6, 5_000)]))
    rounded = grid(values, bits)
    assert np.all(np.abs(rounded - values) <= np.abs(values) * 2.0**-bits)
    assert np.all(np.diff(rounded) >= 0)  # monotone: cells are runs of sorted values
    assert grid(np.array([0.0]), bits)[0] == 0.0


def test_grid_keeps_values_that_already_have_few_significant_bits() -> None:
    values = np.array([1.0, 1.5, -3.25, 1024.0, 0.125])
    np.testing.assert_array_equal(grid(values, 4), values)


# --- merging partial summaries ------------------------------------------------------------


def _chunks(values: np.ndarray, pieces: int) -> list[np.ndarray]:
    return np.array_split(values, pieces)


@pytest.mark.parametrize(
    "settings",
    [SummarySettings(), SummarySettings(max_distinct=50, sketch_bits=5)],
    ids=["exact", "sketched"],
)
def test_partial_numeric_summaries_merge_into_the_summary_of_the_whole(
    settings: SummarySettings,
) -> None:
    rng = np.random.default_rng(7)
    values = np.round(rng.gamma(2.0, 3.0, 3_000), 2)
    values[::97] = np.nan
    whole = summarise(values, settings)
    parts = [summarise(chunk, settings) for chunk in _chunks(values, 7)]
    assert merge(parts, settings) == whole
    assert merge(parts[::-1], settings) == whole  # whatever the order
    assert merge([merge(parts[:3], settings), merge(parts[3:], settings)], settings) == whole


def test_exact_parts_whose_union_has_too_many_values_merge_into_a_sketch() -> None:
    settings = SummarySettings(max_distinct=100, sketch_bits=8)
    values = np.arange(150, dtype=float)
    parts = [summarise(chunk, settings) for chunk in _chunks(values, 3)]  # 50 values each
    assert all(p.exact is not None for p in parts)
    merged = merge(parts, settings)
    assert merged.sketch is not None
    assert merged == summarise(values, settings)


def test_partial_categorical_summaries_merge_by_label() -> None:
    parts = [
        categorical_summary(["a", "b"], [1, 2], missing=1),
        categorical_summary(["b", 3], [5, 1], missing=0),
        categorical_summary([3.0], [2], missing=4),
    ]
    merged = merge(parts, EXACT)
    assert merged == CategoricalSummary({"3": 3, "a": 1, "b": 7}, 5)


def test_summaries_of_different_kinds_do_not_merge() -> None:
    with pytest.raises(ValueError, match="kinds"):
        merge([summarise(np.array([1.0])), categorical_summary(["a"], [1], 0)], EXACT)


# --- the sketch's error bound on D --------------------------------------------------------


def _exact_d(reference: np.ndarray, current: np.ndarray) -> float:
    return float(stats.ks_2samp(reference, current).statistic)


def _sketched_d(
    reference: np.ndarray, current: np.ndarray, settings: SummarySettings
) -> tuple[float, float]:
    ref, cur = summarise(reference, settings), summarise(current, settings)
    assert ref.sketch is not None and cur.sketch is not None
    ref_cells, cur_cells = comparable(ref, cur)
    pooled = np.union1d(ref_cells.values, cur_cells.values)
    ref_cdf = np.cumsum(_on(pooled, ref_cells)) / ref.present
    cur_cdf = np.cumsum(_on(pooled, cur_cells)) / cur.present
    return float(np.abs(ref_cdf - cur_cdf).max()), ks_error_bound(ref, cur)


def _on(pooled: np.ndarray, sample: Distinct) -> np.ndarray:
    counts = np.zeros(len(pooled))
    counts[np.searchsorted(pooled, sample.values)] = sample.counts
    return counts


def _synthetic(name: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    n = 20_000
    if name == "normal":
        return rng.normal(0, 1, n), rng.normal(0, 1, n)
    if name == "shifted":
        return rng.normal(0, 1, n), rng.normal(0.05, 1, n)
    if name == "lognormal":
        return rng.lognormal(0, 2, n), rng.lognormal(0.1, 2, n)
    if name == "ties and spread":  # a point mass at 0 beside continuous values
        ref = np.where(rng.random(n) < 0.3, 0.0, rng.exponential(5, n))
        return ref, np.where(rng.random(n) < 0.35, 0.0, rng.exponential(5, n))
    if name == "large offset, small spread":  # the grid's weak case: the bound says so
        return 1e6 + rng.normal(0, 1, n), 1e6 + rng.normal(0.5, 1, n)
    raise AssertionError(name)


@pytest.mark.parametrize(
    "name", ["normal", "shifted", "lognormal", "ties and spread", "large offset, small spread"]
)
@pytest.mark.parametrize("bits", [4, 8, 12])
def test_sketched_d_is_within_the_documented_bound_of_the_exact_d(name: str, bits: int) -> None:
    reference, current = _synthetic(name)
    settings = SummarySettings(max_distinct=1_000, sketch_bits=bits)
    d_sketch, bound = _sketched_d(reference, current, settings)
    d = _exact_d(reference, current)
    assert d_sketch <= d + 1e-12
    assert d <= d_sketch + bound + 1e-12


@pytest.mark.parametrize("column", ["temp", "atemp", "hum", "windspeed", "cnt"])
def test_sketched_d_is_within_the_bound_on_the_bundled_data(column: str) -> None:
    config = load_config(DATA / "drift.yaml")
    reference = read_batch(DATA / "control" / "bike_sharing_dataset_1.csv", config)[column]
    current = read_batch(DATA / "audit" / "bike_sharing_dataset_4.csv.off", config)[column]
    ref, cur = reference.to_numpy(dtype=float), current.to_numpy(dtype=float)
    settings = SummarySettings(max_distinct=10, sketch_bits=3)  # sketch even these columns
    d_sketch, bound = _sketched_d(ref, cur, settings)
    d = _exact_d(ref, cur)
    assert d_sketch <= d + 1e-12 <= d_sketch + bound + 2e-12


def test_the_bound_is_small_for_smooth_data_at_the_default_bits() -> None:
    reference, current = _synthetic("normal")
    d_sketch, bound = _sketched_d(reference, current, SummarySettings(max_distinct=1_000))
    assert bound < 1e-3  # the probability mass of a 2^-12 relative sliver, well below D's noise
    assert abs(d_sketch - _exact_d(reference, current)) <= bound


def test_the_bound_is_zero_between_exact_summaries_and_cells_of_one_value() -> None:
    exact = summarise(np.array([1.0, 2.0, 2.0]))
    assert ks_error_bound(exact, summarise(np.array([3.0]))) == 0.0
    settings = SummarySettings(max_distinct=2, sketch_bits=20)
    sketched = summarise(np.array([1.0, 2.0, 4.0]), settings)  # every cell a single value
    assert ks_error_bound(sketched, summarise(np.array([1.0, 2.0]))) == 0.0


def test_engine_tests_a_sketched_column_within_the_bound() -> None:
    reference, current = _synthetic("shifted")
    config = DriftConfig(max_distinct=1_000)
    result = compare(pd.DataFrame({"x": reference}), pd.DataFrame({"x": current}), config)
    d = _exact_d(reference, current)
    (feature,) = result.features
    assert feature.statistic is not None
    assert feature.statistic <= d + 1e-12 <= feature.statistic + 1e-3
    assert feature.p_value is not None and math.isfinite(feature.p_value)


# --- config and plans ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_distinct", 0), ("max_distinct", 2.5), ("sketch_bits", 0), ("sketch_bits", 53),
     ("sketch_bits", True)],
)  # fmt: skip
def test_bad_summary_settings_are_an_input_error(setting: str, value: object) -> None:
    with pytest.raises(DriftInputError, match=f"{setting} must be a whole number"):
        DriftConfig(**{setting: value})  # type: ignore[arg-type]


def test_summary_settings_are_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "drift.yaml"
    path.write_text("max_distinct: 5000\nsketch_bits: 8\n")
    config = load_config(path)
    assert (config.max_distinct, config.sketch_bits) == (5000, 8)
    assert summary_settings(config) == SummarySettings(max_distinct=5000, sketch_bits=8)
    assert summary_settings(DriftConfig()) == SummarySettings(1_000_000, 12)
    path.write_text("max_distinct: 1e6\n")
    with pytest.raises(DriftInputError, match=r"drift\.yaml: max_distinct must be a whole number"):
        load_config(path)


def test_current_plan_takes_the_reference_kind_where_the_reference_has_values() -> None:
    reference = BatchSummary(
        ("a", "b", "c"),
        {
            "a": summarise(np.array([1.0])),
            "b": categorical_summary([], [], missing=3),  # no values: infer from the current
            "c": categorical_summary(["x"], [1], 0),
        },
    )
    plan = current_plan({"a": None, "b": None, "c": "numeric", "d": None}, reference)
    assert plan == {"a": "numeric", "b": None, "c": "numeric", "d": None}
