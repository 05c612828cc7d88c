"""compare() and check_schema(): which test each column gets, what is reported, and the
edge cases that must be skipped with a reason instead of crashing or yielding NaN."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import drift
from drift.config import DriftConfig
from drift.dataset import read_batch
from drift.engine import check_schema, compare
from drift.errors import DriftInputError, NothingTestedError
from drift.report import DriftReport, FeatureResult

NAMES = ("ref.csv", "cur.csv")


def feature(report: DriftReport, name: str) -> FeatureResult:
    (found,) = [f for f in report.features if f.feature == name]
    return found


def nan_paths(value: Any, path: str = "report") -> list[str]:
    """Where a float NaN (or infinity) hides in a nested dict/list."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nan_paths(v, f"{path}.{k}")]
    if isinstance(value, list | tuple):
        return [p for i, v in enumerate(value) for p in nan_paths(v, f"{path}[{i}]")]
    if isinstance(value, float) and not math.isfinite(value):
        return [path]
    return []


def assert_skipped(result: FeatureResult, reason_part: str) -> None:
    assert result.status == "skipped"
    assert result.reason is not None and reason_part in result.reason
    assert (result.statistic, result.p_value, result.p_value_adjusted) == (None, None, None)
    assert result.effect_size is None
    assert result.drifted is False


def normal(n: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(shift, 1.0, n)


# --- the test each kind gets -------------------------------------------------------------


def test_numeric_column_gets_ks_matching_scipy_with_wasserstein_effect_size() -> None:
    ref, cur = normal(40), normal(55, shift=0.7, seed=1)
    result = feature(compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})), "x")
    expected = stats.ks_2samp(ref, cur, method="exact")
    assert (result.kind, result.test, result.status) == ("numeric", "ks", "tested")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.effect_size == pytest.approx(stats.wasserstein_distance(ref, cur) / ref.std())
    assert (result.n_reference, result.n_current) == (40, 55)
    assert (result.missing_share_reference, result.missing_share_current) == (0.0, 0.0)


def test_categorical_column_gets_chi2_over_the_union_of_categories() -> None:
    ref = ["a"] * 30 + ["b"] * 20 + ["c"] * 10
    cur = ["a"] * 25 + ["b"] * 20 + ["c"] * 5 + ["new"] * 4  # "new" only in the current
    result = feature(compare(pd.DataFrame({"k": ref}), pd.DataFrame({"k": cur})), "k")
    table = np.array([[30, 20, 10, 0], [25, 20, 5, 4]])
    expected = stats.chi2_contingency(table)
    assert (result.kind, result.test, result.status) == ("categorical", "chi2", "tested")
    assert result.p_value is not None and result.p_value > 0
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.effect_size == pytest.approx(math.sqrt(expected.statistic / 114), rel=1e-12)
    assert (result.n_reference, result.n_current) == (60, 54)


def test_categorical_column_with_two_categories_gets_yates_corrected_chi2() -> None:
    ref = pd.DataFrame({"k": ["yes"] * 30 + ["no"] * 10})
    cur = pd.DataFrame({"k": ["yes"] * 20 + ["no"] * 20})
    result = feature(compare(ref, cur), "k")
    assert result.statistic == pytest.approx(4.32, rel=1e-12)  # worked out in test_stats.py


# --- missing values -----------------------------------------------------------------------


def test_numeric_nan_is_dropped_for_the_test_and_its_share_reported() -> None:
    ref = normal(16, seed=2)
    cur = normal(8, shift=0.5, seed=3)
    ref_with_nan, cur_with_nan = ref.copy(), cur.copy()
    ref_with_nan[[0, 5, 6, 9]] = np.nan  # 4 of 16
    cur_with_nan[7] = np.nan  # 1 of 8
    result = feature(
        compare(pd.DataFrame({"x": ref_with_nan}), pd.DataFrame({"x": cur_with_nan})), "x"
    )
    kept_ref, kept_cur = ref_with_nan[~np.isnan(ref_with_nan)], cur[:7]
    assert (result.n_reference, result.n_current) == (12, 7)
    assert result.missing_share_reference == 0.25
    assert result.missing_share_current == 0.125
    assert result.p_value == pytest.approx(stats.ks_2samp(kept_ref, kept_cur).pvalue, rel=1e-12)


