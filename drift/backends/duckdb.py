"""The DuckDB backend: embedded SQL, one GROUP BY GROUPING SETS for all columns, out of core on
one machine.

DuckDB reads Parquet by column and streams CSV; past ``memory_limit`` it spills to
``temp_directory``, so a batch larger than memory is summarised all the same. A CSV file is
loaded once into a temporary table of text columns (read as pandas reads them: the same
missing-value spellings, comma-separated, numbers parsed from the text), then every column is
counted per value in one pass. Kinds are inferred by ``drift.backends.pandas``'s rules.

    DRIFT_DUCKDB_MEMORY_LIMIT  DuckDB's memory_limit              default 1GB
    DRIFT_DUCKDB_TEMP_DIR      where it spills past that limit     default <tmp>/drift-duckdb
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import duckdb
import numpy as np
from pandas._libs.parsers import STR_NA_VALUES

from drift.backends import not_a_number
from drift.backends.pandas import ISO_DATE
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

    def __init__(self, memory_limit: str | None = None, temp_directory: Path | None = None) -> None:
        self.memory_limit = memory_limit or os.environ.get(MEMORY_LIMIT_ENV, DEFAULT_MEMORY_LIMIT)
        default_temp = Path(tempfile.gettempdir()) / "drift-duckdb"
        self.temp_directory = temp_directory or Path(os.environ.get(TEMP_DIR_ENV, default_temp))
        self._database: duckdb.DuckDBPyConnection | None = None

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
                features = _summarise_columns(con, wanted, types, plan, csv, settings, label)
            except duckdb.OutOfMemoryException:
                raise DriftInputError(
                    f"{label}: DuckDB ran out of memory within its limit of {self.memory_limit} "
                    f"(set {MEMORY_LIMIT_ENV} higher)"
                ) from None
        return BatchSummary(tuple(header), features)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own (its temporary tables die with it) to the backend's one
        in-memory database: opening a database costs some 15 ms, so batches share one."""
        if self._database is None:
            self.temp_directory.mkdir(parents=True, exist_ok=True)
            self._database = duckdb.connect(
                config={
                    "memory_limit": self.memory_limit,
                    "temp_directory": str(self.temp_directory),
                    "preserve_insertion_order": False,  # less memory; a CSV load sets it
                }
            )
        return self._database.cursor()


def _load(
    con: duckdb.DuckDBPyConnection, path: Path, header: Sequence[str], wanted: Sequence[str],
    csv: bool,
) -> None:  # fmt: skip
    """The batch's wanted columns as the table ``batch``: a view of a Parquet file, a
    temporary table of a CSV file's text (read once, then counted)."""
    columns = ", ".join(map(_name, wanted)) or "NULL AS nothing"
    if not csv:
        reader = f"read_parquet({_text(str(path))}, file_row_number = true)"
        _run(
            con,
            path,
            "Parquet",
            f"CREATE TEMP VIEW {TABLE} AS SELECT {_ROW[csv]}, {columns} FROM {reader}",
        )
        return
    nulls = ", ".join(_text(value) for value in sorted(STR_NA_VALUES))
    names = ", ".join(_text(name) for name in header)  # pandas' names for repeated ones
    reader = (
        f"read_csv({_text(str(path))}, header = true, all_varchar = true, delim = ',', "
        f"quote = '\"', escape = '\"', nullstr = [{nulls}], names = [{names}])"
    )
    con.execute("SET preserve_insertion_order = true")  # rowid: the data row, for errors
    try:
        _run(con, path, "CSV", f"CREATE TEMP TABLE {TABLE} AS SELECT {columns} FROM {reader}")
    finally:  # a setting of the database, which later batches share
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


def _summarise_columns(
    con: duckdb.DuckDBPyConnection, wanted: Sequence[str], types: dict[str, str], plan: Plan,
    csv: bool, settings: SummarySettings, label: str,
) -> dict[str, FeatureSummary]:  # fmt: skip
    """Every column counted per value in one statement: a GROUP BY GROUPING SETS, one set a
    column, that DuckDB runs in one pass over the batch into the temporary table ``counted``
    (g: the set's grouping id, c<i>: column i's value, n: its count)."""
    if not wanted:
        return {}
    kinds = _kinds(con, wanted, types, plan, csv)
    _check_numbers(con, [n for n in wanted if kinds[n] == "numeric" and _is_text(types[n])],
                   label, _ROW[csv])  # fmt: skip
    keys = [_key(_name(name), kinds[name], types[name]) for name in wanted]
    groups = [_grouping_id(i, len(wanted)) for i in range(len(wanted))]
    columns = [f"c{i}" for i in range(len(wanted))]
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {COUNTED} AS SELECT grouping({', '.join(columns)}) AS g, "
        f"{', '.join(columns)}, count(*) AS n FROM (SELECT "
        f"{', '.join(f'{key} AS {c}' for key, c in zip(keys, columns, strict=True))} "
        f"FROM {TABLE}) GROUP BY GROUPING SETS ({', '.join(f'({c})' for c in columns)})"
    )
    numeric = [i for i, name in enumerate(wanted) if kinds[name] == "numeric"]
    distinct = con.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE g = {groups[i]} AND isfinite(c{i}))" for i in numeric)
        + f" FROM {COUNTED}"
    ).fetchone() if numeric else ()  # fmt: skip
    sketched = {i for i, count in zip(numeric, distinct or (), strict=True)
                if count > settings.max_distinct}  # fmt: skip
    counted: dict[int, list[tuple]] = {group: [] for group in groups}
    # Numbers are fetched as arrays, column by column (_numeric); the rest as rows here.
    kept = ", ".join(str(groups[i]) for i in range(len(wanted)) if i not in numeric)
    if kept:
        for row in con.execute(f"SELECT * FROM {COUNTED} WHERE g IN ({kept})").fetchall():
            counted[row[0]].append(row)
    features: dict[str, FeatureSummary] = {}
    for i, name in enumerate(wanted):
        rows = [(row[1 + i], row[-1]) for row in counted[groups[i]]]
        if i in sketched:
            features[name] = _sketched(con, f"c{i}", groups[i], settings.sketch_bits)
        elif kinds[name] == "datetime":  # grouped by IS NULL
            total = sum(count for _, count in rows)
            features[name] = DateSummary(sum(c for null, c in rows if null), total)
        elif kinds[name] == "numeric":
            features[name] = _numeric(con, f"c{i}", groups[i], settings)
        else:
            features[name] = categorical_summary(
                [value for value, _ in rows], [count for _, count in rows], 0
            )
    return features


