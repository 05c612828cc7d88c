"""The statistical core against independent references: values R computed on the same inputs
(recorded below with the commands that produced them; CI has no R), an exact count of lattice
paths, and examples worked by hand. None of the expected values comes from scipy, which the
engine calls.

R reference values: R 4.2.2 Patched (2022-11-10 r83330), Debian bookworm's r-base-core
4.2.2.20221110-2, run with Rscript. Inputs are integer formulas that R and numpy evaluate alike:
R's ``(1:n * step) %% modulus`` is ``seq(n, step, modulus)`` here. With a prime modulus above n
the values of one sample are distinct; an even sample against an odd one has no ties at all.
The tied samples are such formulas or rows of the bundled Bike Sharing batches (data/), which R's
read.csv and pandas read alike (only the values' order and ties matter to KS).
"""

from __future__ import annotations

import math
from collections import Counter
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from drift.stats import (
    FINITE_KS_MAX_N,
    adjust,
    chi2_test,
    collapse,
    distinct,
    ks_test,
    kstwo_sf,
    merge,
    smirnov,
)

if TYPE_CHECKING:  # imported at run time, pytest would try to collect it as a test class
    from drift.stats import TestOutcome


def ks(reference: np.ndarray, current: np.ndarray) -> TestOutcome:
    """The KS test on two raw samples, through their distinct values as the engine does."""
    return ks_test(distinct(reference), distinct(current))


def seq(n: int, step: int, modulus: int) -> np.ndarray:
    """R's ``(1:n * step) %% modulus``."""
    return ((np.arange(1, n + 1) * step) % modulus).astype(float)


def test_distinct_values_are_sorted_with_their_counts() -> None:
    values, counts = distinct(np.array([3.0, -0.0, 1.5, 3.0, 0.0, 3.0, -2.0]))
    np.testing.assert_array_equal(values, [-2.0, 0.0, 1.5, 3.0])  # -0.0 == 0.0: one value
    np.testing.assert_array_equal(counts, [1, 2, 1, 3])
    assert values.dtype == np.float64 and counts.dtype == np.int64


def counted(sample: np.ndarray) -> tuple[list[float], list[int]]:
    """Distinct values and counts by Python's Counter, the reference for distinct()."""
    pairs = sorted(Counter(sample.tolist()).items())
    return [value for value, _ in pairs], [count for _, count in pairs]


