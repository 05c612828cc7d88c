"""Reading batches from CSV and Parquet files, with errors a person can act on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from drift.batches import DISABLED_SUFFIX, PARQUET_SUFFIXES
from drift.config import DriftConfig
from drift.errors import DriftInputError, NothingTestedError
from drift.labels import shown
from drift.summary import category_label

BatchFormat = Literal["csv", "parquet"]
# Separators that a comma-separated reader takes for part of a single column's name.
OTHER_SEPARATORS = {";": "';'", "\t": "tab"}


def batch_format(path: Path) -> BatchFormat:
    """Parquet for ``.parquet`` and ``.pq`` files (``.off`` added or not), CSV otherwise."""
    name = path.name.removesuffix(DISABLED_SUFFIX).lower()
    return "parquet" if name.endswith(PARQUET_SUFFIXES) else "csv"


def read_batch(path: Path, config: DriftConfig | None = None) -> pd.DataFrame:
    """Load a CSV or Parquet batch. CSV columns declared categorical are read as categories of
    their exact text, so integer codes such as 1, 2, 3 stay the same categories even when some
    are missing."""
    columns = (config.columns if config else None) or {}
    return read_frame(path, categorical=[n for n, kind in columns.items() if kind == "categorical"])


def read_frame(
    path: Path, categorical: Collection[str] = (), columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """The batch's ``columns`` (all when None). CSV columns named in ``categorical`` are read
    straight into categories (no column of strings built, then converted), labelled as
    drift.summary does: numbers when every category is one, so "1" and "1.0" are one."""
    if batch_format(path) == "parquet":
        return _read_parquet(path, columns)
    header = read_header(path)
    dtype = {name: "category" for name in categorical if name in header}
    # Only the wanted columns, when there are some: with none, the whole file is still read,
    # so that a file that is no CSV says so.
    wanted = list(columns) if columns and set(columns) < set(header) else None
    frame = _read_csv(path, dtype=dtype, usecols=wanted)
    for name in dtype:  # pandas typed the categories (numbers, booleans): label them as text
        labels = frame[name].cat.categories.map(category_label)
        if labels.is_unique:
            frame[name] = frame[name].cat.rename_categories(labels)
    return frame


def read_header(path: Path) -> list[str]:
    """The column names of a batch, as read_batch names them, without reading its rows."""
    if batch_format(path) == "parquet":
        import pyarrow.parquet as pq

        return [str(name) for name in _parquet(path, lambda: pq.read_schema(path).names)]
    return [str(name) for name in _read_csv(path, nrows=0).columns]


def read_parquet_table(path: Path, names: Collection[str]) -> tuple[list[str], Any]:
    """A Parquet batch's header and, as one Arrow table, its columns named in ``names`` (in
    the file's order): the file's footer is parsed once, and no data frame is built."""
    import pyarrow.parquet as pq

    def read() -> tuple[list[str], Any]:
        with pq.ParquetFile(path) as parquet:
            header = [str(name) for name in parquet.schema_arrow.names]
            return header, parquet.read(columns=[name for name in header if name in names])

    return _parquet(path, read)


def check_separator(columns: Sequence[str], label: str) -> None:
    """A ';'- or tab-separated file reads as one column whose name holds the separators:
    say so, rather than test (or skip) that one column of text."""
    if len(columns) != 1:
        return
    for separator, name in OTHER_SEPARATORS.items():
        if separator in columns[0]:
            raise NothingTestedError(
                f"nothing could be tested: {label} looks {name}-separated (its header is the "
                f"single column {shown(columns[0])}); CSV must be comma-separated"
            )


def _read_csv(path: Path, **options: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(path, index_col=False, **options)
    except FileNotFoundError:
        raise DriftInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DriftInputError(f"{path}: not a readable CSV file ({_reason(exc)})") from None


def _read_parquet(path: Path, columns: Sequence[str] | None) -> pd.DataFrame:
    return _parquet(path, lambda: pd.read_parquet(path, columns=columns))


def _parquet(path: Path, read: Any) -> Any:
    import pyarrow as pa

    try:
        return read()
    except FileNotFoundError:
        raise DriftInputError(f"{path}: no such file") from None
    except (OSError, pa.ArrowException) as exc:
        raise DriftInputError(f"{path}: not a readable Parquet file ({_reason(exc)})") from None


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
