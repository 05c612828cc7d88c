"""The backends that summarise a batch file: one module each, one small interface.

A backend reads a batch (CSV or Parquet) and hands back its header and a summary per planned
column (``drift.summary``); the engine tests the summaries, whoever computed them. Every backend
builds its summaries with ``drift.summary``'s constructors from (value, count) pairs, so
identical data gives identical summaries on every backend.

    pandas  the whole batch in memory: quickest for small files (Parquet straight from its
            Arrow table)
    duckdb  embedded SQL, GROUP BY per column, spilling to disk past its memory limit: the
            default for large files
    spark   PySpark, for batches that outgrow one machine (``pip install .[spark]``)

``auto`` picks DuckDB for Parquet files of ``AUTO_DUCKDB_PARQUET_BYTES`` or more and for
other files of ``AUTO_DUCKDB_BYTES`` or more, pandas otherwise. Backends load on first use:
choosing pandas never imports DuckDB or PySpark.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import Protocol

from drift.dataset import batch_format
from drift.errors import DriftInputError
from drift.summary import BatchSummary, Plan, SummarySettings

# Module and class of each backend.
BACKENDS = {
    "pandas": ("drift.backends.pandas", "PandasBackend"),
    "duckdb": ("drift.backends.duckdb", "DuckDBBackend"),
    "spark": ("drift.backends.spark", "SparkBackend"),
}
BACKEND_CHOICES = ("auto", *BACKENDS)
# From this size on a CSV file goes to DuckDB under "auto": pandas needs several times a file's
# size in memory, DuckDB streams it.
AUTO_DUCKDB_BYTES = 256 * 1024 * 1024
# From this size on a Parquet file goes to DuckDB under "auto". Below it DuckDB's fixed cost,
# about 4 ms a query and two a column (50 ms for a 13-column file of 4,000 rows), outweighs
# the work, which pandas does from the Arrow table in 2-3 ms; above it, the decoded table that
# pandas holds grows (about 240 MiB for the 11 MB of bench/'s pair at 100x) where DuckDB's
# memory stays flat. 1 MiB is about 120,000 rows of the bundled data.
AUTO_DUCKDB_PARQUET_BYTES = 1024 * 1024


class Backend(Protocol):
    """What the engine needs from a backend. ``label`` names the batch in error messages."""

    name: str

    def header(self, path: Path) -> list[str]:
        """The batch's column names, in order, without reading its rows."""
        ...

    def summarise(
        self, path: Path, plan: Plan, settings: SummarySettings, label: str
    ) -> BatchSummary:
        """The batch's header and a summary of each planned column it has (absent ones are
        left out). A kind of None is inferred from the data as ``drift.backends.pandas``
        does; a column planned numeric whose text is no number is a DriftInputError naming
        the data row and the value."""
        ...


def backend_named(name: str) -> Backend:
    if name not in BACKENDS:
        raise DriftInputError(f"backend must be one of {', '.join(BACKEND_CHOICES)}, got {name!r}")
    module, cls = BACKENDS[name]
    try:
        loaded = import_module(module)
    except ImportError as exc:
        raise DriftInputError(f"backend {name!r} is not installed ({exc})") from None
    return getattr(loaded, cls)()


def choose_backend(name: str, *paths: Path) -> Backend:
    """The backend called ``name``; for "auto", the one ``auto_backend`` names."""
    return backend_named(auto_backend(*paths) if name == "auto" else name)


def auto_backend(*paths: Path) -> str:
    """What "auto" picks for these batches: DuckDB when one of them is large for its format,
    pandas otherwise."""
    limits = {"parquet": AUTO_DUCKDB_PARQUET_BYTES, "csv": AUTO_DUCKDB_BYTES}
    large = any(_size(p) >= limits[batch_format(p)] for p in paths)
    return "duckdb" if large else "pandas"


def not_a_number(label: str, column: str, row: int, value: object) -> DriftInputError:
    """The error for text in a numeric column: the batch, the column, the data row (from 0
    here, from 1 for a person) and the value."""
    return DriftInputError(
        f"{label}: column {column!r} is numeric, but data row {row + 1} holds {value!r}"
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # the backend's reader says what is wrong with it