@pytest.mark.parametrize(
    "sample",
    [
        seq(1000, 7, 23),  # 23 values repeated: chunks collapse, then merge
        np.concatenate([seq(300, 7, 23), -seq(400, 3, 5), np.zeros(50)]),
        np.concatenate([2 * seq(500, 389, 10_007), seq(100, 7, 23)]),  # mostly distinct
        np.arange(200, dtype=float)[::-1],
    ],
    ids=["tied", "tied-in-parts", "continuous", "all-distinct"],
)
def test_distinct_in_chunks_counts_every_value(
    sample: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Chunks of 64 values: merges (at most 32 distinct values held) and the switch to one
    # sort (more) happen on small samples.
    monkeypatch.setattr("drift.stats.DISTINCT_CHUNK", 64)
    values, counts = distinct(sample)
    assert (values.tolist(), counts.tolist()) == counted(sample)
    assert counts.dtype == np.int64


def test_ks_on_chunked_distinct_values_equals_the_whole_sorts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reference, current = seq(3000, 7, 101), seq(2000, 11, 103) + 3
    whole = ks(reference, current)
    monkeypatch.setattr("drift.stats.DISTINCT_CHUNK", 64)
    assert ks(reference, current) == whole


def test_collapse_adds_up_the_counts_of_equal_values_in_any_order() -> None:
    # 0.0 and -0.0 are one value (1 + 4), 3.0 appears twice (2 + 5).
    pairs = np.array([3.0, 1.0, 3.0, -0.0, 0.0, 2.5]), np.array([2, 1, 5, 1, 4, 1])
    values, counts = collapse(*pairs)
    assert values.tolist() == [0.0, 1.0, 2.5, 3.0]
    assert counts.tolist() == [5, 1, 1, 7]


def test_merged_parts_are_the_distinct_values_of_the_whole() -> None:
    parts = [seq(200, 7, 23), seq(150, 5, 13) - 4, np.array([0.0, -0.0, 0.5])]
    merged = merge(*(distinct(part) for part in parts))
    whole = np.concatenate(parts)
    assert (merged.values.tolist(), merged.counts.tolist()) == counted(whole)


# --- Kolmogorov-Smirnov: the exact p-value (n_ref * n_cur <= 10^6) -------------------------
#
# x <- 2 * ((1:40 * 37) %% 101); y <- 2 * ((1:55 * 53) %% 103)
# for (s in c(41, 61, 101)) {
#   r <- ks.test(x, y + s, exact = TRUE); cat(sprintf("%.17g", c(r$statistic, r$p.value)), "\n")
# }
# R's exact p-value is 1 - (paths inside) / choose(95, 40) in doubles: about 1e-13 absolute.
SMALL_X = 2 * seq(40, 37, 101)
SMALL_Y = 2 * seq(55, 53, 103)
R_KS_EXACT = [  # shift of y, D, p
    (41, 0.2227272727272728, 0.17008152472637283),
    (61, 0.32272727272727281, 0.012086239198949467),
    (101, 0.50909090909090915, 5.2196656653569207e-06),
]


@pytest.mark.parametrize(("shift", "r_statistic", "r_p_value"), R_KS_EXACT)
def test_ks_exact_p_value_and_statistic_match_r(
    shift: int, r_statistic: float, r_p_value: float
) -> None:
    outcome = ks(SMALL_X, SMALL_Y + shift)
    assert outcome.statistic == pytest.approx(r_statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(r_p_value, rel=1e-7)


def test_ks_disjoint_samples_have_the_smallest_exact_p_value() -> None:
    # D = 1 only on the two lattice paths that take every step of one sample first, so
    # P(D >= 1) = 2 / choose(60, 30).
    outcome = ks(np.arange(30, dtype=float), np.arange(100, 130, dtype=float))
    assert outcome.statistic == 1.0
    assert outcome.p_value == pytest.approx(2 / math.comb(60, 30), rel=1e-9)


def test_ks_identical_samples_have_no_gap_and_p_value_one() -> None:
    sample = np.arange(50, dtype=float)
    outcome = ks(sample, sample.copy())
    assert outcome.statistic == 0.0
    assert outcome.p_value == pytest.approx(1.0)
    assert outcome.effect_size == 0.0


# --- Kolmogorov-Smirnov: the statistic with ties --------------------------------------------
#
# r <- ks.test((1:300 * 7) %% 11, (1:700 * 5) %% 13); sprintf("%.17g", r$statistic)
# (R warns about ties; its statistic reads both ECDFs after each run of tied values.)
def test_ks_statistic_with_ties_matches_r() -> None:
    outcome = ks(seq(300, 7, 11), seq(700, 5, 13))
    assert outcome.statistic == pytest.approx(0.15428571428571436, abs=1e-12)


# --- Kolmogorov-Smirnov: the exact p-value given the ties ---------------------------------
#
# R 4.x conditions the exact p-value on the ties of the pooled sample (psmirnov with z):
# inside a run of tied values the ECDFs are not compared. From the repository root:
# ref <- read.csv("data/control/bike_sharing_dataset_1.csv")
# half <- read.csv("data/audit/bike_sharing_dataset_2.csv")
# july <- read.csv("data/audit/bike_sharing_dataset_3.csv.off")
# y2012 <- read.csv("data/audit/bike_sharing_dataset_4.csv.off")
# hour <- function(s) as.integer(sub("(am|pm)$", "", s)) %% 12 + 12 * grepl("pm$", s)
# ks <- function(x, y) {
#   r <- ks.test(x, y, exact = TRUE); cat(sprintf("%.17g", c(r$statistic, r$p.value)), "\n")
# }
# ks(hour(ref$hr[1:100]), hour(y2012$hr[y2012$cnt > 300][1:60]))
# ks(ref$hum[1:30], half$hum[1:40]); ks(ref$hum[1:100], y2012$hum[1:100])
# ks(ref$hum[1:300], july$hum[1:400]); ks(ref$casual[1:100], y2012$casual[1:100])
# ks(ref$cnt[1:80], y2012$cnt[1:120]); ks(ref$windspeed[1:300], july$windspeed[1:400])
# ks(ref$temp[1:80], half$temp[1:120])
# R prints "Exact two-sample Kolmogorov-Smirnov test" for each. Its p-value is
# 1 - (paths inside) / choose(n, n_ref) in doubles: about 1e-13 absolute. The tie-blind
# exact p-value (the engine's before) is 1.2 to 3 times these.
DATA = Path(__file__).resolve().parents[1] / "data"
BATCHES = {
    "ref": "control/bike_sharing_dataset_1.csv",
    "half": "audit/bike_sharing_dataset_2.csv",
    "july": "audit/bike_sharing_dataset_3.csv.off",
    "y2012": "audit/bike_sharing_dataset_4.csv.off",
}
R_KS_EXACT_TIES = [  # current batch, column, reference rows, current rows, D, p
    ("busy2012", "hour", 100, 60, 0.32000000000000001, 0.00027884845222214683),
    ("half", "hum", 30, 40, 0.21666666666666665, 0.29363452476672736),
    ("y2012", "hum", 100, 100, 0.23999999999999999, 0.003672484592848968),
    ("july", "hum", 300, 400, 0.1516666666666667, 0.00037668323150441552),
    ("y2012", "casual", 100, 100, 0.13, 0.23743696207056686),
    ("y2012", "cnt", 80, 120, 0.27083333333333337, 0.0012384544233600137),
    ("july", "windspeed", 300, 400, 0.12083333333333331, 0.0042077631150551076),
    ("half", "temp", 80, 120, 0.20416666666666666, 0.012687976064595707),
]


def bike_column(batch: str, column: str, rows: int) -> np.ndarray:
    """The first rows of a column of a bundled batch, as R reads it above (hour: 0 to 23;
    "busy2012": the 2012 rows with cnt > 300)."""
    frame = pd.read_csv(DATA / BATCHES[batch.replace("busy", "y")])
    if batch.startswith("busy"):
        frame = frame[frame["cnt"] > 300]
    if column != "hour":
        return frame[column].to_numpy(dtype=float)[:rows]
    labels = frame["hr"].iloc[:rows]  # "12am" .. "11pm"
    return (labels.str[:-2].astype(int) % 12 + 12 * labels.str.endswith("pm")).to_numpy(float)


@pytest.mark.parametrize(
    ("batch", "column", "n_ref", "n_cur", "r_statistic", "r_p_value"),
    R_KS_EXACT_TIES,
    ids=[f"{column}-{batch}" for batch, column, *_ in R_KS_EXACT_TIES],
)
def test_ks_exact_p_value_given_ties_matches_r_on_bike_sharing_columns(
    batch: str, column: str, n_ref: int, n_cur: int, r_statistic: float, r_p_value: float
) -> None:
    reference, current = bike_column("ref", column, n_ref), bike_column(batch, column, n_cur)
    assert len(np.unique(np.concatenate([reference, current]))) < n_ref + n_cur  # tied
    outcome = ks(reference, current)
    assert outcome.statistic == pytest.approx(r_statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(r_p_value, rel=1e-8)


def test_ks_exact_p_value_given_ties_on_a_case_counted_by_hand() -> None:
    # Reference [1, 2, 3], current [2, 4, 5]: D = 2/3 (after 3, before 4: ECDFs 1 and 1/3).
    # Of the choose(6, 3) = 20 orders of the pooled sample, those whose gap stays below 2/3
    # alternate the samples in pairs: 2^3 = 8 without ties, so p = 12/20 without ties.
    # The tied 2s are one run, whose two values come in either order, and the ECDFs are not
    # compared between them: 4 more orders stay below (ref, ref | cur, cur | either pair, and
    # the mirror), so p = 8/20. R: ks.test(c(1, 2, 3), c(2, 4, 5)) gives 0.40000000000000047.
    outcome = ks(np.array([1.0, 2, 3]), np.array([2.0, 4, 5]))
    assert outcome.statistic == pytest.approx(2 / 3, abs=1e-12)
    assert outcome.p_value == pytest.approx(0.4, rel=1e-12)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "divisor", "shift"),
    [
        (13, 29, 1, 1),
        (40, 25, 3, 2),
        (60, 90, 7, 3),
        (120, 7, 2, 1),
        (31, 31, 1, 5),
        (80, 70, 1, 12),
        (150, 100, 2, 14),
    ],
)
def test_ks_exact_p_value_given_ties_matches_the_lattice_count(
    n_ref: int, n_cur: int, divisor: int, shift: int
) -> None:
    # Integer samples with many ties within and across samples, against exact integer
    # counts: p from 0.55 down to 1e-28, the last two far apart.
    reference = seq(n_ref, 7, 23) // divisor
    current = (seq(n_cur, 11, 29) + shift) // divisor
    outcome = ks(reference, current)
    pooled = np.sort(np.concatenate([reference, current]))
    exact = exact_two_sample_p_value(n_ref, n_cur, outcome.statistic, pooled)
    assert outcome.p_value == pytest.approx(exact, rel=1e-12)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"),
    [(30, 30, 0), (1, 500, 0), (7, 300, 40), (250, 240, 90), (250, 240, 150)],
)
def test_ks_exact_p_value_without_ties_matches_the_lattice_count(
    n_ref: int, n_cur: int, shift: int
) -> None:
    # Unbalanced and balanced, from p = 1 down to 5e-45: an even sample against an odd one
    # has no ties, so every cell is checked (as scipy's exact method, the engine's before).
    reference = 2 * seq(n_ref, 389, 10_007)
    current = 2 * seq(n_cur, 397, 10_009) + 2 * shift * 40 + 1
    outcome = ks(reference, current)
    exact = exact_two_sample_p_value(n_ref, n_cur, outcome.statistic)
    assert outcome.p_value == pytest.approx(exact, rel=1e-12)


