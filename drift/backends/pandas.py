"""The pandas backend: the whole batch in memory, then a summary per column.

A Parquet batch is summarised from its Arrow table (``drift.backends.arrow``), the columns of
types it leaves out through a data frame.

Also where a kind left to inference is decided (``infer_kind``); the other backends follow
its rules: booleans are categorical, numbers numeric (text too, when every value parses as a
number), ISO dates a date column (not tested), anything else categorical.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from drift.backends import not_a_number
from drift.backends.arrow import summarise_column
from drift.config import Kind
from drift.dataset import batch_format, read_frame, read_header, read_parquet_table
from drift.stats import distinct
from drift.summary import (
    BatchSummary,
    DateSummary,
    FeatureSummary,
    Plan,
    SummaryKind,
    SummarySettings,
    categorical_summary,
    numeric_summary,
)

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class PandasBackend:
    name = "pandas"

    def header(self, path: Path) -> list[str]:
        return read_header(path)

    def summarise(
        self, path: Path, plan: Plan, settings: SummarySettings, label: str
    ) -> BatchSummary:
        if batch_format(path) == "parquet":
            return self._summarise_parquet(path, plan, settings, label)
        header = read_header(path)
        wanted = [name for name in header if name in plan]
        categorical = [name for name in wanted if plan[name] == "categorical"]
        frame = read_frame(path, categorical=categorical, columns=wanted)
        return replace(summarise_frame(frame, plan, settings, label), columns=tuple(header))

    def _summarise_parquet(
        self, path: Path, plan: Plan, settings: SummarySettings, label: str
    ) -> BatchSummary:
        """From the Arrow table (drift.backends.arrow); the columns of other types through a
        data frame of those columns alone."""
        header, table = read_parquet_table(path, plan)
        features = {}
        for name in table.column_names:
            summary = summarise_column(table.column(name), plan[name], settings)
            if summary is not None:
                features[name] = summary
        rest = [name for name in table.column_names if name not in features]
        if rest:
            frame = read_frame(path, columns=rest)
            features |= summarise_frame(frame, {n: plan[n] for n in rest}, settings, label).features
        return BatchSummary(tuple(header), {n: features[n] for n in plan if n in features})


def summarise_frame(
    frame: pd.DataFrame, plan: Plan, settings: SummarySettings, label: str
) -> BatchSummary:
    """A data frame's header and the summary of each planned column it has."""
    features = {
        name: summarise_series(frame[name], kind, settings, name, label)
        for name, kind in plan.items()
        if name in frame.columns
    }
    return BatchSummary(tuple(map(str, frame.columns)), features)


def summarise_series(
    values: pd.Series, kind: Kind | None, settings: SummarySettings, name: str, label: str
) -> FeatureSummary:
    summary_kind = kind or infer_kind(values)
    missing = int(values.isna().sum())
    if summary_kind == "datetime":
        return DateSummary(missing, len(values))
    if summary_kind == "numeric":
        numbers = _numeric(values, name, label)
        counted = distinct(numbers[~np.isnan(numbers)])
        return numeric_summary(counted.values, counted.counts, missing, settings)
    counts = values.value_counts(dropna=True, sort=False)
    return categorical_summary(counts.index, counts.to_numpy(), missing)


def infer_kind(values: pd.Series) -> SummaryKind:
    if pd.api.types.is_bool_dtype(values):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values):
        return "numeric"
    present = values.dropna()
    if present.empty or pd.api.types.infer_dtype(present) == "boolean":  # booleans with gaps
        return "categorical"
    if _parses_as_number(present.iloc[0]) and pd.to_numeric(present, errors="coerce").notna().all():
        return "numeric"
    if present.astype(str).str.match(ISO_DATE.pattern).all():
        return "datetime"
    return "categorical"


def _parses_as_number(value: object) -> bool:
    try:
        float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return True


def _numeric(values: pd.Series, name: str, label: str) -> np.ndarray:
    if pd.api.types.is_numeric_dtype(values):
        return values.to_numpy(dtype=float, na_value=np.nan)
    converted = pd.to_numeric(values, errors="coerce")
    bad = converted.isna() & values.notna()
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise not_a_number(label, name, row, values.iloc[row])
    return converted.to_numpy(dtype=float, na_value=np.nan)
