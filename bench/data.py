"""The benchmark data, built the same way in every process and both virtualenvs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from drift import DriftConfig, load_config, read_batch

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "data" / "drift.yaml"
REFERENCE = ROOT / "data" / "control" / "bike_sharing_dataset_1.csv"
CURRENT = ROOT / "data" / "audit" / "bike_sharing_dataset_4.csv.off"
SOURCE = ROOT.parent / "shared" / "data" / "bike_sharing_hourly.csv"
SEED = 42


def config() -> DriftConfig:
    return load_config(CONFIG)


def load(path: Path, config: DriftConfig) -> pd.DataFrame:
    """A batch as the engine's CLI reads it, without the date column."""
    return read_batch(path, config).drop(columns="dteday")


def bundled_pair(scale: int, config: DriftConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled reference and 2012 batches; above 1x each side is resampled with
    replacement to ``scale`` times its rows, reference first, from one seeded generator."""
    reference, current = load(REFERENCE, config), load(CURRENT, config)
    if scale == 1:
        return reference, current
    rng = np.random.default_rng(SEED)
    return _resample(reference, scale, rng), _resample(current, scale, rng)


def _resample(frame: pd.DataFrame, scale: int, rng: np.random.Generator) -> pd.DataFrame:
    rows = rng.integers(0, len(frame), size=scale * len(frame))
    return frame.iloc[rows].reset_index(drop=True)


def fingerprint(*frames: pd.DataFrame) -> str:
    """A digest of the values, equal across the two virtualenvs' pandas versions.

    Floats are rounded first: pandas 2's default CSV parser and pandas 3's differ in the
    last bit of some values (1e-14 relative), which no test can notice.
    """
    digest = hashlib.sha256()
    for frame in frames:
        hashes = pd.util.hash_pandas_object(frame.round(9), index=False)
        digest.update(hashes.to_numpy().tobytes())
    return digest.hexdigest()[:16]