# --- Kolmogorov-Smirnov: the limiting distribution (effective n above FINITE_KS_MAX_N) ------
#
# x <- 2 * ((1:30000 * 7919) %% 100003); y <- 2 * ((1:25000 * 7933) %% 100019) + 1
# for (s in c(1000, 2000, 4000)) {
#   r <- ks.test(x, y + s, exact = FALSE); cat(sprintf("%.17g", c(r$statistic, r$p.value)), "\n")
# }
# r <- suppressWarnings(ks.test((1:30000 * 7) %% 50, (1:25000 * 11) %% 51, exact = FALSE))
# exact = FALSE is the limiting Kolmogorov distribution at sqrt(n_x n_y / (n_x + n_y)) D.
LARGE_X = 2 * seq(30_000, 7919, 100_003)
LARGE_Y = 2 * seq(25_000, 7933, 100_019) + 1
R_KS_LIMIT = [  # x, y, D, p
    (LARGE_X, LARGE_Y + 1000, 0.0053333333333333123, 0.83273309391213501),
    (LARGE_X, LARGE_Y + 2000, 0.010339999999999979, 0.10829550101448671),
    (LARGE_X, LARGE_Y + 4000, 0.020319999999999984, 2.5730657841505078e-05),
    (seq(30_000, 7, 50), seq(25_000, 11, 51), 0.019599999999999968, 5.6349131593913526e-05),
]


