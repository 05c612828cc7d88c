"""The Spark backend: a GROUP BY per column on a Spark cluster, or on this machine (local mode).

For batches that outgrow one machine. Only (value, count) pairs leave Spark, and they become
summaries through ``drift.summary``'s constructors, as with every backend. A numeric column
with more than ``max_distinct`` distinct values is grouped by its sketch cell instead
(``spark_grid``: the same numbers as ``drift.summary.grid``), with each cell's smallest and
largest value, so no more than the sketch ever reaches the driver.

The session is the active one (``spark-submit``, a notebook) or a new one configured as Spark
configures itself: ``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS`` (e.g. ``--master
spark://host:7077 pyspark-shell``); local mode on every core by default. Spark 4 needs a
Java 17 or 21 runtime: ``JAVA_HOME``, or ``java`` on ``PATH``.

CSV is read as text and typed as the pandas backend types it (pandas' missing-value words,
``true``/``false`` columns as booleans, numbers when every value parses as one), quoted
values as RFC 4180 has them (spanning lines too); a CSV file is then read in one task, so
Parquet is the input that spreads over a cluster.
"""

from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from py4j.protocol import Py4JError
from pyspark.errors import PySparkException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from drift.dataset import batch_format, read_header
from drift.errors import DriftInputError
from drift.stats import Distinct
from drift.summary import (
    BatchSummary,
    DateSummary,
    FeatureSummary,
    NumericSummary,
    Plan,
    Sketch,
    SummaryKind,
    SummarySettings,
    categorical_summary,
    merge,
    numeric_summary,
)

# pandas' read_csv reads these words as missing (pandas._libs.parsers.STR_NA_VALUES).
CSV_MISSING = (
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
)  # fmt: skip
# ... and these as booleans, when a column's values are nothing else.
CSV_BOOLEANS = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False,
                "false": False}  # fmt: skip
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"  # as the pandas backend's match: at the start
NUMERIC_TYPES = (T.NumericType, T.BooleanType)
DATE_TYPES = (T.DateType, T.TimestampType, T.TimestampNTZType)
VALUE, COUNT, LOW, HIGH = "value", "count", "low", "high"
JAVA_HINT = (
    "backend 'spark' needs a Java 17 or 21 runtime: set JAVA_HOME or put java on PATH "
    "(Debian: apt-get install openjdk-17-jre-headless)"
)


class SparkBackend:
    name = "spark"

    def __init__(self, session: SparkSession | None = None) -> None:
        if session is None and not (os.environ.get("JAVA_HOME") or shutil.which("java")):
            raise DriftInputError(JAVA_HINT)
        self._session = session

    @property
    def session(self) -> SparkSession:
        if self._session is None:
            self._session = spark_session()
        return self._session

    def header(self, path: Path) -> list[str]:
        return read_header(path)

    def summarise(
        self, path: Path, plan: Plan, settings: SummarySettings, label: str
    ) -> BatchSummary:
        header = read_header(path)  # a missing or unreadable file: the readers' one line
        try:
            batch = _read(self.session, path, header)
            if batch.csv:  # parsed once, not once per column
                batch.frame.persist()
            try:
                kinds = _kinds(batch, {name: kind for name, kind in plan.items() if name in header})
                features = {
                    name: _summarise_column(batch, name, kind, settings, label)
                    for name, kind in kinds.items()
                }
            finally:
                batch.frame.unpersist()
        except (PySparkException, Py4JError) as exc:  # Spark's errors, or its JVM's end
            raise DriftInputError(f"{label}: Spark failed: {_first_line(exc)}") from None
        return BatchSummary(tuple(header), features)


def spark_session() -> SparkSession:
    """The active session, or a new one: no progress bars on the console, warnings only."""
    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.appName("drift").config("spark.ui.showConsoleProgress", "false")
    try:
        with warnings.catch_warnings():  # PySpark's pandas-version notice: we use no pandas API
            warnings.filterwarnings("ignore", "PySpark does not yet", FutureWarning)
            session = builder.getOrCreate()
    except PySparkException as exc:  # e.g. JAVA_GATEWAY_EXITED: a Java that does not start
        raise DriftInputError(
            f"backend 'spark' could not start Spark: {_first_line(exc)}"
        ) from None
    session.sparkContext.setLogLevel("WARN")
    return session


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# --- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    frame: DataFrame
    csv: bool  # all text, typed here as pandas' CSV reader types it
    untyped: frozenset[str]  # Parquet columns of nothing but nulls (pandas: objects)

    def data_type(self, name: str) -> T.DataType:
        return T.NullType() if name in self.untyped else self.frame.schema[name].dataType


