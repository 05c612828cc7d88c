"""The Spark backend against the pandas backend (the reference) and DuckDB: identical summaries
and identical drift decisions on the bundled data and on tricky data, in CSV and Parquet.

One local Spark session (2 cores, 2 shuffle partitions, no UI) serves the whole module: it
takes about 10 s to start.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from drift import DriftConfig, DriftInputError, compare, load_config
from drift.backends import backend_named
from drift.backends.pandas import PandasBackend
from drift.backends.spark import JAVA_HINT, SparkBackend, spark_grid, spark_session
from drift.summary import BatchSummary, NumericSummary, Plan, SummarySettings, current_plan, grid

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = (
    ROOT / "data" / "control" / "bike_sharing_dataset_1.csv",
    ROOT / "data" / "audit" / "bike_sharing_dataset_4.csv.off",
)
SETTINGS = SummarySettings()
SKETCHED = SummarySettings(max_distinct=50)  # the wide columns below have 1,000 values


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("drift-tests")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    with warnings.catch_warnings():  # as spark_session: PySpark's notice about pandas 3
        warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
        session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    # py4j logs its connections' closing when they are collected at exit, after pytest has
    # closed the stream its handlers write to ("--- Logging error ---" below the results).
    logging.getLogger("py4j").setLevel(logging.WARNING)


def summaries(
    backend: object, paths: tuple[Path, Path], plan: Plan, settings: SummarySettings
) -> tuple[BatchSummary, BatchSummary]:
    """Both batches' summaries as the engine asks for them."""
    reference = backend.summarise(paths[0], plan, settings, "reference")  # type: ignore[attr-defined]
    current_kinds = current_plan(plan, reference)
    return reference, backend.summarise(paths[1], current_kinds, settings, "current")  # type: ignore[attr-defined]


def other_backends(spark: SparkSession) -> list[object]:
    """Spark, and DuckDB where its backend is there."""
    return [SparkBackend(spark), backend_named("duckdb")]


# --- the sketch's grid ------------------------------------------------------------------------


def test_spark_grid_is_the_summary_grid(spark: SparkSession) -> None:
    """Powers of two and their neighbours over the whole exponent range (subnormals too),
    values halfway between two cells (rounded to even), and random ones."""
    rng = np.random.default_rng(7)
    values = [1.0, 0.5, 3.0, 0.1, 1 / 3, 2.0**53 + 2, 5e-324, 2.0**-1022, 1.7e308]
    for k in range(-1074, 1024, 5):
        values += [2.0**k, np.nextafter(2.0**k, 0), np.nextafter(2.0**k, np.inf)]
    halfway = [(m + 0.5) * 2.0 ** (k - 12) for m in range(2048, 4096, 41) for k in (-1050, 0, 900)]
    values += halfway + list(rng.normal(size=2000)) + list(rng.standard_cauchy(size=2000) * 1e9)
    values += [-v for v in values]
    frame = spark.createDataFrame(pa.table({"x": np.array(values, dtype=float)}))
    for bits in (1, 12, 52):
        got = np.array(frame.select(spark_grid(F.col("x"), bits)).toArrow().column(0))
        np.testing.assert_array_equal(got, grid(np.array(values), bits))
    assert grid(np.array([4096.5]), 12)[0] == 4096.0  # halfway: to even (the reference rounds)


# --- the bundled data -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled_parquet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The bundled batches as Parquet, as pandas reads them (categorical columns as text)."""
    folder = tmp_path_factory.mktemp("bundled")
    config = load_config(ROOT / "data" / "drift.yaml")
    paths = (folder / "reference.parquet", folder / "current.parquet")
    for source, path in zip(BUNDLED, paths, strict=True):
        text = {name: "str" for name, kind in (config.columns or {}).items() if kind != "numeric"}
        pd.read_csv(source, dtype=text).to_parquet(path, index=False)
    return paths


