"""The benchmark data, built the same way in every process and both virtualenvs.
``python -m bench.data --parquet 1000`` writes the 1000x Parquet pair once and prints its paths.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
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
# Parquet copies of the bundled pair, one folder per scale (gitignored: 1000x is 13 million rows).
PARQUET = ROOT / "bench" / "cache" / "parquet"


def config() -> DriftConfig:
    return load_config(CONFIG)


def require_source(path: Path = SOURCE) -> Path:
    """The full source table, which is not in the clone: one line saying so if it is absent."""
    if not path.is_file():
        sys.exit(
            f"error: no source table at {path}: the UCI Bike Sharing hourly table (data/README.md"
            " says where it comes from); put shared/ next to the clone or pass --source"
        )
    return path


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


def parquet_paths(scale: int) -> tuple[Path, Path]:
    """Where the Parquet pair at ``scale`` is cached."""
    folder = PARQUET / f"{scale}x"
    return folder / "reference.parquet", folder / "current.parquet"


def parquet_pair(scale: int) -> tuple[Path, Path]:
    """The bundled pair at ``scale`` as Parquet files (``bundled_pair``'s rows, categorical
    columns dictionary-encoded), written on first use and read from the cache after."""
    paths = parquet_paths(scale)
    if not all(path.exists() for path in paths):
        paths[0].parent.mkdir(parents=True, exist_ok=True)
        for frame, path in zip(bundled_pair(scale, config()), paths, strict=True):
            partial = path.with_suffix(".partial")  # an interrupted write leaves no batch
            frame.to_parquet(partial, index=False)
            partial.replace(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the benchmark's Parquet batches.")
    parser.add_argument("--parquet", type=int, metavar="SCALE", required=True)
    args = parser.parse_args(argv)
    json.dump([str(path) for path in parquet_pair(args.parquet)], sys.stdout)


if __name__ == "__main__":
    main()
