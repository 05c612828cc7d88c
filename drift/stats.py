"""Two-sample tests and multiple-testing corrections, on clean arrays (no NaN)."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special, stats

from drift.config import Correction

# Up to this many pairs (n_reference * n_current) the KS p-value is exact, given the ties: its
# lattice count costs O(n_reference * n_current): 25 ms of CPU at 1000 x 1000, 0.2 s at 1 x 10^6.
EXACT_KS_MAX_PAIRS = 1_000_000
# distinct() sorts a longer sample this many values (8 MiB) at a time: a sort's cost per
# value grows with its length (1.7x from 0.87 to 8.7 million values here), so sorting chunks
# and merging their distinct values keeps it linear. On 8.7 million values with 900 distinct
# ones: 43 ms in chunks of 2^19 or 2^20 values, 46 ms of 2^18, 60-65 ms of 2^15 to 2^17,
# 72 ms in one sort (np.unique).
DISTINCT_CHUNK = 1 << 20
# Above this effective sample size the limiting Kolmogorov distribution replaces the finite-n
# one (scipy's kstwo, kstwo_sf below), whose exact sum costs O(n): 0.3 ms at 10,000 here in
# numpy (scipy's own loop, 7-9 ms). Its p-value is never below kstwo's and at most 4 % above
# for p in [1e-14, 0.5] (1.009 times at p = 0.05, 1.039 at 1e-14 for n = 10,001; the gap
# shrinks as 1/sqrt(n)), within kstwo's own distance from the exact two-sample law (up to 6 %,
# tests/test_stats.py).
FINITE_KS_MAX_N = 10_000


class TestOutcome(NamedTuple):
    statistic: float
    p_value: float
    effect_size: float


class Distinct(NamedTuple):
    """A numeric sample as its distinct values and how often each occurs: what a GROUP BY
    value COUNT(*) gives, and all the KS test and the Wasserstein distance need."""

    values: np.ndarray  # float64, sorted, unique
    counts: np.ndarray  # int64, same length, > 0


def distinct(sample: np.ndarray) -> Distinct:
    """The distinct values of a sample without NaN, with their counts.

    A long sample is sorted a chunk at a time and the chunks' distinct values are merged:
    linear in its length, in one chunk's memory, when its values repeat. A sample whose
    first chunks hold mostly distinct values (a continuous column) is sorted whole instead,
    since chunks would not shrink it.
    """
    sample = np.asarray(sample, dtype=float)
    if len(sample) <= DISTINCT_CHUNK:
        return _runs(np.sort(sample))
    buffer = np.empty(DISTINCT_CHUNK)  # reused: no fresh pages for every chunk
    parts: list[Distinct] = []
    held = 0  # distinct values in parts
    for start in range(0, len(sample), DISTINCT_CHUNK):
        chunk = buffer[: min(DISTINCT_CHUNK, len(sample) - start)]
        np.copyto(chunk, sample[start : start + len(chunk)])
        chunk.sort()
        parts.append(_runs(chunk))
        held += len(parts[-1].values)
        if held > DISTINCT_CHUNK // 2:
            parts = [merge(*parts)]
            held = len(parts[0].values)
            if held > DISTINCT_CHUNK // 2:  # mostly distinct: one sort of all is cheaper
                return _runs(np.sort(sample))
    return merge(*parts)


def merge(*parts: Distinct) -> Distinct:
    """The distinct values and counts of a sample from those of its parts (chunks,
    partitions, batches)."""
    if len(parts) == 1:
        return parts[0]
    values = np.concatenate([part.values for part in parts])
    return collapse(values, np.concatenate([part.counts for part in parts]))


def collapse(values: np.ndarray, counts: np.ndarray) -> Distinct:
    """Distinct values with the counts of equal ones added up, from (value, count) pairs in
    any order (a GROUP BY's rows, or the parts of merge)."""
    order = np.argsort(values, kind="stable")  # a few sorted runs: merged, not sorted anew
    ordered = np.asarray(values, dtype=float)[order]
    starts = run_starts(ordered)
    if len(starts) == 0:
        return Distinct(ordered, np.zeros(0, dtype=np.int64))
    summed = np.add.reduceat(np.asarray(counts, dtype=np.int64)[order], starts)
    return Distinct(ordered[starts], summed)


def _runs(ordered: np.ndarray) -> Distinct:
    """The distinct values of a sorted array with the lengths of their runs."""
    starts = run_starts(ordered)
    return Distinct(
        ordered[starts], np.diff(starts, append=len(ordered)).astype(np.int64, copy=False)
    )


def run_starts(ordered: np.ndarray) -> np.ndarray:
    """Where each run of equal values begins in a sorted array."""
    begins = np.empty(len(ordered), dtype=bool)
    begins[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=begins[1:])
    return np.flatnonzero(begins)


def ks_test(reference: Distinct, current: Distinct) -> TestOutcome:
    """Two-sided two-sample Kolmogorov-Smirnov test; exact p-value (given the ties) for small
    samples, asymptotic for large ones.

    The effect size is the normed Wasserstein distance: W1 divided by the reference's
    standard deviation (the pooled one when the reference is constant). Both empirical CDFs
    are read on the pooled distinct values, after each run of ties, as R's ks.test does.
    """
    pooled = np.union1d(reference.values, current.values)
    ref_counts, cur_counts = _on(pooled, reference), _on(pooled, current)
    ref_cum, cur_cum = np.cumsum(ref_counts), np.cumsum(cur_counts)
    n_ref, n_cur = int(ref_cum[-1]), int(cur_cum[-1])
    cdf_gap = np.abs(ref_cum / n_ref - cur_cum / n_cur)
    d = float(cdf_gap.max())
    wasserstein = float(np.dot(cdf_gap[:-1], np.diff(pooled)))
    scale = _std(pooled, ref_counts) or _std(pooled, ref_counts + cur_counts)
    if n_ref * n_cur <= EXACT_KS_MAX_PAIRS:
        p_value = _exact_p_value(ref_cum, cur_cum)
    else:
        p_value = _asymptotic_p_value(d, n_ref, n_cur)
    return TestOutcome(d, p_value, wasserstein / scale)


def _on(pooled: np.ndarray, sample: Distinct) -> np.ndarray:
    """The sample's counts at each pooled value (0 where it has none)."""
    counts = np.zeros(len(pooled), dtype=np.int64)
    counts[np.searchsorted(pooled, sample.values)] = sample.counts
    return counts


def _std(values: np.ndarray, counts: np.ndarray) -> float:
    """Population standard deviation of values repeated counts times (two passes, as numpy),
    on the values scaled by a power of two (exact), as their squares overflow from 1e154."""
    n = counts.sum()
    scale = math.ldexp(1.0, int(np.frexp(np.abs(values).max())[1]) - 1)  # max/scale < 2
    scaled = values / scale
    mean = np.dot(scaled, counts) / n
    return scale * math.sqrt(np.dot(counts, (scaled - mean) ** 2) / n)


def _exact_p_value(ref_cum: np.ndarray, cur_cum: np.ndarray) -> float:
    """P(D >= d) under the permutations of the pooled sample, given its ties: R's
    psmirnov(exact = TRUE) (R >= 4.2), from both samples' cumulative counts on the pooled
    distinct values.

    A permutation is a lattice path from (0, 0) to (m, n) that takes a step in i for each
    reference value and in j for each current one, in sorted order. The ECDFs are compared
    only where a run of tied values ends (after k = i + j values, k a cumulative pooled count;
    inside a run the order of the tied values is arbitrary), and p is the share of paths that
    reach a compared cell with |i n - j m| >= D m n. Counted row by row over the smaller
    sample with integer bounds (no rounding fuzz): hits(i, j), the paths from (0, 0) to
    (i, j) that have reached such a cell, is hits(i - 1, j) + hits(i, j - 1), or every path,
    C(i + j, i), on such a cell; so a row is a cumulative sum restarted at each such cell.
    Row i is divided by C(i + n, i), which keeps every number in [0, 1]; a restart value is
    at least the sum it replaces, so no subtraction cancels and p keeps its relative
    precision (1e-12 of exact integer counts down to p = 1e-45 in tests/test_stats.py).
    Cost: min(m, n) + 1 numpy passes over max(m, n) + 1 cells, 25 ms of CPU for 1000 x 1000.
    """
    m, n = int(ref_cum[-1]), int(cur_cum[-1])
    bound = int(np.abs(ref_cum * n - cur_cum * m).max())  # D m n, an integer
    compared = np.zeros(m + n + 1, dtype=bool)
    compared[ref_cum + cur_cum] = True
    if m > n:  # fewer, longer rows; |i n - j m| and k = i + j are symmetric
        m, n = n, m
    j = np.arange(n + 1)
    every = np.ones(n + 1)  # C(i + j, i) / C(i + n, i)
    hits = np.zeros(n + 1)  # hits(i, j) / C(i + n, i)
    for i in range(m + 1):
        if i:
            every *= (j + i) / (i + n)
            from_above = np.cumsum(hits * (i / (i + n)))  # C(i - 1 + n, i - 1) / C(i + n, i)
        else:
            from_above = np.zeros(n + 1)
        over = compared[i : i + n + 1].copy()
        inside = (i * n - bound) // m + 1, -(-(i * n + bound) // m)  # |i n - j m| < bound
        over[max(inside[0], 0) : max(inside[1], 0)] = False
        restart = np.maximum.accumulate(np.where(over, j, -1))  # the last such cell so far
        hits = from_above + np.where(restart >= 0, (every - from_above)[restart], 0.0)
    return float(min(hits[n], 1.0))


def _asymptotic_p_value(d: float, n_ref: int, n_cur: int) -> float:
    n = n_ref * n_cur / (n_ref + n_cur)
    if n <= FINITE_KS_MAX_N:  # what scipy's ks_2samp(method="asymp") computes
        return kstwo_sf(d, round(n))
    return float(np.clip(stats.kstwobign.sf(d * math.sqrt(n)), 0.0, 1.0))


def kstwo_sf(d: float, n: int) -> float:
    """scipy's ``stats.kstwo.sf(d, n)`` (scipy.stats._ksstats._kolmogn). Where that takes the
    exact Smirnov sum, 2 * special.smirnov(n, d), for d >= 0.5 or for n > 140 and
    2.2 <= n d^2 < 370 (between the Ruben-Gambino ends), the sum is done here in log space over
    numpy arrays: 0.1 ms against scipy's 2 ms (a double-double loop) at n = 2,891, and within
    2e-11 of it but for results below 1e-300 (tests/test_stats.py). Anywhere else (n <= 140
    takes the sum for n d^2 > 4 too, cheap at that n), scipy's own."""
    if 1 < n * d < n - 1 and (d >= 0.5 or (n > 140 and 2.2 <= n * d * d < 370)):
        return min(1.0, 2 * smirnov(n, d))
    return float(stats.kstwo.sf(d, n))


def smirnov(n: int, d: float) -> float:
    """P(D+ >= d) for n observations (Smirnov 1944, Birnbaum & Tingey 1951):
    d * sum over j <= n (1 - d) of C(n, j) (d + j/n)^(j-1) (1 - d - j/n)^(n-j), every term
    positive, summed from its logarithm."""
    j = np.arange(math.floor(n * (1 - d)) + 1)
    x = d + j / n
    with np.errstate(divide="ignore"):  # x = 1 in the last term: log(0), a zero term
        logs = (
            special.gammaln(n + 1)
            - special.gammaln(j + 1)
            - special.gammaln(n - j + 1)
            + (j - 1) * np.log(x)
            + (n - j) * np.log1p(-x)
        )
    top = float(logs.max())
    return d * math.exp(top) * float(np.exp(logs - top).sum())


def chi2_test(reference_counts: np.ndarray, current_counts: np.ndarray) -> TestOutcome:
    """Chi-square test of homogeneity on a 2 x k table of counts over the union of
    categories (Yates-corrected when k = 2); effect size is Cramer's V, from the uncorrected
    statistic (scipy's contingency.association).

    scipy's ``chi2_contingency`` for a 2 x k table (k >= 2, every category counted), step by
    step in its order of operations, so the same numbers to the last bit
    (tests/test_stats.py): scipy's own checks and dispatch cost 0.3 ms a call, ten times the
    arithmetic."""
    table = np.vstack([reference_counts, current_counts])
    observed = table.astype(np.float64)
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True)
    expected /= observed.sum()
    dof = table.shape[1] - 1
    uncorrected = ((observed - expected) ** 2 / expected).sum()
    statistic = uncorrected
    if dof == 1:  # Yates' continuity correction, never past the expected count
        gap = expected - observed
        observed = observed + np.minimum(0.5, np.abs(gap)) * np.sign(gap)
        statistic = ((observed - expected) ** 2 / expected).sum()
    # V describes the table, not the test: from the uncorrected statistic, as scipy's
    # contingency.association (the scale Cohen's small/medium/large refer to).
    cramers_v = math.sqrt(uncorrected / table.sum())  # min(2, k) - 1 == 1
    return TestOutcome(float(statistic), float(special.chdtrc(float(dof), statistic)), cramers_v)


def adjust(p_values: np.ndarray, correction: Correction) -> np.ndarray:
    """p-values adjusted for testing several features at once."""
    if correction == "none" or len(p_values) == 0:
        return p_values
    if correction == "bonferroni":
        return np.minimum(p_values * len(p_values), 1.0)
    return stats.false_discovery_control(p_values, method="bh")