def _read(spark: SparkSession, path: Path, header: list[str]) -> _Batch:
    """The batch with the pandas backend's column names; CSV as text, pandas' missing words
    as nulls."""
    if batch_format(path) == "parquet":
        # Spark reads Parquet's null type as integers; pandas as objects (categorical).
        untyped = frozenset(f.name for f in pq.read_schema(path) if pa.types.is_null(f.type))
        return _Batch(spark.read.parquet(str(path)), False, untyped)
    # As pandas and DuckDB read CSV (RFC 4180): a quoted value may span lines, a quote inside
    # one is doubled and a backslash is text. multiLine parses a file in one task (it cannot
    # be split at line ends): Parquet is the input that spreads over a cluster.
    frame = spark.read.csv(
        str(path), header=True, inferSchema=False, encoding="UTF-8", multiLine=True, escape='"'
    )
    frame = frame.toDF(*header)  # pandas' names (duplicates get .1, .2 ...)
    texts = [F.when(~_col(n).isin(*CSV_MISSING), _col(n)).alias(n) for n in header]
    return _Batch(frame.select(texts), True, frozenset())


def _col(name: str) -> Column:
    """A column by its exact name (dots and backticks are part of it, not syntax)."""
    return F.col("`" + name.replace("`", "``") + "`")


# --- one column ---------------------------------------------------------------------------------


def _summarise_column(
    batch: _Batch, name: str, kind: SummaryKind, settings: SummarySettings, label: str
) -> FeatureSummary:
    frame, column, data_type = batch.frame, _col(name), batch.data_type(name)
    is_text = isinstance(data_type, T.StringType)
    if kind == "datetime":
        rows, present = frame.agg(F.count(F.lit(1)), F.count(column)).first()  # type: ignore[misc]
        return DateSummary(rows - present, rows)
    if kind == "numeric":
        numbers = _as_number(frame, column, name, label) if is_text else column.cast("double")
        return _numeric_summary(frame.select(numbers.alias(VALUE)), settings)
    if isinstance(data_type, T.FloatType | T.DoubleType):  # NaN is missing, as for pandas
        column = F.when(~F.isnan(column), column)
    counts = frame.groupBy(column.alias(VALUE)).count().toArrow().to_pydict()
    missing = sum(c for v, c in zip(counts[VALUE], counts[COUNT], strict=True) if v is None)
    pairs = [(v, c) for v, c in zip(counts[VALUE], counts[COUNT], strict=True) if v is not None]
    categories = [v for v, _ in pairs]
    if batch.csv:
        categories = _typed_as_pandas(categories)
    return categorical_summary(categories, [c for _, c in pairs], missing)


def _typed_as_pandas(texts: list[str]) -> list[object]:
    """CSV categories typed as pandas' reader types a column's categories: booleans when all
    are, numbers when all are (so "1" and "1.0" are one category), text otherwise."""
    if all(text in CSV_BOOLEANS for text in texts):
        return [CSV_BOOLEANS[text] for text in texts]
    try:
        return [float(text) for text in texts]
    except ValueError:
        return list(texts)


def _kinds(batch: _Batch, plan: Plan) -> dict[str, SummaryKind]:
    """Each planned column's kind: the declared one, or the pandas backend's answer
    (drift.backends.pandas.infer_kind) from Spark's type and, for text, from the values (all
    the batch's text columns in one pass)."""
    kinds: dict[str, SummaryKind] = {}
    texts = []
    for name, kind in plan.items():
        data_type = batch.data_type(name)
        if kind is not None:
            kinds[name] = kind
        elif isinstance(data_type, T.BooleanType):
            kinds[name] = "categorical"
        elif isinstance(data_type, NUMERIC_TYPES):
            kinds[name] = "numeric"
        elif isinstance(data_type, DATE_TYPES):
            kinds[name] = "datetime"
        elif isinstance(data_type, T.StringType):
            texts.append(name)
        else:
            kinds[name] = "categorical"
    if texts:
        counted = batch.frame.agg(F.count(F.lit(1)), *_text_counts(texts)).first()
        assert counted is not None
        rows = counted[0]
        for i, name in enumerate(texts):
            present, numbers, dates = counted[1 + 3 * i : 4 + 3 * i]
            kinds[name] = _text_kind(rows, present, numbers, dates, batch.csv)
    return {name: kinds[name] for name in plan}


