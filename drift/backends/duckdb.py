"""The DuckDB backend: embedded SQL, one GROUP BY per column, out of core on one machine.

DuckDB reads Parquet by column and streams CSV; past ``memory_limit`` it spills to
``temp_directory``, so a batch larger than memory is summarised all the same. A CSV file is
loaded once into a temporary table of text columns (read as pandas reads them: the same
missing-value spellings, comma-separated, numbers parsed from the text), then each column is
counted per value. Kinds are inferred by ``drift.backends.pandas``'s rules.

    DRIFT_DUCKDB_MEMORY_LIMIT  DuckDB's memory_limit              default 1GB
    DRIFT_DUCKDB_TEMP_DIR      where it spills past that limit     default <tmp>/drift-duckdb
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
from pandas._libs.parsers import STR_NA_VALUES

from drift.backends import not_a_number
from drift.backends.pandas import ISO_DATE
from drift.config import Kind
from drift.dataset import batch_format, read_header
from drift.errors import DriftInputError
from drift.summary import (
    BatchSummary,
    DateSummary,
    FeatureSummary,
    NumericSummary,
    Plan,
    SummaryKind,
    SummarySettings,
    categorical_summary,
    numeric_summary,
    sketched_summary,
)

MEMORY_LIMIT_ENV, TEMP_DIR_ENV = "DRIFT_DUCKDB_MEMORY_LIMIT", "DRIFT_DUCKDB_TEMP_DIR"
DEFAULT_MEMORY_LIMIT = "1GB"
NUMERIC_TYPES = (
    "TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
    "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE",
)  # fmt: skip
TABLE, COUNTED = "batch", "counted"
# A row's number in the file, from 0: the CSV table's insertion order, Parquet's own count.
_ROW = {True: "rowid", False: "file_row_number"}


class DuckDBBackend:
    name = "duckdb"

    def __init__(self, memory_limit: str | None = None, temp_directory: Path | None = None):
        self.memory_limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
        default_temp = Path(tempfile.gettempdir()) / "drift-duckdb"
        self.temp_directory = temp_directory or Path(os.environ.get(TEMP_DIR_ENV, default_temp))

    def header(self, path: Path) -> list[str]:
        return read_header(path)

    def summarise(
        self, path: Path, plan: Plan, settings: SummarySettings, label: str
    ) -> BatchSummary:
        header = read_header(path)
        wanted = [name for name in header if name in plan]
        csv = batch_format(path) == "csv"
        with self._connect() as con:
            _load(con, path, header, wanted, csv)
            types = dict(
                con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {TABLE})").fetchall()
            )
            try:
                features = {
                    name: _summarise_column(
                        con, name, types[name], plan[name], csv, settings, label
                    )
                    for name in wanted
                }
            except duckdb.OutOfMemoryException:
                raise DriftInputError(
                    f"{label}: DuckDB ran out of memory within its limit of {self.memory_limit} "
                    f"(set {MEMORY_LIMIT_ENV} higher)"
                ) from None
        return BatchSummary(tuple(header), features)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        self.temp_directory.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(
            config={
                "memory_limit": self.memory_limit,
                "temp_directory": str(self.temp_directory),
                "preserve_insertion_order": False,  # less memory; a CSV load sets it
            }
        )


def _load(
    con: duckdb.DuckDBPyConnection, path: Path, header: Sequence[str], wanted: Sequence[str],
    csv: bool,
) -> None:  # fmt: skip
    """The batch's wanted columns as the table ``batch``: a view of a Parquet file, a
    temporary table of a CSV file's text (read once, then counted column by column)."""
    columns = ", ".join(map(_name, wanted)) or "NULL AS nothing"
    if not csv:
        reader = f"read_parquet({_text(str(path))}, file_row_number = true)"
        _run(
            con,
            path,
            "Parquet",
            f"CREATE VIEW {TABLE} AS SELECT {_ROW[csv]}, {columns} FROM {reader}",
        )
        return
    nulls = ", ".join(_text(value) for value in sorted(STR_NA_VALUES))
    names = ", ".join(_text(name) for name in header)  # pandas' names for repeated ones
    reader = (
        f"read_csv({_text(str(path))}, header = true, all_varchar = true, delim = ',', "
        f"quote = '\"', escape = '\"', nullstr = [{nulls}], names = [{names}])"
    )
    con.execute("SET preserve_insertion_order = true")  # rowid: the data row, for errors
    _run(con, path, "CSV", f"CREATE TEMP TABLE {TABLE} AS SELECT {columns} FROM {reader}")
    con.execute("SET preserve_insertion_order = false")


def _run(con: duckdb.DuckDBPyConnection, path: Path, what: str, sql: str) -> None:
    try:
        con.execute(sql)
    except duckdb.IOException as exc:
        if not path.exists():
            raise DriftInputError(f"{path}: no such file") from None
        raise DriftInputError(f"{path}: not a readable {what} file ({_first_line(exc)})") from None
    except duckdb.Error as exc:
        raise DriftInputError(f"{path}: not a readable {what} file ({_first_line(exc)})") from None


