"""Time one contender on the Parquet pair at one scale, in a process of its own so that its
peak memory is its own (a Spark's JVM, a child process, counted in).

    python -m bench.backend_worker {pandas,duckdb,spark,evidently} --scale K --repeats N

Run from the repository root; bench/backends.py starts it (Evidently under .venv-evidently)
after ``python -m bench.data --parquet K`` wrote the files. Every run reads the files anew.
Prints one JSON object: the median of each phase, memory, and the p-values (the engine's).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.data import config, parquet_paths
from bench.harness import lifetime_peak_mib, resident_mib
from bench.worker import _versions, evidently

# The phases of one run, in seconds, and the engine's p-values (None for Evidently).
Phases = dict[str, float]
Run = Callable[[Path, Path], tuple[Phases, dict[str, float] | None]]


def engine(backend_name: str) -> Run:
    """Summarise both files with the backend, then test the summaries: what
    ``drift.compare_files`` does, with the reference summary not cached."""
    from drift import compare
    from drift.backends import backend_named
    from drift.backends.pandas import PandasBackend
    from drift.dataset import read_parquet_table
    from drift.summary import current_plan, summary_settings

    settings = config()
    plan = dict(settings.columns or {})
    summary = summary_settings(settings)
    backend = backend_named(backend_name)

    def run(reference: Path, current: Path) -> tuple[Phases, dict[str, float]]:
        phases: Phases = {}
        if isinstance(backend, PandasBackend):  # its read (Arrow), also done inside summarise
            start = time.perf_counter()
            for path in (reference, current):
                read_parquet_table(path, plan)
            phases["read (within summarise)"] = time.perf_counter() - start
        mark = time.perf_counter()
        ref = backend.summarise(reference, plan, summary, "reference")
        phases["summarise reference"] = time.perf_counter() - mark
        mark = time.perf_counter()
        cur = backend.summarise(current, current_plan(plan, ref), summary, "current")
        phases["summarise current"] = time.perf_counter() - mark
        mark = time.perf_counter()
        report = compare(ref, cur, settings)
        phases["test"] = time.perf_counter() - mark
        p_values = {f.feature: f.p_value for f in report.features if f.p_value is not None}
        return phases, p_values

    if backend_name == "spark":  # started once per process, not per run: timed apart
        start = time.perf_counter()
        backend.session  # type: ignore[attr-defined]  # noqa: B018
        STARTUP["spark session"] = time.perf_counter() - start
    return run


def evidently_from_parquet() -> Run:
    """Evidently's DataDriftPreset (bench.worker's) on the files read with pandas."""
    import pandas as pd

    compare_frames = evidently(config())

    def run(reference: Path, current: Path) -> tuple[Phases, None]:
        start = time.perf_counter()
        frames = pd.read_parquet(reference), pd.read_parquet(current)
        read = time.perf_counter()
        compare_frames(*frames)
        return {"read": read - start, "report": time.perf_counter() - read}, None

    return run


STARTUP: dict[str, float] = {}
ENGINE = ("pandas", "duckdb", "spark")
CONTENDERS: dict[str, Callable[[], Run]] = {
    "pandas": lambda: engine("pandas"),
    "duckdb": lambda: engine("duckdb"),
    "spark": lambda: engine("spark"),
    "evidently": evidently_from_parquet,
}


def measure(contender: str, scale: int, repeats: int, warm_up: bool) -> dict[str, Any]:
    reference, current = parquet_paths(scale)
    run = CONTENDERS[contender]()
    loaded_mib = resident_mib()
    if warm_up:
        run(reference, current)
    runs = [run(reference, current) for _ in range(repeats)]
    auto = {"auto": auto_backend(reference, current)} if contender in ENGINE else {}
    totals = [sum(v for k, v in phases.items() if "within" not in k) for phases, _ in runs]
    return {
        "contender": contender,
        "scale": scale,
        "rows": _rows(reference) + _rows(current),
        "repeats": repeats,
        "warm_up": warm_up,
        "times_ms": [t * 1000 for t in totals],
        "median_ms": statistics.median(totals) * 1000,
        "phases_ms": {
            name: statistics.median(phases[name] for phases, _ in runs) * 1000
            for name in runs[0][0]
        },
        "startup_ms": {name: t * 1000 for name, t in STARTUP.items()},
        "rss_loaded_mib": loaded_mib,
        "rss_peak_mib": lifetime_peak_mib(),
        "children_peak_mib": _children_peak_mib(),
        "p_values": runs[-1][1],
        "cpus": sorted(os.sched_getaffinity(0)),
        "versions": _versions("evidently" if contender == "evidently" else contender)
        | _backend_version(contender),
    } | auto


def auto_backend(reference: Path, current: Path) -> str:
    """The backend the engine's default ("auto") picks for this pair."""
    from drift.backends import auto_backend

    return auto_backend(reference, current)


def _rows(path: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).metadata.num_rows


def _children_peak_mib() -> float:
    """The peak resident memory of this process's descendants still running (Spark's JVM):
    ru_maxrss only counts children that have ended."""
    total, pending = 0.0, [os.getpid()]
    while pending:
        pid = pending.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            pending.append(child)
            with contextlib.suppress(OSError, LookupError):  # unless it ended meanwhile
                total += resident_mib("VmHWM", child)
    return total


def _backend_version(contender: str) -> dict[str, str]:
    from importlib import metadata

    package = {"duckdb": "duckdb", "spark": "pyspark"}.get(contender)
    return {package: metadata.version(package)} if package else {}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=CONTENDERS)
    parser.add_argument("--scale", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false")
    args = parser.parse_args(argv)
    json.dump(measure(args.contender, args.scale, args.repeats, args.warm_up), sys.stdout)


if __name__ == "__main__":
    main()
