"""Time the KS statistics of the numeric columns, in a process of its own so that its peak
memory is its own.

    python -m bench.compute_worker {engine,numpy} --scale K --repeats N

Run from the repository root; bench/compute.py starts it. Prints one JSON object: CPU times,
the peak memory the statistics added, and each column's p-value.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from bench.data import bundled_pair, config
from bench.harness import resident_mib
from drift.stats import FINITE_KS_MAX_N, distinct, ks_test

Statistic = Callable[[np.ndarray, np.ndarray], float]


def engine(reference: np.ndarray, current: np.ndarray) -> float:
    """The engine's statistics: distinct values, then D, the p-value and the effect size."""
    return ks_test(distinct(reference), distinct(current)).p_value


def shortest_numpy(reference: np.ndarray, current: np.ndarray) -> float:
    """The shortest correct numpy code for the same p-value at these sizes (above the exact
    path's 10^6 pairs): sort, collapse runs of equal values, merge only the distinct values."""
    (ref_values, ref_counts), (cur_values, cur_counts) = (
        np.unique(sample, return_counts=True) for sample in (reference, current)
    )
    pooled = np.union1d(ref_values, cur_values)
    ref_cdf, cur_cdf = np.zeros(len(pooled)), np.zeros(len(pooled))
    ref_cdf[np.searchsorted(pooled, ref_values)] = ref_counts
    cur_cdf[np.searchsorted(pooled, cur_values)] = cur_counts
    d = np.abs(np.cumsum(ref_cdf) / len(reference) - np.cumsum(cur_cdf) / len(current)).max()
    n = len(reference) * len(current) / (len(reference) + len(current))
    if n <= FINITE_KS_MAX_N:
        return float(stats.kstwo.sf(d, round(n)))
    return float(stats.kstwobign.sf(d * math.sqrt(n)))


CONTENDERS: dict[str, Statistic] = {"engine": engine, "numpy": shortest_numpy}


def numeric_columns(scale: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The numeric columns of bench/run.py's data at this scale, without missing values."""
    settings = config()
    reference, current = bundled_pair(scale, settings)
    names = [name for name, kind in (settings.columns or {}).items() if kind == "numeric"]
    columns = {}
    for name in names:
        ref, cur = (frame[name].to_numpy(dtype=float) for frame in (reference, current))
        columns[name] = (ref[np.isfinite(ref)], cur[np.isfinite(cur)])
    return columns


def measure(contender: str, scale: int, repeats: int) -> dict[str, Any]:
    statistic = CONTENDERS[contender]
    columns = numeric_columns(scale)
    loaded_mib = resident_mib()
    _reset_peak()  # the peak from here on is the statistics' alone
    # Warm-up, with numpy's allocations traced: how much the statistics hold at once,
    # whatever the allocator keeps resident from loading the data.
    tracemalloc.start()
    p_values = {name: statistic(ref, cur) for name, (ref, cur) in columns.items()}
    allocated_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    peak_mib = resident_mib("VmHWM")
    times = []
    for _ in range(repeats):
        # CPU time of this one-thread process: other processes on the machine do not count.
        start = time.process_time()
        for ref, cur in columns.values():
            statistic(ref, cur)
        times.append(time.process_time() - start)
    return {
        "contender": contender,
        "scale": scale,
        "malloc": "pinned" if "MALLOC_MMAP_THRESHOLD_" in os.environ else "default",
        "rows": sum(len(ref) + len(cur) for ref, cur in columns.values()) // len(columns),
        "largest_column_mib": max(cur.nbytes for _, cur in columns.values()) / 2**20,
        "repeats": repeats,
        "times_ms": [t * 1000 for t in times],
        "median_ms": statistics.median(times) * 1000,
        "rss_loaded_mib": loaded_mib,
        "rss_peak_mib": peak_mib,
        "allocated_peak_mib": allocated_peak_mib,
        "p_values": p_values,
    }


def _reset_peak() -> None:
    """Set the process's peak resident memory (VmHWM) to its current one (Linux 4.0+)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    json.dump(measure(args.contender, args.scale, args.repeats), sys.stdout)


if __name__ == "__main__":
    main()
