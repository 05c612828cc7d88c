"""Benchmark the engine's KS statistics against the shortest numpy code computing the same
p-values, at 1x, 100x and 1000x the bundled rows: CPU time and peak memory. See README.md.

    .venv/bin/python bench/compute.py [--repeats N] [--scales 1,100,1000] [--output json]

Every measurement runs in a subprocess of its own (bench/compute_worker.py), pinned to one
core; this script only starts them, prints the table and writes bench/results/compute.json.
It exits with 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tables import conclude, progress, table, targets_table  # bench/: a script sees its folder

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
RESULTS = BENCH / "results" / "compute.json"
# glibc's allocator with fixed thresholds, as a user would have to set it: the engine must
# not need it. A threshold set by hand also stops glibc from raising it as it goes.
PINNED_MALLOC = {"MALLOC_MMAP_THRESHOLD_": str(2**30), "MALLOC_TRIM_THRESHOLD_": str(2**30)}

# The targets.
MAX_RATIO_VS_NUMPY = 1.2
MAX_GROWTH_PER_ROW = 1.2  # time per row, largest scale over 100x
MAX_PEAK_GROWTH = 1.5  # the statistics' peak allocation, largest scale over 100x
MAX_P_GAP = 1e-12

Result = dict[str, Any]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs after 1 warm-up")
    parser.add_argument("--scales", default="1,100,1000", help="comma-separated, with 100")
    parser.add_argument("--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    scales = [int(scale) for scale in args.scales.split(",")]
    if 100 not in scales:
        parser.error("--scales must include 100, the scale the others are compared with")
    runs = []
    for scale in scales:
        for contender, pinned in (("engine", False), ("numpy", False), ("engine", True)):
            if pinned and scale == 1:
                continue  # nothing large to allocate
            runs.append(job(contender, scale, args.repeats, pinned))
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "runs": runs,
    }
    results["targets"] = targets(runs, max(scales))
    shown = json.dumps(results, indent=2) if args.output == "json" else None
    conclude(results, RESULTS, shown or report(results))


def job(contender: str, scale: int, repeats: int, pinned: bool) -> Result:
    name = f"{contender}{' (pinned malloc)' if pinned else ''} at {scale}x"
    progress(f"timing {name}: 1 warm-up + {repeats} runs")
    command = [sys.executable, "-m", "bench.compute_worker", contender]
    command += ["--scale", str(scale), "--repeats", str(repeats)]
    env = os.environ | (PINNED_MALLOC if pinned else {})
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def targets(runs: list[Result], largest: int) -> list[Result]:
    by = {(r["contender"], r["scale"], r["malloc"]): r for r in runs}
    engine = {scale: r for (c, scale, m), r in by.items() if c == "engine" and m == "default"}
    checks = []
    for scale, run in sorted(engine.items()):
        ratio = run["median_ms"] / by["numpy", scale, "default"]["median_ms"]
        checks.append(
            target(
                f"engine <= {MAX_RATIO_VS_NUMPY:g}x the shortest numpy code's time, {scale}x",
                f"{ratio:.2f}x",
                ratio <= MAX_RATIO_VS_NUMPY,
            )
        )
    growth = per_row_ms(engine[largest]) / per_row_ms(engine[100])
    checks.append(
        target(
            f"engine time per row, {largest}x over 100x <= {MAX_GROWTH_PER_ROW:g} (default malloc)",
            f"{growth:.2f}",
            growth <= MAX_GROWTH_PER_ROW,
        )
    )
    peak = engine[largest]["allocated_peak_mib"] / engine[100]["allocated_peak_mib"]
    checks.append(
        target(
            f"engine peak allocation, {largest}x over 100x <= {MAX_PEAK_GROWTH:g}",
            f"{peak:.2f} ({engine[largest]['allocated_peak_mib']:.0f} MiB)",
            peak <= MAX_PEAK_GROWTH,
        )
    )
    gap = max(
        abs(run["p_values"][name] - by["numpy", scale, "default"]["p_values"][name])
        for scale, run in engine.items()
        for name in run["p_values"]
    )
    checks.append(
        target(f"same p-values (largest gap <= {MAX_P_GAP:g})", f"{gap:.1e}", gap <= MAX_P_GAP)
    )
    return checks


def target(name: str, value: str, passed: bool) -> Result:
    return {"target": name, "value": value, "passed": passed}


def per_row_ms(run: Result) -> float:
    return run["median_ms"] / run["rows"]


def report(results: Result) -> str:
    runs = results["runs"]
    numpy_ms = {r["scale"]: r["median_ms"] for r in runs if r["contender"] == "numpy"}
    header = ("scale", "rows", "contender", "malloc", "median ms", "vs numpy", "ns/row")
    header += ("peak alloc MiB", "RSS rise MiB")
    body = [
        (
            f"{r['scale']}x",
            f"{r['rows']:,}",
            r["contender"],
            r["malloc"],
            f"{r['median_ms']:,.1f}",
            f"{r['median_ms'] / numpy_ms[r['scale']]:.2f}x",
            f"{per_row_ms(r) * 1e6:.1f}",
            f"{r['allocated_peak_mib']:.1f}",
            f"{r['rss_peak_mib'] - r['rss_loaded_mib']:.0f}",
        )
        for r in runs
    ]
    columns = runs[0]["p_values"]
    return "\n".join(
        [
            f"KS statistics of the {len(columns)} numeric columns of bench/run.py's data "
            f"({', '.join(columns)}).",
            f"CPU time on one pinned core, median of {runs[0]['repeats']} runs after 1 warm-up; "
            "rows: per column, reference + current.",
            "peak alloc: the most numpy held at once (tracemalloc, warm-up); RSS rise: the "
            "process's peak resident memory over",
            "that after loading the data.",
            "",
            table([header, *body], right={1, 4, 5, 6, 7, 8}),
            "",
            targets_table(results["targets"]),
            "",
            f"Written to {RESULTS.relative_to(ROOT)}.",
        ]
    )


if __name__ == "__main__":
    main()
