"""Summaries of a Parquet batch's columns straight from its Arrow table, for the pandas backend.

Building a pandas data frame first costs more than summarising a small file (at 13,000 rows
most of the read). Only columns of types whose summary is plainly the one pandas gives are
summarised here: numbers as numeric, and numbers, booleans, text and dictionaries of text or
integers as categorical (a kind left to inference: numbers are numeric, booleans categorical).
Any other column (decimals, dates, text to infer or to read as numbers) is None: the pandas
backend reads it into pandas, as before.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from drift.config import Kind
from drift.stats import distinct
from drift.summary import FeatureSummary, SummarySettings, categorical_summary, numeric_summary


def summarise_column(
    column: pa.ChunkedArray, kind: Kind | None, settings: SummarySettings
) -> FeatureSummary | None:
    """The column's summary as ``drift.backends.pandas.summarise_series`` gives it from the
    column pandas reads, or None when the column is not of a type handled here."""
    numeric = _is_number(column.type)
    if kind is None:
        kind = "numeric" if numeric else "categorical" if pa.types.is_boolean(column.type) else None
    if kind == "numeric" and numeric:
        present_values = pc.drop_null(column) if column.null_count else column
        values = present_values.to_numpy().astype(float, copy=False)
        nan = np.isnan(values)
        missing = column.null_count + int(nan.sum())
        counted = distinct(values[~nan] if missing > column.null_count else values)
        return numeric_summary(counted.values, counted.counts, missing, settings)
    if kind == "categorical" and pa.types.is_dictionary(column.type) and _is_category(column.type):
        return _dictionary_summary(column)
    if kind == "categorical" and _is_category(column.type):
        counts = pc.value_counts(column)  # a null (and NaN) is a value here: counted missing
        return categorical_summary(
            counts.field("values").to_pylist(), counts.field("counts").to_numpy(), 0
        )
    return None


def _dictionary_summary(column: pa.ChunkedArray) -> FeatureSummary:
    """Counts per dictionary entry from the indices (each chunk has its own dictionary):
    no category text is built per row."""
    categories: list[object] = []
    counts = [np.zeros(0, dtype=np.int64)]
    for chunk in column.chunks:
        indices = pc.drop_null(chunk.indices) if chunk.null_count else chunk.indices
        counts.append(np.bincount(indices.to_numpy(), minlength=len(chunk.dictionary)))
        categories += chunk.dictionary.to_pylist()
    return categorical_summary(categories, np.concatenate(counts), column.null_count)


def _is_number(arrow_type: pa.DataType) -> bool:
    return pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type)


def _is_category(arrow_type: pa.DataType) -> bool:
    if pa.types.is_dictionary(arrow_type):
        values = arrow_type.value_type
        return pa.types.is_string(values) or pa.types.is_integer(values)
    return (
        _is_number(arrow_type)
        or pa.types.is_boolean(arrow_type)
        or pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
    )