def test_infinity_counts_as_missing_in_a_numeric_column() -> None:
    ref = np.array([1.0, 2.0, np.inf, 3.0, -np.inf, 4.0, 5.0, 6.0])
    cur = np.array([2.5, 3.5, 4.5, 5.5, 6.5, 7.5, 8.5, np.nan])
    result = feature(compare(pd.DataFrame({"x": ref}), pd.DataFrame({"x": cur})), "x")
    finite_ref, finite_cur = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    assert (result.n_reference, result.n_current) == (6, 7)
    assert result.missing_share_reference == 0.25
    assert result.missing_share_current == 0.125
    expected = stats.ks_2samp(finite_ref, finite_cur, method="exact")
    assert result.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert result.effect_size is not None and math.isfinite(result.effect_size)


def test_categorical_nan_is_dropped_for_the_test_and_its_share_reported() -> None:
    ref = pd.DataFrame({"k": ["a", "b", None, "a", "b", "a", np.nan, "b"]})  # 2 of 8
    cur = pd.DataFrame({"k": ["a", "a", "a", "b"]})
    result = feature(compare(ref, cur), "k")
    assert (result.n_reference, result.n_current) == (6, 4)
    assert (result.missing_share_reference, result.missing_share_current) == (0.25, 0.0)
    expected = stats.chi2_contingency(np.array([[3, 3], [3, 1]]))
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)


# --- columns that cannot be tested --------------------------------------------------------


@pytest.mark.parametrize("values", [[np.nan] * 5, [None] * 5], ids=["float", "object"])
def test_all_missing_column_is_skipped_naming_the_batch(values: list[Any]) -> None:
    ref = pd.DataFrame({"x": values, "y": normal(5)})
    cur = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "y": normal(4, seed=1)})
    report = compare(ref, cur, names=NAMES)
    result = feature(report, "x")
    assert_skipped(result, "no values in ref.csv")
    assert result.missing_share_reference == 1.0
    assert report.features_tested == 1


def test_empty_batch_with_only_a_header_is_an_error_not_a_run_without_drift() -> None:
    ref = pd.DataFrame({"x": normal(10), "k": list("abababcccc")})
    empty = pd.DataFrame({"x": pd.Series([], dtype=object), "k": pd.Series([], dtype=object)})
    with pytest.raises(NothingTestedError) as info:
        compare(ref, empty, names=NAMES)
    assert str(info.value) == (
        "nothing could be tested: every feature was skipped: 'x', 'k' (no rows in cur.csv)"
    )


def test_a_column_with_no_rows_beside_a_tested_one_has_no_missing_share() -> None:
    ref = pd.DataFrame({"x": normal(10), "y": normal(10, seed=1)})
    cur = pd.DataFrame({"y": normal(8, seed=2)})
    report = compare(ref, cur, names=NAMES)
    assert_skipped(feature(report, "x"), "absent from cur.csv")
    assert feature(report, "x").missing_share_current is None
    assert nan_paths(report.to_dict()) == []


def _with_a_tested_column(**columns: tuple[list[Any], list[Any]]) -> DriftReport:
    """compare() on these (reference, current) columns plus one that can be tested."""
    ref = pd.DataFrame({"tested": normal(10), **{k: v[0] for k, v in columns.items()}})
    cur = pd.DataFrame({"tested": normal(7, seed=1), **{k: v[1] for k, v in columns.items()}})
    return compare(ref, cur, names=NAMES)


def test_constant_numeric_column_in_both_batches_is_skipped() -> None:
    result = feature(_with_a_tested_column(x=([3.0] * 10, [3.0] * 7)), "x")
    assert_skipped(result, "constant")
    assert (result.n_reference, result.n_current) == (10, 7)


def test_constant_categorical_column_in_both_batches_is_skipped() -> None:
    result = feature(_with_a_tested_column(k=(["a"] * 10, ["a"] * 7)), "k")
    assert_skipped(result, "constant")