def _summarise_column(
    con: duckdb.DuckDBPyConnection, name: str, sql_type: str, kind: Kind | None, csv: bool,
    settings: SummarySettings, label: str,
) -> FeatureSummary:  # fmt: skip
    text = sql_type == "VARCHAR"
    summary_kind = kind or _infer_kind(con, name, sql_type, csv)
    column = _name(name)
    if summary_kind == "datetime":
        rows, present = con.execute(f"SELECT count(*), count({column}) FROM {TABLE}").fetchone()
        return DateSummary(rows - present, rows)
    if summary_kind == "numeric":
        value = _number(column) if text else f"CAST({column} AS DOUBLE)"
        if text:
            _check_numbers(con, name, label, _ROW[csv])
        return _numeric(con, value, settings)
    rows = con.execute(f"SELECT {column}, count(*) FROM {TABLE} GROUP BY {column}").fetchall()
    present = [(category, count) for category, count in rows if category is not None]
    missing = sum(count for category, count in rows if category is None)
    return categorical_summary(
        [category for category, _ in present], [count for _, count in present], missing
    )


def _numeric(
    con: duckdb.DuckDBPyConnection, value: str, settings: SummarySettings
) -> NumericSummary:
    """Counts per distinct value; above ``max_distinct`` of them, counted per sketch cell in
    SQL, so that only the sketch leaves DuckDB (``sql_grid``: drift.summary.grid's numbers)."""
    con.execute(  # + 0.0: -0.0 is 0.0, as in drift.summary
        f"CREATE OR REPLACE TEMP TABLE {COUNTED} AS "
        f"SELECT {value} + 0.0 AS v, count(*) AS n FROM {TABLE} GROUP BY v"
    )
    missing, distinct = con.execute(
        f"SELECT coalesce(sum(n) FILTER (WHERE v IS NULL OR NOT isfinite(v)), 0), "
        f"count(*) FILTER (WHERE isfinite(v)) FROM {COUNTED}"
    ).fetchone() or (0, 0)
    if distinct <= settings.max_distinct:
        counted = con.execute(f"SELECT v, n FROM {COUNTED} WHERE isfinite(v)").fetchnumpy()
        return numeric_summary(counted["v"], counted["n"], int(missing), settings)
    bits = settings.sketch_bits
    cells = con.execute(
        f"SELECT {sql_grid('v', bits)} AS cell, sum(n) AS n, min(v) AS low, max(v) AS high "
        f"FROM {COUNTED} WHERE isfinite(v) GROUP BY cell"
    ).fetchnumpy()
    return sketched_summary(
        bits, cells["cell"], cells["n"], cells["low"], cells["high"], int(missing)
    )


def sql_grid(value: str, bits: int) -> str:
    """drift.summary.grid in DuckDB SQL: ``value`` (finite) rounded to ``bits`` significant
    bits, half to even. log2 only guesses the binary exponent, which is then corrected; powers
    of two scale in two factors, so that none overflows or underflows."""
    size = f"abs({value})"
    guess = f"CAST(floor(log2({size})) + 1 AS INTEGER)"
    exponent = (
        f"({guess} + CASE WHEN {size} >= pow(2.0, {guess}) THEN 1 ELSE 0 END"
        f" - CASE WHEN {size} < pow(2.0, {guess} - 1) THEN 1 ELSE 0 END)"
    )  # 0.5 <= size / 2**exponent < 1
    mantissa = f"round_even({_times_power_of_two(value, f'{bits} - {exponent}')}, 0)"
    scaled = _times_power_of_two(mantissa, f"{exponent} - {bits}")
    return f"CASE WHEN {value} = 0 THEN 0.0 ELSE {scaled} END"


def _times_power_of_two(value: str, power: str) -> str:
    half = f"CAST(({power}) // 2 AS INTEGER)"
    return f"({value} * pow(2.0, {half}) * pow(2.0, ({power}) - {half}))"


def _infer_kind(con: duckdb.DuckDBPyConnection, name: str, sql_type: str, csv: bool) -> SummaryKind:
    """``drift.backends.pandas.infer_kind``'s answer for the column pandas would read."""
    if sql_type == "BOOLEAN":
        return "categorical"
    if sql_type in NUMERIC_TYPES or sql_type.startswith("DECIMAL"):
        return "numeric"
    column = _name(name)
    number = _number(column) if sql_type == "VARCHAR" else "NULL"
    iso_date = f"regexp_matches(CAST({column} AS VARCHAR), {_text('^' + ISO_DATE.pattern)})"
    rows, present, numbers, dates = con.execute(
        f"SELECT count(*), count({column}), count({number}), "
        f"count(*) FILTER (WHERE {iso_date}) FROM {TABLE}"
    ).fetchone()
    if present == 0:  # pandas reads an empty CSV column as floats, a header alone as text
        return "numeric" if csv and rows else "categorical"
    if numbers == present:
        return "numeric"
    if dates == present:
        return "datetime"
    return "categorical"


def _check_numbers(con: duckdb.DuckDBPyConnection, name: str, label: str, row: str) -> None:
    """Text that is no number in a numeric column: the error names the first such row."""
    column = _name(name)
    bad = con.execute(
        f"SELECT {row}, {column} FROM {TABLE} "
        f"WHERE {column} IS NOT NULL AND {_number(column)} IS NULL ORDER BY {row} LIMIT 1"
    ).fetchone()
    if bad is not None:
        raise not_a_number(label, name, bad[0], bad[1])


def _number(column: str) -> str:
    """Text as a number, NULL when it is none, as pandas.to_numeric reads it (which, unlike
    DuckDB's cast, takes no digit separators)."""
    return f"CASE WHEN contains({column}, '_') THEN NULL ELSE TRY_CAST({column} AS DOUBLE) END"


def _name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0]
