"""Time one contender on one data scale, in a process of its own so that its peak
memory is its own.

    python -m bench.worker {engine,scipy,evidently} --scale K --repeats N

Run from the repository root; bench/run.py starts it (Evidently under .venv-evidently).
Prints one JSON object: timings, memory and the data's fingerprint.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from importlib import metadata
from typing import Any

import pandas as pd
from scipy import stats

from bench.data import bundled_pair, config, fingerprint
from bench.harness import lifetime_peak_mib, resident_mib
from drift import DriftConfig, compare

Run = Callable[[pd.DataFrame, pd.DataFrame], dict[str, float] | None]


def engine(config: DriftConfig) -> Run:
    def run(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
        report = compare(reference, current, config)
        return {f.feature: f.p_value for f in report.features if f.p_value is not None}

    return run


def scipy_loop(config: DriftConfig) -> Run:
    """The baseline: one scipy call per column, no corrections, no effect sizes."""

    def run(reference: pd.DataFrame, current: pd.DataFrame) -> dict[str, float]:
        p_values = {}
        for name, kind in (config.columns or {}).items():
            ref, cur = reference[name].dropna(), current[name].dropna()
            if kind == "numeric":
                p_values[name] = stats.ks_2samp(ref, cur, method="asymp").pvalue
            else:
                counts = pd.concat([ref.value_counts(), cur.value_counts()], axis=1)
                p_values[name] = stats.chi2_contingency(counts.fillna(0).to_numpy().T).pvalue
        return {name: float(p) for name, p in p_values.items()}

    return run


def evidently(config: DriftConfig) -> Run:
    # Imported here: Evidently is only installed in .venv-evidently.
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = config.columns or {}
    definition = DataDefinition(
        numerical_columns=[name for name, kind in columns.items() if kind == "numeric"],
        categorical_columns=[name for name, kind in columns.items() if kind == "categorical"],
    )

    def run(reference: pd.DataFrame, current: pd.DataFrame) -> None:
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(current, data_definition=definition),
            Dataset.from_pandas(reference, data_definition=definition),
        )
        snapshot.dict()  # the results as a caller reads them

    return run


CONTENDERS: dict[str, Callable[[DriftConfig], Run]] = {
    "engine": engine,
    "scipy": scipy_loop,
    "evidently": evidently,
}


def measure(contender: str, scale: int, repeats: int) -> dict[str, Any]:
    settings = config()
    run = CONTENDERS[contender](settings)
    reference, current = bundled_pair(scale, settings)
    loaded_mib = resident_mib()
    p_values = run(reference, current)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run(reference, current)
        times.append(time.perf_counter() - start)
    return {
        "contender": contender,
        "scale": scale,
        "rows_reference": len(reference),
        "rows_current": len(current),
        "repeats": repeats,
        "times_ms": [t * 1000 for t in times],
        "median_ms": statistics.median(times) * 1000,
        "rss_loaded_mib": loaded_mib,
        "rss_peak_mib": lifetime_peak_mib(),
        "fingerprint": fingerprint(reference, current),
        "p_values": p_values,
        "cpus": sorted(os.sched_getaffinity(0)),
        "versions": _versions(contender),
    }


def _versions(contender: str) -> dict[str, str]:
    packages = ["numpy", "pandas", "scipy"] + (["evidently"] if contender == "evidently" else [])
    return {"python": platform.python_version()} | {p: metadata.version(p) for p in packages}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    json.dump(measure(args.contender, args.scale, args.repeats), sys.stdout)


if __name__ == "__main__":
    main()
