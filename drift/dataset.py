"""Reading batches from CSV files, with errors a person can act on."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from drift.config import DriftConfig
from drift.errors import DriftInputError, NothingTestedError
from drift.labels import shown

# Separators that a comma-separated reader takes for part of a single column's name.
OTHER_SEPARATORS = {";": "';'", "\t": "tab"}


def read_batch(path: Path, config: DriftConfig | None = None) -> pd.DataFrame:
    """Load a CSV batch. Columns declared categorical become categories of their exact text,
    so integer codes such as 1, 2, 3 stay the same categories even when some are missing."""
    columns = (config.columns if config else None) or {}
    text_columns = {name: "str" for name, kind in columns.items() if kind == "categorical"}
    frame = _read_csv(path, dtype=text_columns)
    # Counting categories is then a matter of integers, for the engine and anyone else.
    return frame.astype({name: "category" for name in text_columns if name in frame})


def read_header(path: Path) -> list[str]:
    """The column names of a CSV batch, as read_batch names them, without reading its rows."""
    return [str(name) for name in _read_csv(path, nrows=0).columns]


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
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise DriftInputError(f"{path}: not a readable CSV file ({reason})") from None
