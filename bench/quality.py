"""Alert quality of the engine's decision rule, on the full source table, at 1x, 10x and 100x.

    python -m bench.quality --splits N [--output table] [--source CSV]

No drift: N random halves of the 2011 rows; the share of splits in which at least one
feature is flagged with raw p-values, with Bonferroni and with BH (p-values alone), and by the
engine's default decision (material drift: BH-adjusted p below alpha and effect size at least
its threshold, read from its own report). At 10x and 100x each half is resampled with
replacement to that many times its rows (bench.data's scaling), so the halves keep their
sampling differences while the tests see ten and a hundred times the rows: p-values alone flag
them, the effect sizes stay what they were. Drift: 2011 against 2012, scaled the same way,
feature by feature. Prints JSON (the 1x results also as no_drift and drift_2011_vs_2012,
which bench/run.py reads).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.data import SOURCE, _resample, config, require_source
from drift import DriftConfig, DriftReport, compare, read_batch
from drift.config import KINDS
from drift.stats import adjust

SEED = 0
SCALES = (1, 10, 100)
# At 100x a split compares 864,500 rows (about 0.3 s): a fifth of the splits keeps the whole
# run near three minutes; the Wilson interval says what that costs in precision.
SPLITS_DIVISOR = {1: 1, 10: 1, 100: 5}
RULES = ("raw", "bonferroni", "bh", "material")
LARGEST_EFFECT_QUANTILES = (0.5, 0.95, 0.99, 1.0)


def year(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame[frame["dteday"].str.startswith(prefix)].drop(columns="dteday")


def scaled(frame: pd.DataFrame, scale: int, rng: np.random.Generator) -> pd.DataFrame:
    return frame if scale == 1 else _resample(frame, scale, rng)


def no_drift(rows: pd.DataFrame, settings: DriftConfig, splits: int, scale: int) -> dict[str, Any]:
    """The same random halves at every scale (one generator for the splits, one for the
    resampling)."""
    splitter, resampler = np.random.default_rng(SEED), np.random.default_rng([SEED, scale])
    half = len(rows) // 2
    alarms = dict.fromkeys(RULES, 0)
    feature_alarms: dict[str, int] = {}
    largest: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for _ in range(splits):
        order = splitter.permutation(len(rows))
        reference = scaled(rows.iloc[order[:half]], scale, resampler)
        current = scaled(rows.iloc[order[half:]], scale, resampler)
        report = compare(reference, current, settings)
        raw = {f.feature: f.p_value for f in report.features if f.p_value is not None}
        p_values = np.array(list(raw.values()))
        flagged = {
            "raw": p_values,
            "bonferroni": adjust(p_values, "bonferroni"),
            # p-values alone: the engine's adjusted ones (its correction, bh by default).
            "bh": np.array([f.p_value_adjusted for f in report.features if f.p_value is not None]),
        }
        for rule, adjusted in flagged.items():
            alarms[rule] += bool((adjusted < settings.alpha).any())
        alarms["material"] += report.drifted
        for name, p in raw.items():
            feature_alarms[name] = feature_alarms.get(name, 0) + (p < settings.alpha)
        for kind, values in largest.items():
            values.append(max(f.effect_size or 0.0 for f in report.features if f.kind == kind))
    return {
        "scale": scale,
        "splits": splits,
        "rows": [len(reference), len(current)],
        "any_alarm": {rule: _rate(count, splits) for rule, count in alarms.items()},
        "feature_alarm_rate_raw": {name: n / splits for name, n in feature_alarms.items()},
        # Per kind, the largest effect size among its features in a split: the quantiles a
        # threshold must clear for the split not to alert.
        "largest_effect": {
            kind: dict(
                zip(
                    map(str, LARGEST_EFFECT_QUANTILES),
                    np.quantile(values, LARGEST_EFFECT_QUANTILES).tolist(),
                    strict=True,
                )
            )
            for kind, values in largest.items()
        },
    }


def _rate(count: int, n: int) -> dict[str, float]:
    """The share with its 95 % Wilson interval: even 1000 splits leave about +-1.4 points
    on 5 %, so a rate near the target needs its interval read too."""
    share, z = count / n, 1.96
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half_width = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    # Clamped: at a share of 0 or 1 rounding would put a bound a hair outside [0, 1].
    low, high = max(0.0, centre - half_width), min(1.0, centre + half_width)
    return {"share": share, "low": low, "high": high}


def drift(
    reference: pd.DataFrame, current: pd.DataFrame, settings: DriftConfig, scale: int
) -> dict[str, Any]:
    resampler = np.random.default_rng([SEED, scale])
    reference, current = scaled(reference, scale, resampler), scaled(current, scale, resampler)
    report = compare(reference, current, settings)
    return {
        "scale": scale,
        "rows": [len(reference), len(current)],
        "flagged": [f.feature for f in report.features if f.drifted],
        "flagged_p_value": [f.feature for f in report.features if _significant(f, report)],
        "features": [
            {
                "feature": f.feature,
                "kind": f.kind,
                "test": f.test,
                "p_value": f.p_value,
                "p_value_adjusted": f.p_value_adjusted,
                "effect_size": f.effect_size,
                "effect_size_threshold": f.effect_size_threshold,
                "drifted": f.drifted,
            }
            for f in report.features
        ],
    }


def _significant(feature: Any, report: DriftReport) -> bool:
    """The decision by p-values alone."""
    return feature.p_value_adjusted is not None and feature.p_value_adjusted < report.alpha


def table(result: dict[str, Any]) -> str:
    """Both decisions at every scale, for people (and bench/README.md)."""
    lines = [
        f"No drift: random halves of the 2011 rows; drift: 2011 vs 2012 (alpha "
        f"{result['alpha']}, {result['correction']}, min effect {result['min_effect_size']})",
        "",
        "scale  rows compared  splits  p-value only (BH)        material (default)       "
        "largest effect q99 num/cat  2011 vs 2012 flagged: p-value only | material",
    ]
    for null, real in zip(result["scales"], result["drift"], strict=True):
        rates = [
            f"{r['share']:5.1%} ({r['low']:.1%}-{r['high']:.1%})".ljust(24)
            for r in (null["any_alarm"]["bh"], null["any_alarm"]["material"])
        ]
        q99 = "/".join(f"{null['largest_effect'][kind]['0.99']:.3f}" for kind in KINDS)
        lines.append(
            f"{null['scale']:>4}x  {sum(null['rows']):>13,}  {null['splits']:>6}  "
            f"{rates[0]} {rates[1]} {q99:<27} {len(real['flagged_p_value'])}: "
            f"{', '.join(real['flagged_p_value'])} | {len(real['flagged'])}: "
            f"{', '.join(real['flagged'])}"
        )
    effects = {f["feature"]: f["effect_size"] for f in result["drift"][0]["features"]}
    lines += ["", "2011 vs 2012 effect sizes (1x): " + ", ".join(
        f"{name} {value:.3f}" for name, value in effects.items() if value is not None
    )]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=1000, help="no-drift splits at 1x and 10x")
    parser.add_argument("--output", choices=("json", "table"), default="json")
    parser.add_argument(
        "--source", type=Path, default=SOURCE, help="the full source table (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    settings = config()
    source = read_batch(require_source(args.source), settings)
    rows_2011, rows_2012 = year(source, "2011"), year(source, "2012")
    null = [
        no_drift(rows_2011, settings, max(1, args.splits // SPLITS_DIVISOR[s]), s) for s in SCALES
    ]
    real = [drift(rows_2011, rows_2012, settings, scale) for scale in SCALES]
    result = {
        "source": str(args.source),
        "alpha": settings.alpha,
        "correction": settings.correction,
        "min_effect_size": dict(settings.min_effect_size),
        "no_drift": null[0],
        "drift_2011_vs_2012": real[0],
        "scales": null,
        "drift": real,
    }
    if args.output == "table":
        print(table(result))
    else:
        json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