@pytest.mark.parametrize(
    ("form", "declared"),
    [("csv", True), ("parquet", False)],
    ids=["csv-declared", "parquet-inferred"],
)
def test_bundled_data_same_summaries_and_decisions(
    spark: SparkSession, bundled_parquet: tuple[Path, Path], form: str, declared: bool
) -> None:
    config = load_config(ROOT / "data" / "drift.yaml")
    if not declared:
        config = DriftConfig(alpha=config.alpha, correction=config.correction)
    paths = BUNDLED if form == "csv" else bundled_parquet
    header = PandasBackend().header(paths[0])
    plan: Plan = dict(config.columns) if config.columns else dict.fromkeys(header)
    expected = summaries(PandasBackend(), paths, plan, SETTINGS)
    assert expected[0].features["cnt"].kind == "numeric"  # the reference sees real data
    assert expected[0].features["season"].kind == "categorical"
    for backend in other_backends(spark):
        got = summaries(backend, paths, plan, SETTINGS)
        assert got == expected, backend
        assert compare(*got, config).to_dict() == compare(*expected, config).to_dict()


# --- tricky data ------------------------------------------------------------------------------


def tricky(seed: int, shift: float) -> pd.DataFrame:
    """NaN, +-inf, -0.0, empty strings, unicode categories, categories with a line break, a
    comma, quotes and a backslash, booleans, all-missing and constant columns, a date column,
    numbers as text, and a column of 1,000 distinct values."""
    rng = np.random.default_rng(seed)
    n = 400
    special = [np.nan, np.inf, -np.inf, -0.0, 0.0, 1e308, -5e-324]
    floats = np.round(rng.normal(shift, 1, n), 2)
    floats[:: len(special) * 5][: len(special)] = special
    # The last four are quoted in a CSV file, the first of them across two lines.
    words = ["", "été", "東京", "naïve", "emoji 🙂", "a", "A", " a"]
    quoted = ["multi\nline", "with, comma", 'q"uote', 'back\\slash "q"']
    labels = np.array(words + quoted, dtype=object)
    categories = labels[rng.integers(0, len(labels), n)]
    categories[::37] = None
    return pd.DataFrame(
        {
            "floats": floats,
            "ints": rng.integers(0, 20 + int(shift * 5), n),
            "wide": np.arange(n) * (1.0 + shift) + rng.random(n),
            "words": categories,
            "flags": rng.random(n) < 0.3 + shift / 10,
            "nothing": np.full(n, np.nan),
            "no_text": pd.Series([None] * n, dtype=object),
            "constant": np.full(n, 7.5),
            "day": pd.Series([f"2024-01-{1 + i % 28:02d}" for i in range(n)]),
            "text_numbers": pd.Series([f"{v:.3f}" for v in rng.normal(shift, 1, n)]),
            "codes": rng.integers(1, 5, n).astype(float),  # 1.0, 2.0: labels "1", "2"
        }
    )


@pytest.fixture(scope="module")
def tricky_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("tricky")
    frames = tricky(1, 0.0), tricky(2, 0.4)
    files = {}
    for form in ("parquet", "csv"):
        paths = (folder / f"reference.{form}", folder / f"current.{form}")
        for frame, path in zip(frames, paths, strict=True):
            if form == "parquet":
                frame.to_parquet(path, index=False)
            else:
                frame.to_csv(path, index=False)
        files[form] = paths
    return files


TRICKY_KINDS: Plan = {
    "floats": "numeric", "ints": "numeric", "wide": "numeric", "words": "categorical",
    "flags": "categorical", "nothing": "numeric", "no_text": "categorical",
    "constant": "numeric", "text_numbers": "numeric", "codes": "categorical",
}  # fmt: skip


@pytest.mark.parametrize(
    ("form", "declared", "settings"),
    [
        ("parquet", True, SETTINGS),
        ("parquet", False, SKETCHED),
        ("csv", True, SKETCHED),
        ("csv", False, SETTINGS),
    ],
    ids=[
        "parquet-declared-exact",
        "parquet-inferred-sketched",
        "csv-declared-sketched",
        "csv-inferred-exact",
    ],
)
def test_tricky_data_same_summaries_and_decisions(
    spark: SparkSession,
    tricky_files: dict[str, tuple[Path, Path]],
    form: str,
    declared: bool,
    settings: SummarySettings,
) -> None:
    paths = tricky_files[form]
    plan: Plan = {**TRICKY_KINDS, "day": None} if declared else dict.fromkeys(tricky(0, 0).columns)
    expected = summaries(PandasBackend(), paths, plan, settings)
    wide = expected[0].features["wide"]
    assert isinstance(wide, NumericSummary)
    assert (wide.sketch is not None) == (settings is SKETCHED)
    assert expected[0].features["day"].kind == "datetime"
    config = DriftConfig(correction="none")
    report = compare(*expected, config)
    assert {f.feature for f in report.features if f.status == "tested"} >= {"floats", "words"}
    for backend in other_backends(spark):
        got = summaries(backend, paths, plan, settings)
        for side in (0, 1):
            for name in plan:
                assert got[side].features[name] == expected[side].features[name], (backend, name)
        assert got == expected
        assert compare(*got, config).to_dict() == report.to_dict()