@pytest.mark.parametrize(
    ("reference", "current", "r_statistic", "r_p_value"),
    R_KS_LIMIT,
    ids=["no-drift", "slight", "drift", "integers-with-ties"],
)
def test_ks_very_large_samples_match_r_asymptotic(
    reference: np.ndarray, current: np.ndarray, r_statistic: float, r_p_value: float
) -> None:
    n = len(reference) * len(current) / (len(reference) + len(current))
    assert n > FINITE_KS_MAX_N  # the regime under test
    outcome = ks(reference, current)
    assert outcome.statistic == pytest.approx(r_statistic, abs=1e-12)
    assert outcome.p_value == pytest.approx(r_p_value, rel=1e-9)


# --- Kolmogorov-Smirnov: mid-size samples (scipy's finite-n kstwo at the effective n) -------
#
# R cannot be the reference here: its exact path overflows a double above about 1,000
# observations and falls back to simulation, and exact = FALSE is the limiting distribution.
# The reference is the exact two-sample p-value, counted with Python's integers; it agrees
# with R on the small samples above.


def exact_two_sample_p_value(
    n_ref: int, n_cur: int, statistic: float, pooled: np.ndarray | None = None
) -> float:
    """P(D >= statistic): 1 - (lattice paths from (0, 0) to (n_ref, n_cur) that stay within
    |i / n_ref - j / n_cur| < statistic) / choose(n, n_ref). Given the sorted ``pooled``
    sample, a cell is checked only where a run of tied values ends (R's psmirnov); without it,
    everywhere (no ties)."""
    bound = round(statistic * n_ref * n_cur)  # D * n_ref * n_cur is an integer
    checked = [True] * (n_ref + n_cur + 1)
    if pooled is not None:
        checked[1:] = [*(pooled[1:] != pooled[:-1]), True]
    paths = [0] * (n_cur + 1)
    for i in range(n_ref + 1):
        for j in range(n_cur + 1):
            if checked[i + j] and abs(i * n_cur - j * n_ref) >= bound:
                paths[j] = 0
            elif i or j:
                paths[j] += paths[j - 1] if j else 0
            else:
                paths[j] = 1
    return float(1 - Fraction(paths[n_cur], math.comb(n_ref + n_cur, n_ref)))


