"""Reading batches from CSV files, with errors a person can act on."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from drift.config import DriftConfig
from drift.errors import DriftInputError


def read_batch(path: Path, config: DriftConfig | None = None) -> pd.DataFrame:
    """Load a CSV batch. Columns declared categorical become categories of their exact text,
    so integer codes such as 1, 2, 3 stay the same categories even when some are missing."""
    columns = (config.columns if config else None) or {}
    text_columns = {name: "str" for name, kind in columns.items() if kind == "categorical"}
    try:
        frame = pd.read_csv(path, dtype=text_columns, index_col=False)
    except FileNotFoundError:
        raise DriftInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).strip().splitlines()[0]
        raise DriftInputError(f"{path}: not a readable CSV file ({reason})") from None
    # Counting categories is then a matter of integers, for the engine and anyone else.
    return frame.astype({name: "category" for name in text_columns if name in frame})


def read_header(path: Path) -> list[str]:
    """The column names of a CSV batch, without reading its rows."""
    try:
        with path.open(newline="") as f:
            header = next(csv.reader(f), None)
    except FileNotFoundError:
        raise DriftInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DriftInputError(f"{path}: not a readable CSV file ({exc})") from None
    if not header:
        raise DriftInputError(f"{path}: not a readable CSV file (no header line)")
    return header