def test_numeric_column_constant_at_different_values_is_tested_and_drifts() -> None:
    report = compare(pd.DataFrame({"x": [1.0] * 30}), pd.DataFrame({"x": [2.0] * 30}))
    result = feature(report, "x")
    assert result.status == "tested"
    assert result.statistic == 1.0
    assert result.p_value == pytest.approx(stats.ks_2samp([1.0] * 30, [2.0] * 30).pvalue)
    assert result.drifted is True
    assert result.effect_size is not None and math.isfinite(result.effect_size)


def test_categorical_column_constant_at_different_categories_is_tested_and_drifts() -> None:
    result = feature(compare(pd.DataFrame({"k": ["a"] * 30}), pd.DataFrame({"k": ["b"] * 30})), "k")
    assert result.status == "tested"
    assert result.p_value == pytest.approx(stats.chi2_contingency([[30, 0], [0, 30]]).pvalue)
    assert result.drifted is True


@pytest.mark.parametrize(
    ("absent_from", "named"), [("reference", "ref.csv"), ("current", "cur.csv")]
)
def test_column_absent_from_one_batch_is_skipped_naming_that_batch(
    absent_from: str, named: str
) -> None:
    full = pd.DataFrame({"x": normal(20), "extra": normal(20, seed=1)})
    partial = pd.DataFrame({"x": normal(20, seed=2)})
    ref, cur = (partial, full) if absent_from == "reference" else (full, partial)
    report = compare(ref, cur, names=NAMES)
    assert [f.feature for f in report.features] == ["x", "extra"]
    assert_skipped(feature(report, "extra"), f"absent from {named}")
    assert feature(report, "x").status == "tested"


def test_configured_column_missing_from_a_batch_is_an_input_error() -> None:
    config = DriftConfig(columns={"x": "numeric", "gone": "categorical"})
    ref = pd.DataFrame({"x": normal(5), "gone": list("abcab")})
    cur = pd.DataFrame({"x": normal(5)})
    with pytest.raises(DriftInputError, match=r"cur\.csv: missing configured column\(s\) 'gone'"):
        compare(ref, cur, config, names=NAMES)


def test_text_in_a_numeric_column_is_an_input_error_naming_row_and_value() -> None:
    config = DriftConfig(columns={"x": "numeric"})
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    cur = pd.DataFrame({"x": ["1.5", "2.5", "oops"]})
    with pytest.raises(DriftInputError, match=r"cur\.csv: column 'x' .* row 3 holds 'oops'"):
        compare(ref, cur, config, names=NAMES)


# --- column kinds -------------------------------------------------------------------------


def _write_codes(path: Path, codes: list[str]) -> Path:
    path.write_text("weathersit,temp\n" + "".join(f"{c},{i % 7}.5\n" for i, c in enumerate(codes)))
    return path


def test_integer_codes_declared_categorical_with_missing_values_match_across_batches(
    tmp_path: Path,
) -> None:
    # The reference's gaps would make pandas read its codes as 1.0, 2.0, ...; declared
    # categorical they must stay the same categories as the current batch's 1, 2, ...
    ref = _write_codes(tmp_path / "ref.csv", ["1", "2", "3", "4"] * 10 + ["", ""])
    cur = _write_codes(tmp_path / "cur.csv", ["1", "2", "3", "4"] * 5)
    config = DriftConfig(columns={"weathersit": "categorical", "temp": "numeric"})
    ref_batch, cur_batch = read_batch(ref, config), read_batch(cur, config)
    assert set(ref_batch["weathersit"].dropna()) == {"1", "2", "3", "4"}  # not "1.0"
    result = feature(compare(ref_batch, cur_batch, config), "weathersit")
    assert (result.kind, result.test) == ("categorical", "chi2")
    assert (result.n_reference, result.n_current) == (40, 20)
    assert result.missing_share_reference == pytest.approx(2 / 42, rel=1e-12)
    assert result.statistic == pytest.approx(0.0, abs=1e-12)  # identical proportions
    assert result.p_value == pytest.approx(1.0)


def test_categorical_codes_read_as_floats_in_one_frame_match_integers_in_the_other() -> None:
    config = DriftConfig(columns={"weathersit": "categorical"})
    ref = pd.DataFrame({"weathersit": [1.0, 2.0, 3.0, np.nan] * 10})  # NaN made them floats
    cur = pd.DataFrame({"weathersit": [1, 2, 3] * 5})
    result = feature(compare(ref, cur, config), "weathersit")
    assert (result.n_reference, result.n_current) == (30, 15)
    assert result.statistic == pytest.approx(0.0, abs=1e-12)


