"""Benchmark the drift engine against Evidently's DataDriftPreset and a bare scipy loop,
and measure the alert quality of its default decision rule. See README.md.

    .venv/bin/python bench/run.py [--quick] [--skip-evidently] [--output json]

Every measurement runs in a subprocess of its own, pinned to one core; this script only
starts them, prints the tables and writes bench/results/latest.json. It exits with 1
when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import machine  # bench/harness.py: a script sees its own folder
from tables import conclude, progress, table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON = Path(sys.executable)
EVIDENTLY_VENV = ROOT / ".venv-evidently"
REQUIREMENTS = BENCH / "requirements-evidently.txt"
RESULTS = BENCH / "results" / "latest.json"
SCALES = (1, 10, 100)
# Evidently takes about 17 s a run at 100x, so it gets at most this many runs there.
SLOW = ("evidently", 100)
SLOW_REPEATS = 3

# The targets.
MIN_SPEEDUP_VS_EVIDENTLY = 20.0
MAX_RATIO_VS_SCIPY = 1.3
MAX_MS_LARGEST = 2000.0
MAX_PEAK_MIB = 1024.0
MAX_FALSE_ALARM_RATE = 0.05

Result = dict[str, Any]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pythons = {"engine": PYTHON, "scipy": PYTHON}
    if not args.skip_evidently:
        pythons["evidently"] = evidently_python()
    results: Result = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join([PYTHON.name, *sys.argv]),
        "machine": machine(),
        "timing": timings(pythons, args.repeats),
        "quality": quality(args.splits),
    }
    results["targets"] = targets(results["timing"], results["quality"])
    shown = json.dumps(results, indent=2) if args.output == "json" else None
    conclude(results, RESULTS, shown or report(results, args.repeats))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 timed runs and 200 splits")
    parser.add_argument("--repeats", type=int, help="timed runs after 1 warm-up (default 5)")
    parser.add_argument("--splits", type=int, help="no-drift splits (default 1000)")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument("--output", choices=("table", "json"), default="table")
    args = parser.parse_args(argv)
    args.repeats = args.repeats or (2 if args.quick else 5)
    args.splits = args.splits or (200 if args.quick else 1000)
    return args


def evidently_python() -> Path:
    """The Evidently virtualenv's python; the virtualenv is created, or brought in line
    with the pinned requirements, when needed."""
    python = EVIDENTLY_VENV / "bin" / "python"
    installed = EVIDENTLY_VENV / "bench-requirements.txt"  # what the last install used
    wanted = REQUIREMENTS.read_text()
    if not python.exists():
        progress(f"creating {EVIDENTLY_VENV}")
        subprocess.run([str(PYTHON), "-m", "venv", str(EVIDENTLY_VENV)], check=True)
    if not installed.exists() or installed.read_text() != wanted:
        progress(f"installing {REQUIREMENTS.relative_to(ROOT)} into {EVIDENTLY_VENV.name}")
        command = [str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"pip install failed:\n{done.stdout}{done.stderr}")
        installed.write_text(wanted)
    return python


def job(python: Path, module: str, *args: str) -> Result:
    """Run ``python -m bench.<module>`` from the repository root and read its JSON."""
    done = subprocess.run(
        [str(python), "-m", f"bench.{module}", *args], cwd=ROOT, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"bench.{module} {' '.join(args)} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def quality(splits: int) -> Result:
    progress(f"alert quality: {splits} no-drift splits, then 2011 vs 2012")
    return job(PYTHON, "quality", "--splits", str(splits))


def timings(pythons: dict[str, Path], repeats: int) -> list[Result]:
    results = []
    for scale in SCALES:
        for contender, python in pythons.items():
            runs = min(repeats, SLOW_REPEATS) if (contender, scale) == SLOW else repeats
            progress(f"timing {contender} at {scale}x: 1 warm-up + {runs} runs")
            worker_args = ("--scale", str(scale), "--repeats", str(runs))
            results.append(job(python, "worker", contender, *worker_args))
        fingerprints = {r["fingerprint"] for r in results if r["scale"] == scale}
        if len(fingerprints) != 1:  # the contenders must have seen the same data
            sys.exit(f"the contenders' data differ at {scale}x: {sorted(fingerprints)}")
    return results


def targets(timing: list[Result], quality: Result) -> list[Result]:
    by = {(r["contender"], r["scale"]): r for r in timing}
    checks = []
    for scale in SCALES:
        engine_ms = by["engine", scale]["median_ms"]
        if ("evidently", scale) in by:
            speedup = by["evidently", scale]["median_ms"] / engine_ms
            checks.append(
                target(
                    f"engine >= {MIN_SPEEDUP_VS_EVIDENTLY:g}x faster than Evidently, {scale}x",
                    f"{speedup:.1f}x",
                    speedup >= MIN_SPEEDUP_VS_EVIDENTLY,
                )
            )
        ratio = engine_ms / by["scipy", scale]["median_ms"]
        checks.append(
            target(
                f"engine time <= {MAX_RATIO_VS_SCIPY:g}x the scipy loop's, {scale}x",
                f"{ratio:.2f}x",
                ratio <= MAX_RATIO_VS_SCIPY,
            )
        )
    largest = by["engine", SCALES[-1]]
    checks.append(
        target(
            f"engine at {SCALES[-1]}x ({row_count(largest):,} rows) under "
            f"{MAX_MS_LARGEST / 1000:g} s, one core",
            f"{largest['median_ms']:.0f} ms",
            largest["median_ms"] < MAX_MS_LARGEST,
        )
    )
    peak = max(by["engine", scale]["rss_peak_mib"] for scale in SCALES)
    checks.append(
        target(
            f"engine peak memory under {MAX_PEAK_MIB / 1024:g} GiB (process, all scales)",
            f"{peak:.0f} MiB",
            peak < MAX_PEAK_MIB,
        )
    )
    material = quality["no_drift"]["any_alarm"]["material"]
    checks.append(
        target(
            f"false-alarm rate of the default decision (material) <= {MAX_FALSE_ALARM_RATE:.0%}",
            f"{material['share']:.1%} (95% CI {material['low']:.1%}-{material['high']:.1%})",
            material["share"] <= MAX_FALSE_ALARM_RATE,
        )
    )
    return checks


def target(name: str, value: str, passed: bool) -> Result:
    return {"target": name, "value": value, "passed": passed}


def report(results: Result, repeats: int) -> str:
    """The printed tables."""
    timing, quality = results["timing"], results["quality"]
    engine = next(r for r in timing if r["contender"] == "engine")
    evidently = next((r for r in timing if r["contender"] == "evidently"), None)
    versions = f"engine/scipy: {versions_text(engine)}" + (
        f"; Evidently: {versions_text(evidently)}" if evidently else ""
    )
    lines = [
        f"Machine: {results['machine']['cpu']}, {results['machine']['cores']} cores; "
        f"every measurement pinned to CPU {engine['cpus'][0]} with 1 BLAS/OpenMP thread.",
        f"Versions: {versions}.",
        "",
        "TIMING: reference = data/control/bike_sharing_dataset_1.csv, current = "
        "data/audit/bike_sharing_dataset_4.csv.off (2012),",
        "read with drift.read_batch, dteday dropped; 10x and 100x resampled with replacement "
        f"(default_rng(42)); 1 warm-up, then median of {repeats} runs.",
        "",
        timing_table(timing),
        "",
        *timing_notes(timing, repeats, quality["alpha"]),
        "",
        quality_tables(quality),
        "",
        "TARGETS",
        table(
            [("target", "value", "result")]
            + [
                (t["target"], t["value"], "PASS" if t["passed"] else "FAIL")
                for t in results["targets"]
            ]
        ),
        "",
        f"Written to {RESULTS.relative_to(ROOT)}.",
    ]
    return "\n".join(lines)


def timing_table(timing: list[Result]) -> str:
    engine_ms = {r["scale"]: r["median_ms"] for r in timing if r["contender"] == "engine"}
    header = ("scale", "rows", "contender", "median ms", "rows/s", "vs engine", "peak MiB")
    body = [
        (
            f"{r['scale']}x",
            f"{row_count(r):,}",
            r["contender"],
            f"{r['median_ms']:,.1f}",
            per_second(row_count(r) / (r["median_ms"] / 1000)),
            f"{r['median_ms'] / engine_ms[r['scale']]:.2f}x",
            f"{r['rss_peak_mib']:.0f} ({r['rss_peak_mib'] - r['rss_loaded_mib']:+.0f})",
        )
        for r in timing
    ]
    return table([header, *body], right={1, 3, 4, 5, 6})


def timing_notes(timing: list[Result], repeats: int, alpha: float) -> list[str]:
    notes = [
        "vs engine: the contender's median over the engine's (above 1: slower than the "
        "engine). peak MiB: the process's",
        "peak RSS (ru_maxrss), and in brackets how far it rose above the resident memory "
        "after imports and data loading.",
    ]
    notes += [
        f"Evidently at {r['scale']}x: median of {r['repeats']} runs, not {repeats} "
        f"(about {r['median_ms'] / 1000:.0f} s a run)."
        for r in timing
        if r["contender"] == "evidently" and r["repeats"] < repeats
    ]
    gaps = []
    for scale in SCALES:
        engine, scipy = (
            next(r["p_values"] for r in timing if r["scale"] == scale and r["contender"] == c)
            for c in ("engine", "scipy")
        )
        gap = max(abs(engine[name] - scipy[name]) for name in engine)
        same = all((engine[name] < alpha) == (scipy[name] < alpha) for name in engine)
        gaps.append(f"{scale}x {gap:.1e}" + ("" if same else f" (p < {alpha} decisions differ)"))
    notes.append("Engine vs scipy loop, largest |p difference|: " + ", ".join(gaps) + ".")
    return notes


def quality_tables(quality: Result) -> str:
    null, drift = quality["no_drift"], quality["drift_2011_vs_2012"]
    rates = null["any_alarm"]
    alpha = quality["alpha"]
    labels = (  # in the order of the rates
        f"raw p < {alpha} ({len(null['feature_alarm_rate_raw'])} tests)",
        f"Bonferroni-adjusted p < {alpha}",
        f"BH-adjusted p < {alpha}",
        f"BH-adjusted p < {alpha} and effect size at its threshold (engine default)",
    )
    rule_rows = [
        (label, f"{rate['share']:.1%}", f"{rate['low']:.1%}-{rate['high']:.1%}")
        for label, rate in zip(labels, rates.values(), strict=True)
    ]
    feature_header = ("feature", "kind", "no-drift FPR", "2011/12 p", "p BH", "effect", "decision")
    feature_rows = [
        (
            f["feature"],
            f["kind"],
            f"{null['feature_alarm_rate_raw'][f['feature']]:.1%}",
            f"{f['p_value']:.2g}",
            f"{f['p_value_adjusted']:.2g}",
            f"{f['effect_size']:.3f}",
            "DRIFT" if f["drifted"] else "ok",
        )
        for f in drift["features"]
    ]
    return "\n".join(
        [
            f"ALERT QUALITY: no drift = {null['splits']} random halves of the 2011 rows of "
            f"{Path(quality['source']).name} ({null['rows'][0]:,} vs {null['rows'][1]:,} rows);",
            "share of splits in which at least one feature is flagged:",
            "",
            table([("decision rule", "splits flagged", "95% CI"), *rule_rows], right={1, 2}),
            "",
            f"Per feature: raw false-alarm rate on the no-drift splits, and the engine's "
            f"decision on 2011 vs 2012 ({drift['rows'][0]:,} vs {drift['rows'][1]:,} rows):",
            "",
            table([feature_header, *feature_rows], right={2, 3, 4, 5}),
            "",
            f"Flagged on 2011 vs 2012 ({len(drift['flagged'])} of {len(drift['features'])}): "
            + ", ".join(drift["flagged"]),
        ]
    )


def row_count(result: Result) -> int:
    return result["rows_reference"] + result["rows_current"]


def per_second(rate: float) -> str:
    return f"{rate / 1e6:.2f}M" if rate >= 1e6 else f"{rate / 1e3:.0f}k"


def versions_text(result: Result) -> str:
    return ", ".join(f"{name} {version}" for name, version in result["versions"].items())


if __name__ == "__main__":
    main()