def test_spark_counts_as_an_independent_count_says(
    spark: SparkSession, tricky_files: dict[str, tuple[Path, Path]]
) -> None:
    """Not only equal to pandas: right. Counted here by hand from the frame written."""
    frame = tricky(1, 0.0)
    reference, _ = summaries(SparkBackend(spark), tricky_files["parquet"], TRICKY_KINDS, SETTINGS)
    floats = reference.features["floats"]
    assert isinstance(floats, NumericSummary) and floats.exact is not None
    finite = frame["floats"][np.isfinite(frame["floats"])]
    assert floats.missing == len(frame) - len(finite)  # NaN, inf and -inf
    assert floats.exact.counts.sum() == len(finite)
    assert dict(zip(floats.exact.values, floats.exact.counts, strict=True))[0.0] == (
        (finite == 0).sum()  # -0.0 and 0.0 are one value
    )
    words = reference.features["words"]
    assert words.missing == frame["words"].isna().sum()  # type: ignore[union-attr]
    assert words.counts[""] == (frame["words"] == "").sum()  # type: ignore[union-attr]
    assert words.counts["東京"] == (frame["words"] == "東京").sum()  # type: ignore[union-attr]
    assert set(reference.features["flags"].counts) == {"True", "False"}  # type: ignore[union-attr]
    assert set(reference.features["codes"].counts) == {"1", "2", "3", "4"}  # type: ignore[union-attr]


# --- errors a person can act on ---------------------------------------------------------------


def test_text_that_is_no_number_names_its_row(spark: SparkSession, tmp_path: Path) -> None:
    path = tmp_path / "batch.parquet"
    pd.DataFrame({"x": ["1.5", "2", "NaN", "abc"]}).to_parquet(path, index=False)
    message = "batch: column 'x' is numeric, but data row 3 holds 'NaN'"
    for backend in (PandasBackend(), SparkBackend(spark)):
        with pytest.raises(DriftInputError) as raised:
            backend.summarise(path, {"x": "numeric"}, SETTINGS, "batch")
        assert str(raised.value) == message


def test_missing_file_is_one_line(spark: SparkSession, tmp_path: Path) -> None:
    with pytest.raises(DriftInputError, match="no such file"):
        SparkBackend(spark).summarise(tmp_path / "gone.parquet", {}, SETTINGS, "batch")


def test_the_active_session_is_used(spark: SparkSession) -> None:
    assert spark_session() is spark


def test_no_java_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # a folder without java
    with pytest.raises(DriftInputError) as raised:
        backend_named("spark")
    assert str(raised.value) == JAVA_HINT


def test_no_java_is_one_line_from_the_cli(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "drift", "compare", *map(str, BUNDLED), "--backend", "spark"]
    environment = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    done = subprocess.run(
        command,
        env=environment | {"PATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 1
    assert done.stderr == f"Error: {JAVA_HINT}\n"


def test_no_pyspark_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # what a failed import leaves
    monkeypatch.delitem(sys.modules, "drift.backends.spark")
    with pytest.raises(DriftInputError, match=r"^backend 'spark' is not installed \("):
        backend_named("spark")


def test_a_java_that_does_not_start_is_one_line(tmp_path: Path) -> None:
    """A JAVA_HOME without a working java: Spark cannot start, and says so in one line (its
    own process: this one's Spark is running)."""
    java_home = tmp_path / "jdk"
    (java_home / "bin").mkdir(parents=True)
    (java_home / "bin" / "java").write_text("#!/bin/sh\nexit 1\n")
    (java_home / "bin" / "java").chmod(0o755)
    script = (
        "from pathlib import Path\n"
        "from drift import DriftInputError\n"
        "from drift.backends import backend_named\n"
        "from drift.summary import SummarySettings\n"
        "try:\n"
        f"    backend_named('spark').summarise(Path({str(BUNDLED[0])!r}), {{}}, "
        "SummarySettings(), 'batch')\n"
        "except DriftInputError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "JAVA_HOME": str(java_home)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("backend 'spark' could not start Spark: ")
    assert len(done.stdout.strip().splitlines()) == 1
