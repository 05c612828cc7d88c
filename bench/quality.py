"""Alert quality of the engine's decision rule, on the full source table.

    python -m bench.quality --splits N

No drift: N random halves of the 2011 rows; the share of splits in which at least one
feature is flagged with raw p-values, with Bonferroni and with BH (the engine's default,
read from its own report). Drift: 2011 against 2012, feature by feature. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from bench.data import SOURCE, config
from drift import DriftConfig, compare, read_batch
from drift.stats import adjust

SEED = 0


def year(frame: pd.DataFrame, prefix: str) -> pd.DataFrame:
    return frame[frame["dteday"].str.startswith(prefix)].drop(columns="dteday")


def no_drift(rows: pd.DataFrame, settings: DriftConfig, splits: int) -> dict[str, Any]:
    rng = np.random.default_rng(SEED)
    half = len(rows) // 2
    alarms = {"raw": 0, "bonferroni": 0, "bh": 0}
    feature_alarms: dict[str, int] = {}
    for _ in range(splits):
        order = rng.permutation(len(rows))
        report = compare(rows.iloc[order[:half]], rows.iloc[order[half:]], settings)
        raw = {f.feature: f.p_value for f in report.features if f.p_value is not None}
        p_values = np.array(list(raw.values()))
        alarms["raw"] += bool((p_values < settings.alpha).any())
        alarms["bonferroni"] += bool((adjust(p_values, "bonferroni") < settings.alpha).any())
        alarms["bh"] += report.drifted
        for name, p in raw.items():
            feature_alarms[name] = feature_alarms.get(name, 0) + (p < settings.alpha)
    return {
        "splits": splits,
        "rows": [half, len(rows) - half],
        "any_alarm": {rule: _rate(count, splits) for rule, count in alarms.items()},
        "feature_alarm_rate_raw": {name: n / splits for name, n in feature_alarms.items()},
    }


def _rate(count: int, n: int) -> dict[str, float]:
    """The share with its 95 % Wilson interval: even 1000 splits leave about +-1.4 points
    on 5 %, so a rate near the target needs its interval read too."""
    share, z = count / n, 1.96
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half_width = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return {"share": share, "low": centre - half_width, "high": centre + half_width}


def drift(reference: pd.DataFrame, current: pd.DataFrame, settings: DriftConfig) -> dict[str, Any]:
    report = compare(reference, current, settings)
    return {
        "rows": [len(reference), len(current)],
        "flagged": [f.feature for f in report.features if f.drifted],
        "features": [
            {
                "feature": f.feature,
                "kind": f.kind,
                "test": f.test,
                "p_value": f.p_value,
                "p_value_adjusted": f.p_value_adjusted,
                "effect_size": f.effect_size,
                "drifted": f.drifted,
            }
            for f in report.features
        ],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splits", type=int, default=1000)
    args = parser.parse_args(argv)
    settings = config()
    source = read_batch(SOURCE, settings)
    rows_2011, rows_2012 = year(source, "2011"), year(source, "2012")
    result = {
        "source": str(SOURCE),
        "alpha": settings.alpha,
        "correction": settings.correction,
        "no_drift": no_drift(rows_2011, settings, args.splits),
        "drift_2011_vs_2012": drift(rows_2011, rows_2012, settings),
    }
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