def gap(reference: np.ndarray, current: np.ndarray) -> float:
    """The KS statistic by its definition: the widest gap between the ECDFs at any value."""
    points = np.concatenate([reference, current])
    ecdf_ref = np.searchsorted(np.sort(reference), points, side="right") / len(reference)
    ecdf_cur = np.searchsorted(np.sort(current), points, side="right") / len(current)
    return float(np.abs(ecdf_ref - ecdf_cur).max())


@pytest.mark.parametrize(("shift", "r_p_value"), [(s, p) for s, _, p in R_KS_EXACT])
def test_the_lattice_path_count_reproduces_r_exact_p_values(shift: int, r_p_value: float) -> None:
    statistic = gap(SMALL_X, SMALL_Y + shift)
    assert exact_two_sample_p_value(40, 55, statistic) == pytest.approx(r_p_value, rel=1e-7)


@pytest.mark.parametrize(
    ("n_ref", "n_cur", "shift"),
    [(1001, 1000, 700), (1001, 1000, 1150), (1500, 2000, 300), (1500, 2000, 800)],
)
def test_ks_mid_size_samples_are_within_6_percent_of_the_exact_p_value(
    n_ref: int, n_cur: int, shift: int
) -> None:
    reference = 2 * seq(n_ref, 389, 10_007)
    current = 2 * seq(n_cur, 397, 10_009) + 2 * shift + 1
    n = n_ref * n_cur / (n_ref + n_cur)
    assert n_ref * n_cur > 1_000_000 and n <= FINITE_KS_MAX_N  # the regime under test
    outcome = ks(reference, current)
    assert outcome.statistic == pytest.approx(gap(reference, current), abs=1e-12)
    exact = exact_two_sample_p_value(n_ref, n_cur, outcome.statistic)
    assert 1e-6 < exact < 0.9
    # kstwo approximates the two-sample law by the one-sample law at the effective n, which
    # misses the coarse lattice of nearly equal sizes: measured on these samples for p from
    # 1e-8 to 0.99, 0.98 to 1.00 of the exact p-value for 1500 x 2000 and 1200 x 900, but
    # up to 1.057 for 1001 x 1000 (larger: conservative).
    assert outcome.p_value == pytest.approx(exact, rel=0.06)


# --- Kolmogorov-Smirnov: the finite-n distribution's Smirnov sum, against scipy's -----------
#
# scipy's special.smirnov sums the same series in double-double arithmetic, term by term (its
# cephes kolmogorov.c): an independent evaluation of what drift.stats.smirnov sums in log
# space. Below 1e-300 (subnormal doubles) the two round differently.

SMIRNOV_N = (141, 300, 1_000, 2_891, 5_000, 10_000)


def finite_n_statistics(n: int) -> list[float]:
    """Statistics across every branch of scipy's kstwo.sf at ``n``: n d^2 from 0.01 to 1,000
    and d up to 0.99, inside (1/n, 1 - 1/n)."""
    small = [math.sqrt(nd2 / n) for nd2 in np.geomspace(0.01, 1_000, 60)]
    return [d for d in [*small, *np.linspace(0.3, 0.99, 24)] if 1 < n * d < n - 1]


@pytest.mark.parametrize("n", SMIRNOV_N)
def test_the_smirnov_sum_matches_scipys_double_double_sum(n: int) -> None:
    for d in finite_n_statistics(n):
        expected = special.smirnov(n, d)
        if expected > 1e-300:
            assert smirnov(n, d) == pytest.approx(expected, rel=1e-10, abs=0), (n, d)


@pytest.mark.parametrize("n", (2, 50, 140, *SMIRNOV_N))
def test_kstwo_sf_is_scipys_in_every_branch(n: int) -> None:
    for d in [*finite_n_statistics(n), 0.0, 0.4 / n, 1.0]:
        expected = stats.kstwo.sf(d, n)
        assert kstwo_sf(d, n) == pytest.approx(expected, rel=1e-10, abs=1e-300), (n, d)


# --- Kolmogorov-Smirnov: where the limiting distribution replaces kstwo ---------------------


