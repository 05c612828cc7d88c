"""Benchmark the engine's backends (pandas, DuckDB, Spark in local mode) against Evidently's
DataDriftPreset on the bundled pair as Parquet at 1x, 100x and 1000x (13 million rows).

    .venv/bin/python bench/backends.py [--quick] [--scales 1 100] [--skip-evidently]
                                       [--skip-spark] [--output json]

Every measurement runs in a process of its own (bench/backend_worker.py), pinned to one core;
this script writes the Parquet files once (bench/data.py), starts the workers, prints the
tables and writes bench/results/backends.json. It exits with 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

# bench/run.py and bench/tables.py: a script sees its own folder.
from harness import machine
from run import PYTHON, ROOT, evidently_python, job, per_second, target
from tables import conclude, progress, table

RESULTS = ROOT / "bench" / "results" / "backends.json"
SCALES = (1, 100, 1000)
QUICK_SCALES = (1, 100)
ENGINE = ("pandas", "duckdb", "spark")
REPEATS, QUICK_REPEATS = 3, 2
# Evidently at 1000x takes minutes a run (and 20 GiB would not be out of place): one run,
# no warm-up.
BOUNDED = {("evidently", 1000)}

# The targets.
MAX_DEFAULT_PEAK_MIB = 2048.0
MIN_SPEEDUP_VS_EVIDENTLY = 50.0
MAX_GROWTH_PER_ROW = 1.25  # time per row at the largest scale over that at the next smaller

Result = dict[str, Any]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pythons = {name: PYTHON for name in ENGINE if not (name == "spark" and args.skip_spark)}
    if not args.skip_evidently:
        pythons["evidently"] = evidently_python()
    timing = []
    for scale in args.scales:
        progress(f"Parquet pair at {scale}x")
        job(PYTHON, "data", "--parquet", str(scale))
        for contender, python in pythons.items():
            bounded = (contender, scale) in BOUNDED
            runs = 1 if bounded else args.repeats
            progress(f"timing {contender} at {scale}x: {'' if bounded else '1 warm-up + '}{runs}")
            worker_args = ["--scale", str(scale), "--repeats", str(runs)]
            worker_args += ["--no-warm-up"] if bounded else []
            timing.append(job(python, "backend_worker", contender, *worker_args))
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([PYTHON.name, *sys.argv]),
        "machine": machine(),
        "timing": timing,
    }
    results["targets"] = targets(timing, args.scales)
    shown = json.dumps(results, indent=2) if args.output == "json" else None
    conclude(results, RESULTS, shown or report(results))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1x and 100x, 2 timed runs")
    parser.add_argument("--scales", type=int, nargs="+", help="default 1 100 1000")
    parser.add_argument("--repeats", type=int, help="timed runs after 1 warm-up (default 3)")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    args.scales = tuple(args.scales or (QUICK_SCALES if args.quick else SCALES))
    args.repeats = args.repeats or (QUICK_REPEATS if args.quick else REPEATS)
    return args


def peak_mib(result: Result) -> float:
    """The process's peak resident memory, and its children's (Spark's JVM)."""
    return result["rss_peak_mib"] + result["children_peak_mib"]


def targets(timing: list[Result], scales: tuple[int, ...]) -> list[Result]:
    by = {(r["contender"], r["scale"]): r for r in timing}
    auto = auto_picks(timing)  # what the engine's default picks at each scale
    checks = []
    largest = max(scales)
    default = by[auto[largest], largest]
    checks.append(
        target(
            f"{auto[largest]} (auto) peak memory at {largest}x ({default['rows']:,} rows) under "
            f"{MAX_DEFAULT_PEAK_MIB / 1024:g} GiB",
            f"{peak_mib(default):.0f} MiB",
            peak_mib(default) < MAX_DEFAULT_PEAK_MIB,
        )
    )
    for scale in scales:
        if ("evidently", scale) not in by:
            continue
        for name in ENGINE:
            if (name, scale) in by:
                speedup = by["evidently", scale]["median_ms"] / by[name, scale]["median_ms"]
                picked = " (auto)" if name == auto[scale] else ""
                check = target(
                    f"{name}{picked} >= {MIN_SPEEDUP_VS_EVIDENTLY:g}x faster than Evidently, "
                    f"{scale}x",
                    f"{speedup:.1f}x",
                    speedup >= MIN_SPEEDUP_VS_EVIDENTLY,
                )
                checks.append(check | {"informational": name != auto[scale]})
    if len(scales) > 1:
        smaller = sorted(scales)[-2]
        for name in ENGINE:
            if (name, smaller) in by and (name, largest) in by:
                growth = per_row(by[name, largest]) / per_row(by[name, smaller])
                check = target(
                    f"{name}: time per row at {largest}x <= {MAX_GROWTH_PER_ROW:g}x that at "
                    f"{smaller}x (linear)",
                    f"{growth:.2f}x",
                    growth <= MAX_GROWTH_PER_ROW,
                )
                checks.append(check | {"informational": name != auto[largest]})
    for scale in scales:
        p_values = [by[n, scale]["p_values"] for n in ENGINE if (n, scale) in by]
        checks.append(
            target(
                f"the same p-values from every backend, {scale}x",
                "identical" if all(p == p_values[0] for p in p_values) else "differ",
                all(p == p_values[0] for p in p_values),
            )
        )
    return checks


def auto_picks(timing: list[Result]) -> dict[int, str]:
    return {r["scale"]: r["auto"] for r in timing if "auto" in r}


def per_row(result: Result) -> float:
    return result["median_ms"] / result["rows"]


def report(results: Result) -> str:
    timing = results["timing"]
    first = timing[0]
    versions = sorted({f"{k} {v}" for r in timing for k, v in r["versions"].items()})
    lines = [
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; every "
        f"measurement pinned to CPU {first['cpus'][0]} (Spark's JVM too).",
        f"Versions: {', '.join(versions)}.",
        "",
        "TIMING: the bundled reference and 2012 batches resampled to each scale (bench/data.py),",
        "as Parquet; each run reads both files, summarises them and tests (engine), or reads",
        "them with pandas and runs Evidently's DataDriftPreset. 1 warm-up, then the median.",
        "",
        timing_table(timing),
        "",
        "vs Evidently: Evidently's median over the contender's. peak MiB: the process's peak",
        "resident memory (ru_maxrss) plus its running children's (VmHWM: Spark's JVM).",
        *[
            f"Evidently at {r['scale']}x: one run, no warm-up ({r['median_ms'] / 1000:.0f} s)."
            for r in timing
            if r["contender"] == "evidently" and not r["warm_up"]
        ],
        *[
            f"Spark at {r['scale']}x: its session started in {ms:,.0f} ms (once per process; "
            "not in the runs)."
            for r in timing
            for ms in r["startup_ms"].values()
        ],
        "",
        "WHERE THE TIME GOES (median ms per phase; pandas' read is part of its summarise):",
        "auto picks "
        + ", ".join(f"{name} at {scale}x" for scale, name in sorted(auto_picks(timing).items()))
        + ".",
        "",
        phases_table(timing),
        "",
        "TARGETS",
        table([("target", "value", "result")] + [target_row(t) for t in results["targets"]]),
        "",
        f"Written to {RESULTS.relative_to(ROOT)}.",
    ]
    return "\n".join(lines)


def timing_table(timing: list[Result]) -> str:
    evidently = {r["scale"]: r["median_ms"] for r in timing if r["contender"] == "evidently"}
    header = ("scale", "rows", "contender", "median ms", "rows/s", "vs Evidently", "peak MiB")
    body = [
        (
            f"{r['scale']}x",
            f"{r['rows']:,}",
            r["contender"],
            f"{r['median_ms']:,.1f}",
            per_second(r["rows"] / (r["median_ms"] / 1000)),
            f"{evidently[r['scale']] / r['median_ms']:.1f}x" if r["scale"] in evidently else "",
            f"{peak_mib(r):,.0f}",
        )
        for r in timing
    ]
    return table([header, *body], right={1, 3, 4, 5, 6})


def phases_table(timing: list[Result]) -> str:
    rows = [("scale", "contender", "phase", "ms", "share")]
    for r in timing:
        total = r["median_ms"]
        for phase, ms in r["phases_ms"].items():
            share = "" if "within" in phase else f"{ms / total:.0%}"
            rows.append((f"{r['scale']}x", r["contender"], phase, f"{ms:,.1f}", share))
    return table(rows, right={3, 4})


def target_row(check: Result) -> tuple[str, str, str]:
    result = "PASS" if check["passed"] else "FAIL"
    return (
        check["target"],
        check["value"],
        result + (" (info)" if check.get("informational") else ""),
    )


if __name__ == "__main__":
    main()