def test_integer_codes_declared_categorical_are_counted_per_code(tmp_path: Path) -> None:
    ref = _write_codes(tmp_path / "ref.csv", ["1"] * 20 + ["2"] * 10 + ["3"] * 5 + [""] * 3)
    cur = _write_codes(tmp_path / "cur.csv", ["1"] * 10 + ["2"] * 10 + ["3"] * 8 + ["4"] * 2)
    config = DriftConfig(columns={"weathersit": "categorical"})
    result = feature(
        compare(read_batch(ref, config), read_batch(cur, config), config), "weathersit"
    )
    expected = stats.chi2_contingency(np.array([[20, 10, 5, 0], [10, 10, 8, 2]]))
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_integer_codes_without_a_config_are_inferred_numeric(tmp_path: Path) -> None:
    ref = _write_codes(tmp_path / "ref.csv", ["1", "2", "3", "4"] * 10 + [""])
    cur = _write_codes(tmp_path / "cur.csv", ["1", "2", "3", "4"] * 5)
    result = feature(compare(read_batch(ref), read_batch(cur)), "weathersit")
    assert (result.kind, result.test) == ("numeric", "ks")


@pytest.mark.parametrize(
    ("ref_values", "cur_values", "kind", "test"),
    [
        ([1.5, 2.5, 3.5, 4.5], [2.0, 3.0, 4.0, 5.0], "numeric", "ks"),
        ([1, 2, 3, 4], [2, 3, 4, 5], "numeric", "ks"),
        (["1.5", "2.5", "3.5", "4"], ["2", "3", "4", "5"], "numeric", "ks"),
        (["red", "blue", "red", "red"], ["blue", "blue", "red", "green"], "categorical", "chi2"),
        ([True, False, True, True], [False, False, True, False], "categorical", "chi2"),
    ],
    ids=["floats", "ints", "text-numbers", "text-categories", "booleans"],
)
def test_kind_is_inferred_from_the_data(
    ref_values: list[Any], cur_values: list[Any], kind: str, test: str
) -> None:
    result = feature(compare(pd.DataFrame({"c": ref_values}), pd.DataFrame({"c": cur_values})), "c")
    assert (result.kind, result.test, result.status) == (kind, test, "tested")


def test_text_numbers_are_tested_as_their_numeric_values() -> None:
    ref = pd.DataFrame({"c": ["1.5", "2.5", "3.5", None]})
    cur = pd.DataFrame({"c": ["10", "20", "30", "40"]})
    result = feature(compare(ref, cur), "c")
    assert result.kind == "numeric"
    assert result.statistic == 1.0
    assert result.missing_share_reference == 0.25


def test_iso_date_column_is_skipped_as_a_datetime() -> None:
    ref = pd.DataFrame({"day": ["2011-01-01", "2011-01-02"], "x": [1.0, 2.0]})
    cur = pd.DataFrame({"day": ["2012-05-01", "2012-05-02"], "x": [1.5, 3.0]})
    result = feature(compare(ref, cur), "day")
    assert result.kind == "datetime"
    assert_skipped(result, "date")


def test_kind_is_inferred_from_the_current_batch_when_the_reference_has_no_values() -> None:
    result = feature(_with_a_tested_column(k=([None] * 10, ["a", "b", "a"] * 2 + ["b"])), "k")
    assert result.kind == "categorical"
    assert_skipped(result, "no values in ref.csv")


def test_declared_kind_overrides_inference() -> None:
    config = DriftConfig(columns={"code": "categorical"})
    ref = pd.DataFrame({"code": [1, 2, 2, 3] * 5})
    cur = pd.DataFrame({"code": [1, 1, 2, 3] * 5})
    result = feature(compare(ref, cur, config), "code")
    assert (result.kind, result.test) == ("categorical", "chi2")
    expected = stats.chi2_contingency(np.array([[5, 10, 5], [10, 5, 5]]))
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)


# --- schema -------------------------------------------------------------------------------


def test_schema_without_config_plans_every_column_of_either_batch_except_ignored() -> None:
    planned = check_schema(["a", "b", "c"], ["b", "d"], DriftConfig(ignore=frozenset({"c"})))
    assert planned == [("a", None), ("b", None), ("d", None)]