@pytest.mark.parametrize("n", [FINITE_KS_MAX_N + 1, 2 * FINITE_KS_MAX_N])
def test_limiting_distribution_is_within_the_stated_bound_of_kstwo_past_the_switch(
    n: int,
) -> None:
    # The bound drift/stats.py states: above FINITE_KS_MAX_N the limiting distribution's
    # p-value is at most 4 % above kstwo's for p in [1e-14, 0.5], 1 % near p = 0.05, and
    # never below it (conservative). scipy's kstwo evaluates the finite-n distribution by a
    # different formula, so it is a reference for the limiting one.
    p_values = np.logspace(-14, math.log10(0.5), 12)
    statistics = stats.kstwobign.isf(p_values) / math.sqrt(n)
    ratio = stats.kstwobign.sf(statistics * math.sqrt(n)) / stats.kstwo.sf(statistics, n)
    assert np.all(ratio >= 1.0)
    assert np.all(ratio <= 1.04)
    at_alpha = stats.kstwobign.isf(0.05) / math.sqrt(n)
    assert 0.05 / stats.kstwo.sf(at_alpha, n) <= 1.01


# --- Wasserstein effect size, worked by hand -------------------------------------------------


def test_ks_statistic_and_effect_size_on_a_hand_checked_example() -> None:
    # ECDFs of [1, 2, 3, 4] and [3, 4, 5, 6]: at x = 2 they are 2/4 and 0, the widest gap.
    # The current sample is the reference shifted by 2, so W1 = 2; the reference's
    # population std is sqrt(1.25).
    outcome = ks(np.array([1.0, 2, 3, 4]), np.array([3.0, 4, 5, 6]))
    assert outcome.statistic == pytest.approx(0.5, abs=1e-12)
    assert outcome.effect_size == pytest.approx(2 / math.sqrt(1.25), rel=1e-12)


def test_wasserstein_effect_size_with_a_tie_across_samples_worked_by_hand() -> None:
    # Reference [0, 1, 3], current [1, 2]. W1 is the area between the ECDFs F and G:
    #   [0, 1): F = 1/3, G = 0    -> 1/3
    #   [1, 2): F = 2/3, G = 1/2  -> 1/6
    #   [2, 3): F = 2/3, G = 1    -> 1/3       W1 = 5/6
    # The reference's mean is 4/3; its population variance (16 + 1 + 25) / 9 / 3 = 14/9, so
    # the std is sqrt(14) / 3 and the effect size (5/6) / (sqrt(14) / 3) = 5 / (2 sqrt(14)).
    # The widest ECDF gap is 1/3 (on [0, 1) and [2, 3)).
    outcome = ks(np.array([0.0, 1, 3]), np.array([1.0, 2]))
    assert outcome.statistic == pytest.approx(1 / 3, abs=1e-12)
    assert outcome.effect_size == pytest.approx(5 / (2 * math.sqrt(14)), rel=1e-12)


def test_wasserstein_effect_size_uses_pooled_std_when_reference_is_constant() -> None:
    # Reference: twenty 5s (std 0); current [5, 6, 7, 8]. F = 1 from 5 on, G climbs by 1/4
    # at 5, 6, 7 and 8: W1 = 3/4 + 1/2 + 1/4 = 1.5. Pooled: 21 fives and 6, 7, 8, mean 5.25,
    # squared deviations 21 * 0.0625 + 0.5625 + 3.0625 + 7.5625 = 12.5 over 24 values.
    outcome = ks(np.full(20, 5.0), np.array([5.0, 6.0, 7.0, 8.0]))
    assert outcome.effect_size == pytest.approx(1.5 / math.sqrt(12.5 / 24), rel=1e-12)


def test_wasserstein_effect_size_of_values_whose_squares_overflow() -> None:
    # Reference: fifty -1e200 and fifty 1e200 (mean 0, std 1e200); current: a hundred 1e200.
    # F = 1/2 and G = 0 on [-1e200, 1e200): W1 = 1e200, the effect size 1, as at any scale
    # (the squares of the values, 1e400, overflow a double).
    reference = np.repeat([-1e200, 1e200], 50)
    outcome = ks(reference, np.full(100, 1e200))
    assert outcome.effect_size == pytest.approx(1.0, rel=1e-12)


