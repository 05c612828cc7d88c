"""The bundled Bike Sharing batches: reproducible from the shared source, and drifting
exactly as the README documents."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from drift.config import load_config
from drift.dataset import read_batch
from drift.engine import compare

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
# CI checks out shared/ beside the repository clone, as on a workstation.
SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "bike_sharing_hourly.csv"
BATCHES = [
    "control/bike_sharing_dataset_1.csv",
    "audit/bike_sharing_dataset_2.csv",
    "audit/bike_sharing_dataset_3.csv.off",
    "audit/bike_sharing_dataset_4.csv.off",
]


def test_make_batches_rewrites_the_committed_batches_byte_for_byte(tmp_path: Path) -> None:
    if not SOURCE.is_file():
        pytest.skip(f"source data not found at {SOURCE} (shared/ must sit beside the repo)")
    # The script writes next to itself, so run a copy in a scratch folder.
    shutil.copy(DATA / "make_batches.py", tmp_path / "make_batches.py")
    (tmp_path / "control").mkdir()
    (tmp_path / "audit").mkdir()
    result = subprocess.run(
        [sys.executable, str(tmp_path / "make_batches.py"), str(SOURCE)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*") if p.is_file())
    assert written == sorted(BATCHES)
    for name in BATCHES:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def _drifted_features(current: str) -> set[str]:
    config = load_config(DATA / "drift.yaml")
    reference = read_batch(DATA / "control" / "bike_sharing_dataset_1.csv", config)
    report = compare(reference, read_batch(DATA / "audit" / current, config), config)
    assert report.features_tested == len(config.columns or {})  # nothing skipped
    return {f.feature for f in report.features if f.drifted}


def test_hold_out_half_of_2011_drifts_on_no_feature() -> None:
    assert _drifted_features("bike_sharing_dataset_2.csv") == set()


def test_july_2011_drifts_on_season_weather_and_demand() -> None:
    # workingday's adjusted p-value (0.03) is below alpha, its Cramer's V (0.03) not material.
    assert _drifted_features("bike_sharing_dataset_3.csv.off") == {
        "season", "weathersit", "temp", "atemp", "hum", "windspeed", "casual", "registered",
        "cnt",
    }  # fmt: skip


def test_year_2012_drifts_on_weather_and_demand() -> None:
    # weathersit's adjusted p-value (0.004) is below alpha, its Cramer's V (0.035) not material.
    assert _drifted_features("bike_sharing_dataset_4.csv.off") == {
        "temp", "atemp", "hum", "casual", "registered", "cnt",
    }  # fmt: skip