def _text_counts(names: list[str]) -> list[Column]:
    """Per text column: values, values that are numbers, values that start as ISO dates."""
    counts = []
    for name in names:
        column = _col(name)
        number = column.try_cast("double")
        counts += [
            F.count(column),
            F.count(F.when(number.isNotNull() & ~F.isnan(number), 1)),
            F.count(F.when(column.rlike(ISO_DATE), 1)),
        ]
    return counts


def _text_kind(rows: int, present: int, numbers: int, dates: int, csv: bool) -> SummaryKind:
    if present == 0:  # pandas reads an empty CSV column as floats, a header alone as text
        return "numeric" if csv and rows else "categorical"
    if numbers == present:
        return "numeric"
    return "datetime" if dates == present else "categorical"


def _as_number(frame: DataFrame, column: Column, name: str, label: str) -> Column:
    """Text as numbers; text that is no number (NaN included, as pandas reads it) is refused
    naming its data row, as the pandas backend does."""
    number = column.try_cast("double")
    bad = column.isNotNull() & (number.isNull() | F.isnan(number))
    order = F.monotonically_increasing_id()  # increases in file order, with gaps
    indexed = frame.select(column.alias(VALUE), bad.alias("bad"), order.alias("order"))
    first = indexed.where("bad").orderBy("order").select(VALUE, "order").first()
    if first is not None:
        row = indexed.where(F.col("order") < first["order"]).count()
        raise DriftInputError(
            f"{label}: column {name!r} is numeric, but data row {row + 1} holds {first[VALUE]!r}"
        )
    return number


def _numeric_summary(values: DataFrame, settings: SummarySettings) -> NumericSummary:
    """Exact counts per value when there are at most ``max_distinct`` of them; otherwise the
    sketch, grouped by cell in Spark. Non-finite values (null, NaN, +-inf: at most 4 groups)
    are counted as missing by ``numeric_summary``."""
    limit = settings.max_distinct + 5  # reached: more than max_distinct finite values
    groups = values.groupBy(VALUE).count().limit(limit).toArrow()
    if groups.num_rows < limit:
        counted = groups.to_pydict()
        numbers = np.array(counted[VALUE], dtype=float)  # None becomes NaN: missing
        return numeric_summary(numbers, np.array(counted[COUNT]), 0, settings)
    return _sketch(values, settings)


def _sketch(values: DataFrame, settings: SummarySettings) -> NumericSummary:
    value = F.col(VALUE)
    finite = value.isNotNull() & ~F.isnan(value) & (F.abs(value) != float("inf"))
    cell = F.when(finite, spark_grid(value, settings.sketch_bits))
    cells = (
        values.groupBy(cell.alias("cell"))
        .agg(F.count(F.lit(1)).alias(COUNT), F.min(value).alias(LOW), F.max(value).alias(HIGH))
        .toArrow()
        .to_pydict()
    )
    missing = sum(c for k, c in zip(cells["cell"], cells[COUNT], strict=True) if k is None)
    rows = [i for i, k in enumerate(cells["cell"]) if k is not None]

    def array(key: str, dtype: Any) -> np.ndarray:
        return np.array([cells[key][i] for i in rows], dtype=dtype)

    # Each cell is a partial sketch: merging them sorts the cells (drift.summary.merge).
    part = Sketch(
        settings.sketch_bits,
        Distinct(array("cell", float), array(COUNT, np.int64)),
        array(LOW, float) + 0.0,  # -0.0 is 0.0, as numeric_summary has it
        array(HIGH, float) + 0.0,
    )
    merged = merge([NumericSummary(None, part, missing)], settings)
    assert isinstance(merged, NumericSummary)
    return merged


def spark_grid(x: Column, bits: int) -> Column:
    """``drift.summary.grid`` in Spark SQL: ``x`` rounded to ``bits`` significant bits, half to
    even; x finite. Exact: log2 only guesses the binary exponent, which is then corrected; the
    scaling is by powers of two, split in two factors so that none overflows (subnormals)."""
    two = F.lit(2.0)
    size = F.abs(x)
    guess = (F.floor(F.log2(size)) + 1).cast("int")
    exponent = (
        guess
        + F.when(size >= F.pow(two, guess), 1).otherwise(0)
        - F.when(size < F.pow(two, guess - 1), 1).otherwise(0)
    )  # 0.5 <= size / 2**exponent < 1

    def times_power_of_two(value: Column, power: Column) -> Column:
        half = (power / 2).cast("int")
        return value * F.pow(two, half) * F.pow(two, power - half)

    mantissa = F.bround(times_power_of_two(x, F.lit(bits) - exponent), 0)
    return F.when(x == 0, F.lit(0.0)).otherwise(
        times_power_of_two(mantissa, exponent - F.lit(bits))
    )