# --- chi-square test of homogeneity ----------------------------------------------------------
#
# chi <- function(t, correct = TRUE) {
#   r <- suppressWarnings(chisq.test(matrix(t, nrow = 2, byrow = TRUE), correct = correct))
#   cat(sprintf("%.17g", c(r$statistic, r$p.value)), "\n")
# }
# chi(c(120, 60, 20, 80, 70, 50)); chi(c(50, 30, 0, 45, 35, 5)); chi(c(5, 9, 14, 2, 7, 3, 11, 9))
# chi(c(10, 20, 30, 20, 20, 20)); chi(c(30, 10, 20, 20)); chi(c(100, 1, 90, 12))
# chi(c(10, 10, 10, 11)); chi(c(30, 10, 20, 20), FALSE); chi(c(100, 1, 90, 12), FALSE)
# chisq.test applies Yates' correction to 2 x 2 tables only (correct = TRUE, the default).
R_CHI2 = [  # reference counts, current counts, X-squared, p
    ([120, 60, 20], [80, 70, 50], 21.626373626373628, 2.0132264855583093e-05),
    ([50, 30, 0], [45, 35, 5], 5.5013098356751602, 0.063886007416977669),  # new category
    ([5, 9, 14, 2], [7, 3, 11, 9], 8.1478787878787866, 0.043052344800291874),
    ([10, 20, 30], [20, 20, 20], 5.3333333333333339, 0.069483451222801515),
    ([30, 10], [20, 20], 4.3200000000000003, 0.037666922228628608),  # Yates
    ([100, 1], [90, 12], 8.1138942695769938, 0.0043927258313295071),  # Yates
    ([10, 10], [10, 11], 0.0, 1.0),  # Yates: every |O - E| < 0.5 is corrected to 0
]
R_CHI2_WITHOUT_YATES = {(30, 10, 20, 20): 5.3333333333333339, (100, 1, 90, 12): 9.8293205124275236}


@pytest.mark.parametrize(("ref", "cur", "r_statistic", "r_p_value"), R_CHI2)
def test_chi2_matches_r_chisq_test(
    ref: list[int], cur: list[int], r_statistic: float, r_p_value: float
) -> None:
    outcome = chi2_test(np.array(ref), np.array(cur))
    assert outcome.statistic == pytest.approx(r_statistic, rel=1e-12, abs=1e-12)
    assert outcome.p_value == pytest.approx(r_p_value, rel=1e-9)
    uncorrected = R_CHI2_WITHOUT_YATES.get((*ref, *cur))
    if uncorrected is not None:  # the correction was applied, not skipped
        assert outcome.statistic < uncorrected - 0.5


def test_chi2_category_only_in_current_batch_has_positive_p_value() -> None:
    # A goodness-of-fit test with the reference as expected frequencies would divide by the
    # zero expected count of the new category and give p = 0; homogeneity must not.
    assert chi2_test(np.array([50, 30, 0]), np.array([45, 35, 5])).p_value > 0.05


def test_chi2_and_cramers_v_on_a_table_worked_by_hand() -> None:
    # Table [[10, 20, 30], [20, 20, 20]], n = 120: row sums 60, 60; column sums 30, 40, 50,
    # so the expected counts are 15, 20, 25 in both rows and O - E is -5, 0, 5 / 5, 0, -5.
    #   chi2 = 2 * (25/15 + 0 + 25/25) = 16/3
    # With 2 degrees of freedom the chi-square survival function is exp(-x / 2): p = exp(-8/3).
    # Cramer's V = sqrt(chi2 / (n * (min(rows, columns) - 1))) = sqrt((16/3) / 120)
    #            = sqrt(2/45) = 0.2108185.
    outcome = chi2_test(np.array([10, 20, 30]), np.array([20, 20, 20]))
    assert outcome.statistic == pytest.approx(16 / 3, rel=1e-12)
    assert outcome.p_value == pytest.approx(math.exp(-8 / 3), rel=1e-12)
    assert outcome.effect_size == pytest.approx(math.sqrt(2 / 45), rel=1e-12)


def test_chi2_two_categories_use_yates_correction_computed_by_hand() -> None:
    # Table [[30, 10], [20, 20]], n = 80: row sums 40, 40; column sums 50, 30, so the
    # expected counts are 25, 15, 25, 15 and every |O - E| = 5. With Yates' continuity
    # correction each cell adds (5 - 0.5)^2 / E = 20.25 / E:
    #   chi2 = 20.25 * (2/25 + 2/15) = 20.25 * 0.21333... = 4.32
    # With one degree of freedom p = erfc(sqrt(chi2 / 2)) = erfc(sqrt(2.16)) = 0.037667.
    # Cramer's V measures the table, not the test: from the uncorrected statistic,
    # 25 * (2/25 + 2/15) = 16/3, V = sqrt((16/3) / (80 * 1)) = 0.258199.
    outcome = chi2_test(np.array([30, 10]), np.array([20, 20]))
    assert outcome.statistic == pytest.approx(4.32, rel=1e-12)
    assert outcome.p_value == pytest.approx(math.erfc(math.sqrt(2.16)), rel=1e-9)
    assert outcome.effect_size == pytest.approx(math.sqrt(16 / 3 / 80), rel=1e-12)


