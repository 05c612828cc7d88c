"""The statistical core against independent references: scipy and values worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from drift.stats import adjust, chi2_test, ks_test


def _effective_n(n_ref: int, n_cur: int) -> float:
    return n_ref * n_cur / (n_ref + n_cur)


def _samples(n_ref: int, n_cur: int, shift: float, ties: bool, seed: int) -> tuple:
    """Two samples. Continuous: normal, the current one shifted by ``shift``. With ``ties``:
    integers 0..7, where a share ``shift`` of the current ones is raised by one."""
    rng = np.random.default_rng(seed)
    if ties:
        ref = rng.integers(0, 8, n_ref).astype(float)
        cur = rng.integers(0, 8, n_cur).astype(float) + (rng.random(n_cur) < shift)
    else:
        ref = rng.normal(0.0, 1.0, n_ref)
        cur = rng.normal(shift, 1.0, n_cur)
    return ref, cur


# --- Kolmogorov-Smirnov -----------------------------------------------------------------


def test_ks_statistic_and_effect_size_on_a_hand_checked_example() -> None:
    # ECDFs of [1, 2, 3, 4] and [3, 4, 5, 6]: at x = 2 they are 2/4 and 0, the widest gap.
    # The current sample is the reference shifted by 2, so W1 = 2; the reference's
    # population std is sqrt(1.25).
    outcome = ks_test(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6]))
    assert outcome.statistic == pytest.approx(0.5, abs=1e-12)
    assert outcome.effect_size == pytest.approx(2 / math.sqrt(1.25), rel=1e-12)


@pytest.mark.parametrize("ties", [False, True], ids=["continuous", "integers"])
@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"), [(40, 55, 0.4), (40, 55, 0.0), (1000, 1000, 0.1)]
)
def test_ks_small_samples_give_scipy_exact_p_value(
    n_ref: int, n_cur: int, shift: float, ties: bool
) -> None:
    ref, cur = _samples(n_ref, n_cur, shift, ties, seed=n_ref + n_cur)
    expected = stats.ks_2samp(ref, cur, method="exact")
    outcome = ks_test(ref, cur)
    assert outcome.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("shift", "ties"),
    [(0.0, False), (0.08, False), (0.2, False), (0.0, True), (0.3, True), (0.5, True)],
)
def test_ks_mid_size_samples_give_scipy_asymptotic_p_value(shift: float, ties: bool) -> None:
    n_ref, n_cur = 1500, 2000
    assert n_ref * n_cur > 1e6 and _effective_n(n_ref, n_cur) <= 10_000  # the regime
    ref, cur = _samples(n_ref, n_cur, shift, ties, seed=7)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    outcome = ks_test(ref, cur)
    assert outcome.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("shift", "ties"),
    [(0.0, False), (0.02, False), (0.04, False), (0.0, True), (0.07, True), (0.12, True)],
)
def test_ks_very_large_samples_stay_within_2_percent_of_scipy_asymptotic(
    shift: float, ties: bool
) -> None:
    n_ref, n_cur = 30_000, 25_000
    assert _effective_n(n_ref, n_cur) > 10_000  # the limiting-distribution regime
    ref, cur = _samples(n_ref, n_cur, shift, ties, seed=11)
    expected = stats.ks_2samp(ref, cur, method="asymp")
    assert expected.pvalue > 1e-10
    outcome = ks_test(ref, cur)
    assert outcome.statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=0.02)


def test_ks_identical_samples_have_no_gap_and_p_value_one() -> None:
    sample = np.arange(50, dtype=float)
    outcome = ks_test(sample, sample.copy())
    assert outcome.statistic == 0.0
    assert outcome.p_value == pytest.approx(1.0)
    assert outcome.effect_size == 0.0


def test_ks_disjoint_samples_have_statistic_one_and_tiny_p_value() -> None:
    outcome = ks_test(np.arange(30, dtype=float), np.arange(100, 130, dtype=float))
    assert outcome.statistic == 1.0
    assert 0 < outcome.p_value < 1e-10


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift", "ties"),
    [(40, 55, 0.5, False), (1500, 2000, 0.1, False), (300, 700, 0.3, True), (40, 55, 0.0, True)],
)
def test_wasserstein_effect_size_is_scipy_distance_over_reference_std(
    n_ref: int, n_cur: int, shift: float, ties: bool
) -> None:
    ref, cur = _samples(n_ref, n_cur, shift, ties, seed=3)
    expected = stats.wasserstein_distance(ref, cur) / ref.std(ddof=0)
    assert ks_test(ref, cur).effect_size == pytest.approx(expected, rel=1e-9)


def test_wasserstein_effect_size_uses_pooled_std_when_reference_is_constant() -> None:
    ref, cur = np.full(20, 5.0), np.array([5.0, 6.0, 7.0, 8.0])
    expected = stats.wasserstein_distance(ref, cur) / np.concatenate([ref, cur]).std(ddof=0)
    outcome = ks_test(ref, cur)
    assert math.isfinite(outcome.effect_size)
    assert outcome.effect_size == pytest.approx(expected, rel=1e-12)


# --- chi-square test of homogeneity ------------------------------------------------------


def test_chi2_matches_chi2_contingency_on_a_three_category_table() -> None:
    ref, cur = np.array([120, 60, 20]), np.array([80, 70, 50])
    expected = stats.chi2_contingency(np.array([[120, 60, 20], [80, 70, 50]]))
    outcome = chi2_test(ref, cur)
    assert outcome.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    assert outcome.effect_size == pytest.approx(math.sqrt(expected.statistic / 400), rel=1e-12)


def test_chi2_category_only_in_current_batch_has_positive_p_value_of_the_union_table() -> None:
    # A goodness-of-fit test with the reference as expected frequencies would divide by the
    # zero expected count of the new category and give p = 0; homogeneity must not.
    ref, cur = np.array([50, 30, 0]), np.array([45, 35, 5])
    union_table = np.array([[50, 30, 0], [45, 35, 5]])
    expected = stats.chi2_contingency(union_table)
    outcome = chi2_test(ref, cur)
    assert outcome.p_value > 0
    assert outcome.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert outcome.p_value == pytest.approx(expected.pvalue, rel=1e-12)


def test_chi2_two_categories_use_yates_correction_computed_by_hand() -> None:
    # Table [[30, 10], [20, 20]], n = 80: row sums 40, 40; column sums 50, 30, so the
    # expected counts are 25, 15, 25, 15 and every |O - E| = 5. With Yates' continuity
    # correction each cell adds (5 - 0.5)^2 / E = 20.25 / E:
    #   chi2 = 20.25 * (2/25 + 2/15) = 20.25 * 0.21333... = 4.32
    # With one degree of freedom p = erfc(sqrt(chi2 / 2)) = erfc(sqrt(2.16)) = 0.037667,
    # and Cramer's V = sqrt(4.32 / 80) = 0.232379.
    outcome = chi2_test(np.array([30, 10]), np.array([20, 20]))
    assert outcome.statistic == pytest.approx(4.32, rel=1e-12)
    assert outcome.p_value == pytest.approx(math.erfc(math.sqrt(2.16)), rel=1e-9)
    assert outcome.p_value == pytest.approx(0.037667, abs=1e-6)
    assert outcome.effect_size == pytest.approx(0.232379, abs=1e-6)


def test_chi2_identical_proportions_give_statistic_zero() -> None:
    outcome = chi2_test(np.array([10, 20, 30]), np.array([20, 40, 60]))
    assert outcome.statistic == pytest.approx(0.0, abs=1e-12)
    assert outcome.p_value == pytest.approx(1.0)
    assert outcome.effect_size == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize(
    ("ref", "cur"), [([5, 9, 14, 2], [7, 3, 11, 9]), ([100, 1], [90, 12]), ([0, 40], [40, 0])]
)
def test_cramers_v_is_square_root_of_chi2_over_n(ref: list[int], cur: list[int]) -> None:
    table = np.array([ref, cur])
    chi2 = stats.chi2_contingency(table).statistic
    outcome = chi2_test(np.array(ref), np.array(cur))
    assert outcome.effect_size == pytest.approx(math.sqrt(chi2 / table.sum()), rel=1e-12)


# --- multiple-testing corrections --------------------------------------------------------


def test_benjamini_hochberg_matches_a_hand_computed_example() -> None:
    # Sorted: 0.005, 0.01, 0.03, 0.04 with ranks 1..4 and m = 4; p * m / rank gives
    # 0.02, 0.02, 0.04, 0.04, already non-decreasing, so in the original order:
    adjusted = adjust(np.array([0.01, 0.04, 0.03, 0.005]), "bh")
    np.testing.assert_allclose(adjusted, [0.02, 0.04, 0.04, 0.02], rtol=1e-12)


def test_benjamini_hochberg_takes_the_running_minimum_from_the_largest_p() -> None:
    # p * m / rank = 0.03, 0.06, 0.05: the second is lowered to the third's 0.05.
    adjusted = adjust(np.array([0.01, 0.04, 0.05]), "bh")
    np.testing.assert_allclose(adjusted, [0.03, 0.05, 0.05], rtol=1e-12)


def test_benjamini_hochberg_matches_scipy_false_discovery_control() -> None:
    p_values = np.random.default_rng(5).uniform(0, 0.2, 25)
    expected = stats.false_discovery_control(p_values, method="bh")
    np.testing.assert_allclose(adjust(p_values, "bh"), expected, rtol=1e-12)


def test_bonferroni_multiplies_by_the_number_of_tests_capped_at_one() -> None:
    adjusted = adjust(np.array([0.01, 0.04, 0.3, 0.5]), "bonferroni")
    np.testing.assert_allclose(adjusted, [0.04, 0.16, 1.0, 1.0], rtol=1e-12)


def test_no_correction_leaves_p_values_unchanged() -> None:
    p_values = np.array([0.01, 0.04, 0.3, 0.5])
    np.testing.assert_array_equal(adjust(p_values, "none"), [0.01, 0.04, 0.3, 0.5])


@pytest.mark.parametrize("correction", ["bh", "bonferroni", "none"])
def test_corrections_accept_no_p_values(correction: str) -> None:
    assert len(adjust(np.array([], dtype=float), correction)) == 0  # type: ignore[arg-type]