def test_schema_with_config_plans_exactly_the_configured_columns() -> None:
    config = DriftConfig(columns={"b": "numeric", "a": "categorical"})
    planned = check_schema(["a", "b", "extra"], ["extra", "b", "a"], config)
    assert planned == [("b", "numeric"), ("a", "categorical")]


# --- p-value adjustment and the dataset summary -------------------------------------------


def _mixed_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two drifting features, one stable feature and three that must be skipped."""
    ref = pd.DataFrame(
        {
            "shifted": normal(60),
            "stable": normal(60, seed=1),
            "cat": ["a"] * 40 + ["b"] * 20,
            "constant": [1.0] * 60,
            "empty": [np.nan] * 60,
            "day": ["2011-01-01"] * 60,
        }
    )
    cur = pd.DataFrame(
        {
            "shifted": normal(50, shift=1.5, seed=2),
            "stable": normal(50, seed=3),
            "cat": ["a"] * 10 + ["b"] * 40,
            "constant": [1.0] * 50,
            "empty": [np.nan] * 50,
            "day": ["2012-01-01"] * 50,
        }
    )
    return ref, cur


def test_only_tested_features_count_in_the_bonferroni_factor() -> None:
    ref, cur = _mixed_frames()
    report = compare(ref, cur, DriftConfig(correction="bonferroni"))
    tested = [f for f in report.features if f.status == "tested"]
    assert [f.feature for f in tested] == ["shifted", "stable", "cat"]
    for result in tested:
        assert result.p_value is not None
        assert result.p_value_adjusted == pytest.approx(min(3 * result.p_value, 1.0), rel=1e-12)


def test_benjamini_hochberg_is_the_default_over_the_tested_features() -> None:
    ref, cur = _mixed_frames()
    report = compare(ref, cur)
    tested = [f for f in report.features if f.status == "tested"]
    raw = np.array([f.p_value for f in tested], dtype=float)
    expected = stats.false_discovery_control(raw, method="bh")
    np.testing.assert_allclose([f.p_value_adjusted for f in tested], expected, rtol=1e-12)
    assert report.correction == "bh"


def test_no_correction_reports_the_raw_p_values_as_adjusted() -> None:
    ref, cur = _mixed_frames()
    for result in compare(ref, cur, DriftConfig(correction="none")).features:
        assert result.p_value_adjusted == result.p_value


def test_drifted_means_adjusted_p_value_below_the_configured_alpha() -> None:
    ref, cur = pd.DataFrame({"x": normal(40)}), pd.DataFrame({"x": normal(55, 0.4, seed=1)})
    p = stats.ks_2samp(ref["x"], cur["x"], method="exact").pvalue
    assert 0.01 < p < 0.05  # the data sit between the two alphas below
    assert feature(compare(ref, cur, DriftConfig(alpha=0.05)), "x").drifted is True
    assert feature(compare(ref, cur, DriftConfig(alpha=0.01)), "x").drifted is False


def _quantiles(n: int, shift: float = 0.0) -> np.ndarray:
    """n evenly spread standard normal quantiles, moved by ``shift``: no sampling noise."""
    return stats.norm.ppf((np.arange(n) + 0.5) / n) + shift


def test_a_large_sample_tiny_shift_is_significant_but_not_material_drift() -> None:
    ref = pd.DataFrame({"x": _quantiles(200_000)})
    cur = pd.DataFrame({"x": _quantiles(200_000, 0.03)})
    assert stats.ks_2samp(ref["x"], cur["x"], method="asymp").pvalue < 1e-10
    # W1 of a shift is the shift; the reference's standard deviation is about 1.
    result = feature(compare(ref, cur), "x")
    assert result.effect_size == pytest.approx(0.03 / ref["x"].std(ddof=0), rel=1e-4)
    assert result.p_value_adjusted < 1e-10
    assert (result.effect_size_threshold, result.drifted) == (0.07, False)
    # The same data with a threshold of 0 drift by the p-value alone.
    p_value_only = DriftConfig(min_effect_size={"numeric": 0, "categorical": 0})
    assert feature(compare(ref, cur, p_value_only), "x").drifted is True


def test_a_large_sample_big_shift_is_material_drift() -> None:
    ref, cur = pd.DataFrame({"x": _quantiles(2_000)}), pd.DataFrame({"x": _quantiles(2_000, 0.5)})
    result = feature(compare(ref, cur), "x")
    assert result.effect_size == pytest.approx(0.5 / ref["x"].std(ddof=0), rel=1e-4)
    assert result.drifted is True


def test_a_small_change_of_category_shares_is_significant_but_not_material() -> None:
    # 51 % / 49 % against 50 % / 50 % on 200,000 rows: chi-square p < 1e-9, Cramer's V 0.01.
    ref = pd.DataFrame({"k": ["a"] * 100_000 + ["b"] * 100_000})
    cur = pd.DataFrame({"k": ["a"] * 102_000 + ["b"] * 98_000})
    expected = stats.chi2_contingency([[100_000, 100_000], [102_000, 98_000]])
    result = feature(compare(ref, cur), "k")
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-9) and result.p_value < 1e-9
    table = [[100_000, 100_000], [102_000, 98_000]]
    assert result.effect_size == pytest.approx(stats.contingency.association(table), rel=1e-12)
    assert (result.effect_size_threshold, result.drifted) == (0.1, False)


def test_a_per_feature_threshold_wins_over_its_kinds() -> None:
    ref = pd.DataFrame({"x": _quantiles(20_000), "y": _quantiles(20_000)})
    cur = pd.DataFrame({"x": _quantiles(20_000, 0.2), "y": _quantiles(20_000, 0.2)})
    config = DriftConfig(
        min_effect_size={"numeric": 0.1, "categorical": 0.1},
        min_effect_size_features={"y": 0.3},
    )
    report = compare(ref, cur, config)
    assert [(f.effect_size_threshold, f.drifted) for f in report.features] == [
        (0.1, True),
        (0.3, False),
    ]
    assert report.features_drifted == 1


def test_skipped_features_have_no_threshold() -> None:
    ref = pd.DataFrame({"x": normal(40), "c": [1.0] * 40})
    cur = pd.DataFrame({"x": normal(40, seed=2), "c": [1.0] * 40})
    assert feature(compare(ref, cur), "c").effect_size_threshold is None


def test_dataset_summary_counts_drifted_among_tested_features() -> None:
    ref, cur = _mixed_frames()
    report = compare(ref, cur)
    drifted = {f.feature for f in report.features if f.drifted}
    assert drifted == {"shifted", "cat"}
    dataset = report.to_dict()["summary"]
    assert dataset == {
        "features_tested": 3,
        "features_skipped": 3,  # constant, empty, day
        "features_drifted": 2,
        "share_drifted": pytest.approx(2 / 3),
        "drifted": True,
    }


def test_no_drifted_feature_means_the_dataset_has_not_drifted() -> None:
    ref, cur = pd.DataFrame({"x": normal(50)}), pd.DataFrame({"x": normal(50, seed=1)})
    dataset = compare(ref, cur).to_dict()["summary"]
    assert dataset == {
        "features_tested": 1,
        "features_skipped": 0,
        "features_drifted": 0,
        "share_drifted": 0.0,
        "drifted": False,
    }


def test_share_drifted_of_a_report_without_tested_features_is_zero_not_nan() -> None:
    settings = {"alpha": 0.05, "correction": "bh"}
    report = DriftReport.from_dict({"settings": settings, "features": []})
    assert (report.features_tested, report.share_drifted, report.drifted) == (0, 0.0, False)


def test_features_skipped_counts_every_skipped_feature_whatever_the_reason() -> None:
    report = _with_a_tested_column(
        constant=([2.0] * 10, [2.0] * 7),
        empty=([np.nan] * 10, [np.nan] * 7),
        day=(["2011-01-01"] * 10, ["2012-01-01"] * 7),
    )
    assert [f.status for f in report.features].count("skipped") == 3
    assert report.features_skipped == 3
    assert report.to_dict()["summary"]["features_skipped"] == 3


# --- nothing tested is an error, never "no drift" -----------------------------------------


@pytest.mark.parametrize("config", [DriftConfig(), DriftConfig(columns={"a": "numeric"})])
def test_every_column_missing_or_constant_is_nothing_tested_with_the_reasons(
    config: DriftConfig,
) -> None:
    ref = pd.DataFrame({"a": [2.0] * 5, "b": [np.nan] * 5})
    cur = pd.DataFrame({"a": [2.0] * 5, "b": [np.nan] * 5})
    with pytest.raises(NothingTestedError) as info:
        compare(ref, cur, config, names=NAMES)
    message = str(info.value)
    assert message.startswith("nothing could be tested: every feature was skipped: 'a' (constant")
    if config.columns is None:
        assert message.endswith("; 'b' (no values in ref.csv)")


@pytest.mark.parametrize("config", [DriftConfig(), DriftConfig(columns={"a": "numeric"})])
def test_all_missing_current_batch_read_from_disk_is_nothing_tested(
    tmp_path: Path, config: DriftConfig
) -> None:
    (tmp_path / "ref.csv").write_text("a,b\n1.5,x\n2.5,y\n3.5,x\n")
    (tmp_path / "cur.csv").write_text("a,b\n,\n,\n")
    with pytest.raises(NothingTestedError, match=r"'a'.* \(no values in cur\.csv\)"):
        compare(read_batch(tmp_path / "ref.csv"), read_batch(tmp_path / "cur.csv"), config, NAMES)


@pytest.mark.parametrize("config", [DriftConfig(), DriftConfig(columns={"a": "numeric"})])
def test_header_only_batch_read_from_disk_is_nothing_tested(
    tmp_path: Path, config: DriftConfig
) -> None:
    (tmp_path / "ref.csv").write_text("a,b\n1.5,x\n2.5,y\n3.5,x\n")
    (tmp_path / "cur.csv").write_text("a,b\n")
    with pytest.raises(NothingTestedError, match=r"'a'.* \(no rows in cur\.csv\)"):
        compare(read_batch(tmp_path / "ref.csv"), read_batch(tmp_path / "cur.csv"), config, NAMES)


def test_batches_without_a_shared_column_are_nothing_tested() -> None:
    ref, cur = pd.DataFrame({"a": normal(5), "b": normal(5)}), pd.DataFrame({"c": normal(5)})
    with pytest.raises(NothingTestedError) as info:
        compare(ref, cur, names=NAMES)
    assert str(info.value) == "nothing could be tested: no column is in both batches"


def test_batches_whose_shared_columns_are_all_ignored_are_nothing_tested() -> None:
    ref, cur = pd.DataFrame({"a": normal(5), "b": normal(5)}), pd.DataFrame({"a": normal(5)})
    with pytest.raises(NothingTestedError, match="every column that is in both batches is ignored"):
        compare(ref, cur, DriftConfig(ignore=frozenset({"a"})), names=NAMES)


SEMICOLONS = "day;temp;hum\n2011-01-01;0.3;0.8\n2011-01-02;0.4;0.7\n2011-01-03;0.2;0.9\n"


@pytest.mark.parametrize(("separator", "named"), [(";", "';'-separated"), ("\t", "tab-separated")])
@pytest.mark.parametrize(
    "config", [DriftConfig(), DriftConfig(columns={"temp": "numeric"})], ids=["inferred", "schema"]
)
def test_a_file_that_is_not_comma_separated_is_nothing_tested_with_a_hint(
    tmp_path: Path, separator: str, named: str, config: DriftConfig
) -> None:
    # Both batches alike: read as one text column, it would be "tested" as categorical.
    (tmp_path / "ref.csv").write_text(SEMICOLONS.replace(";", separator))
    (tmp_path / "cur.csv").write_text(SEMICOLONS.replace(";", separator).replace("0.", "1."))
    with pytest.raises(NothingTestedError) as info:
        compare(read_batch(tmp_path / "ref.csv"), read_batch(tmp_path / "cur.csv"), config, NAMES)
    assert str(info.value) == (
        f"nothing could be tested: ref.csv looks {named} (its header is the single column "
        f"{'day;temp;hum'.replace(';', separator)!r}); CSV must be comma-separated"
    )


def test_the_schema_check_of_headers_alone_spots_a_semicolon_separated_batch() -> None:
    with pytest.raises(NothingTestedError, match=r"cur\.csv looks ';'-separated"):
        check_schema(["temp", "hum"], ["temp;hum"], DriftConfig(), NAMES)


def test_one_comma_separated_column_is_tested_even_with_a_semicolon_in_its_values() -> None:
    ref = pd.DataFrame({"note": ["a;b", "c", "a;b", "c"]})
    cur = pd.DataFrame({"note": ["a;b", "a;b", "c", "c"]})
    assert compare(ref, cur).features_tested == 1


def test_nothing_tested_names_a_few_features_and_counts_the_rest() -> None:
    ref = pd.DataFrame({f"f{i}": [1.0] * 3 for i in range(8)})
    with pytest.raises(NothingTestedError) as info:
        compare(ref, ref.iloc[:0], names=NAMES)
    assert str(info.value) == (
        "nothing could be tested: every feature was skipped: 'f0', 'f1', 'f2', 'f3', 'f4' "
        "and 3 more (no rows in cur.csv)"
    )


def test_nothing_tested_is_an_input_error() -> None:
    assert issubclass(NothingTestedError, DriftInputError)


def test_report_dict_holds_no_nan_anywhere() -> None:
    ref, cur = _mixed_frames()
    ref["inf"] = [np.inf] * 60
    cur["inf"] = normal(50)
    ref["only_ref"] = normal(60)
    report = compare(ref, cur)
    assert len(report.features) == 8
    assert nan_paths(report.to_dict()) == []
    assert nan_paths({"a": [1.0, {"b": math.nan}]}) == ["report.a[1].b"]  # the walker works


def test_report_dict_has_the_documented_keys() -> None:
    ref, cur = _mixed_frames()
    document = compare(ref, cur).to_dict()
    assert list(document["features"][0]) == [
        "feature", "kind", "test", "statistic", "p_value", "p_value_adjusted", "effect_size",
        "n_reference", "n_current", "missing_share_reference", "missing_share_current",
        "drifted", "status", "reason", "effect_size_threshold", "ks_error_bound",
    ]  # fmt: skip
    assert document["settings"] == {"alpha": 0.05, "correction": "bh"}


def test_categories_read_from_files_give_the_same_result_as_plain_text(tmp_path: Path) -> None:
    # read_batch hands the engine pandas categoricals whose category sets differ per batch
    # ("Snow" only in the current one); the union of categories must line the counts up.
    ref_values = ["Clear"] * 30 + ["Mist"] * 12 + ["Rain"] * 5 + [""] * 3
    cur_values = ["Clear"] * 20 + ["Mist"] * 15 + ["Snow"] * 4 + [""]
    ref = tmp_path / "ref.csv"
    cur = tmp_path / "cur.csv"
    # A second column keeps the rows with an empty w: pandas skips wholly blank lines.
    ref.write_text("w,x\n" + "".join(f"{v},1\n" for v in ref_values))
    cur.write_text("w,x\n" + "".join(f"{v},1\n" for v in cur_values))
    config = DriftConfig(columns={"w": "categorical"})
    from_files = feature(compare(read_batch(ref, config), read_batch(cur, config), config), "w")
    as_text = feature(
        compare(
            pd.DataFrame({"w": [v or None for v in ref_values]}),
            pd.DataFrame({"w": [v or None for v in cur_values]}),
            config,
        ),
        "w",
    )
    assert from_files == as_text
    assert (from_files.n_reference, from_files.n_current) == (47, 39)
    table = np.array([[30, 12, 5, 0], [20, 15, 0, 4]])
    assert from_files.p_value == pytest.approx(stats.chi2_contingency(table).pvalue, rel=1e-12)


def test_the_package_exports_load_on_first_use() -> None:
    assert sorted(drift.__all__) == sorted(drift._EXPORTS)
    assert all(callable(getattr(drift, name)) for name in drift.__all__)
    # The monitor imports names; that must not pull in the engine's heavy imports.
    probe = "import sys, names; print('pandas' in sys.modules, 'scipy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_a_report_survives_its_dict_form() -> None:
    ref = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0], "c": ["a", "b", "a", None]})
    cur = pd.DataFrame({"x": [5.0, 6.0, 7.0, 8.0], "c": ["a", "a", "b", "b"]})
    report = compare(ref, cur)
    assert DriftReport.from_dict(report.to_dict()) == report