@pytest.mark.parametrize(
    ("ref", "cur"),
    [
        ([30, 20], [22, 28]),  # Yates-corrected V was 0.1401, scipy's 0.1601
        ([300, 200], [260, 240]),
        ([10, 10], [10, 11]),  # every |O - E| < 0.5: the corrected statistic is 0
        ([5000, 4000], [4700, 4300]),
        ([10, 20, 30, 40], [15, 20, 25, 40]),
        ([100, 0, 5], [90, 10, 5]),
    ],
)
def test_cramers_v_is_scipys_association(ref: list[int], cur: list[int]) -> None:
    table = np.array([ref, cur])
    expected = stats.contingency.association(table, method="cramer")
    assert chi2_test(np.array(ref), np.array(cur)).effect_size == pytest.approx(expected, rel=1e-12)


def test_chi2_gives_scipys_chi2_contingency_to_the_last_bit() -> None:
    # chi2_test does scipy's arithmetic without its dispatch: the same floats, Yates (k = 2),
    # small and large counts, |O - E| below and above 0.5, up to 40 categories.
    rng = np.random.default_rng(13)
    tables = [np.array([[10, 10], [10, 11]]), np.array([[100, 1], [90, 12]])]
    for k in [2] * 30 + list(range(3, 41)):
        scale = 10 ** rng.integers(0, 7)
        tables.append(rng.integers(1, 10 * scale, size=(2, k)))
    for table in tables:
        expected = stats.chi2_contingency(table)
        outcome = chi2_test(table[0], table[1])
        assert (outcome.statistic, outcome.p_value) == (expected.statistic, expected.pvalue)


def test_chi2_identical_proportions_give_statistic_zero() -> None:
    outcome = chi2_test(np.array([10, 20, 30]), np.array([20, 40, 60]))
    assert outcome.statistic == pytest.approx(0.0, abs=1e-12)
    assert outcome.p_value == pytest.approx(1.0)
    assert outcome.effect_size == pytest.approx(0.0, abs=1e-6)


# --- multiple-testing corrections ------------------------------------------------------------
#
# p <- c(0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.041, 0.0001)
# cat(sprintf("%.17g", p.adjust(p, "BH")), "\n"); cat(sprintf("%.17g", p.adjust(p, "bonferroni")))
P_VALUES = [0.01, 0.04, 0.03, 0.005, 0.2, 0.5, 0.041, 0.0001]
R_P_ADJUST = {
    "bh": [
        0.026666666666666665,
        0.054666666666666669,
        0.054666666666666669,
        0.02,
        0.22857142857142856,
        0.5,
        0.054666666666666669,
        0.00080000000000000004,
    ],
    "bonferroni": [0.08, 0.32, 0.24, 0.04, 1.0, 1.0, 0.328, 0.0008],
}


@pytest.mark.parametrize("correction", ["bh", "bonferroni"])
def test_corrections_match_r_p_adjust(correction: str) -> None:
    adjusted = adjust(np.array(P_VALUES), correction)  # type: ignore[arg-type]
    np.testing.assert_allclose(adjusted, R_P_ADJUST[correction], rtol=1e-12)


def test_benjamini_hochberg_matches_a_hand_computed_example() -> None:
    # Sorted: 0.005, 0.01, 0.03, 0.04 with ranks 1..4 and m = 4; p * m / rank gives
    # 0.02, 0.02, 0.04, 0.04, already non-decreasing, so in the original order:
    adjusted = adjust(np.array([0.01, 0.04, 0.03, 0.005]), "bh")
    np.testing.assert_allclose(adjusted, [0.02, 0.04, 0.04, 0.02], rtol=1e-12)


def test_benjamini_hochberg_takes_the_running_minimum_from_the_largest_p() -> None:
    # p * m / rank = 0.03, 0.06, 0.05: the second is lowered to the third's 0.05.
    adjusted = adjust(np.array([0.01, 0.04, 0.05]), "bh")
    np.testing.assert_allclose(adjusted, [0.03, 0.05, 0.05], rtol=1e-12)


def test_no_correction_leaves_p_values_unchanged() -> None:
    p_values = np.array([0.01, 0.04, 0.3, 0.5])
    np.testing.assert_array_equal(adjust(p_values, "none"), [0.01, 0.04, 0.3, 0.5])


@pytest.mark.parametrize("correction", ["bh", "bonferroni", "none"])
def test_corrections_accept_no_p_values(correction: str) -> None:
    assert len(adjust(np.array([], dtype=float), correction)) == 0  # type: ignore[arg-type]