def _numeric(
    con: duckdb.DuckDBPyConnection, column: str, group: int, settings: SummarySettings
) -> NumericSummary:
    """A numeric column's counts from ``counted`` as numpy arrays: up to ``max_distinct``
    values, not a Python tuple each. NULL (masked) becomes NaN, which numeric_summary counts
    missing with NaN and infinities."""
    counted = con.execute(f"SELECT {column} AS v, n FROM {COUNTED} WHERE g = {group}").fetchnumpy()
    return numeric_summary(np.ma.filled(counted["v"], np.nan), counted["n"], 0, settings)


def _key(column: str, kind: SummaryKind, sql_type: str) -> str:
    """What a column is counted by: a number (+ 0.0: -0.0 is 0.0, as in drift.summary), the
    category itself, or for a date only whether it is missing."""
    if kind == "datetime":
        return f"{column} IS NULL"
    if kind == "numeric":
        return (_number(column) if _is_text(sql_type) else f"CAST({column} AS DOUBLE)") + " + 0.0"
    return column


def _grouping_id(index: int, width: int) -> int:
    """grouping(c0, ..., c<width-1>) for the set of c<index> alone: a bit a column, the first
    column's the highest, set for the columns not grouped by."""
    return (1 << width) - 1 - (1 << (width - 1 - index))


def _sketched(con: duckdb.DuckDBPyConnection, column: str, group: int, bits: int) -> NumericSummary:
    """Above ``max_distinct`` distinct values a column is counted per sketch cell in SQL, so
    that only the sketch leaves DuckDB (``sql_grid``: drift.summary.grid's numbers)."""
    where = f"FROM {COUNTED} WHERE g = {group}"
    (missing,) = con.execute(
        f"SELECT coalesce(sum(n) FILTER (WHERE {column} IS NULL OR NOT isfinite({column})), 0) "
        + where
    ).fetchone() or (0,)
    cells = con.execute(
        f"SELECT {sql_grid(column, bits)} AS cell, sum(n) AS n, min({column}) AS low, "
        f"max({column}) AS high {where} AND isfinite({column}) GROUP BY cell"
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


def _is_text(sql_type: str) -> bool:
    return sql_type == "VARCHAR"


def _kinds(
    con: duckdb.DuckDBPyConnection, wanted: Sequence[str], types: dict[str, str], plan: Plan,
    csv: bool,
) -> dict[str, SummaryKind]:  # fmt: skip
    """Each column's kind: the plan's, else ``drift.backends.pandas.infer_kind``'s answer for
    the column pandas would read, from its type or, for the rest, one query over them all."""
    kinds: dict[str, SummaryKind] = {}
    unknown = []
    for name in wanted:
        sql_type = types[name]
        if plan[name]:
            kinds[name] = plan[name]
        elif sql_type == "BOOLEAN":
            kinds[name] = "categorical"
        elif sql_type in NUMERIC_TYPES or sql_type.startswith("DECIMAL"):
            kinds[name] = "numeric"
        else:
            unknown.append(name)
    if not unknown:
        return kinds
    counts = ["count(*)"]
    for name in unknown:
        column = _name(name)
        number = _number(column) if _is_text(types[name]) else "NULL"
        iso_date = f"regexp_matches(CAST({column} AS VARCHAR), {_text('^' + ISO_DATE.pattern)})"
        counts += [f"count({column})", f"count({number})", f"count(*) FILTER (WHERE {iso_date})"]
    rows, *found = con.execute(f"SELECT {', '.join(counts)} FROM {TABLE}").fetchone()
    for i, name in enumerate(unknown):
        present, numbers, dates = found[3 * i : 3 * i + 3]
        if present == 0:  # pandas reads an empty CSV column as floats, a header alone as text
            kinds[name] = "numeric" if csv and rows else "categorical"
        elif numbers == present:
            kinds[name] = "numeric"
        elif dates == present:
            kinds[name] = "datetime"
        else:
            kinds[name] = "categorical"
    return kinds


def _check_numbers(
    con: duckdb.DuckDBPyConnection, names: Sequence[str], label: str, row: str
) -> None:
    """Text that is no number in a numeric column: the error names the first such row of the
    first such column."""
    if not names:
        return
    found = []
    for name in names:
        column = _name(name)
        bad = f"FILTER (WHERE {column} IS NOT NULL AND {_number(column)} IS NULL)"
        found += [f"min({row}) {bad}", f"arg_min({column}, {row}) {bad}"]
    first = con.execute(f"SELECT {', '.join(found)} FROM {TABLE}").fetchone()
    for i, name in enumerate(names):
        if first[2 * i] is not None:
            raise not_a_number(label, name, first[2 * i], first[2 * i + 1])


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
