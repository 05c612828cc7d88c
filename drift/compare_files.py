"""Comparing two batch files: their headers against the schema, a summary of each (the
reference's reused from its cache while the file is unchanged), then the tests."""

from __future__ import annotations

from pathlib import Path

from drift.backends import Backend, choose_backend
from drift.config import DriftConfig
from drift.engine import compare, planned_columns
from drift.report import DriftReport
from drift.summary import BatchSummary, current_plan, summary_settings
from drift.summary_cache import cached_summary


def compare_files(
    reference: Path,
    current: Path,
    config: DriftConfig,
    backend: str = "auto",
    names: tuple[str, str] | None = None,
    cache: bool = True,
) -> DriftReport:
    """``compare`` for two CSV or Parquet files, summarised by ``backend`` (a name of
    drift.backends.BACKEND_CHOICES). ``names`` label the batches in messages (default: the
    paths); ``cache`` False summarises the reference even when its summary is cached."""
    names = names or (str(reference), str(current))
    chosen = choose_backend(backend, reference, current)
    summaries = summarise_files(reference, current, config, chosen, names, cache)
    return compare(*summaries, config, names)


def summarise_files(
    reference: Path,
    current: Path,
    config: DriftConfig,
    backend: Backend,
    names: tuple[str, str],
    cache: bool = True,
) -> tuple[BatchSummary, BatchSummary]:
    """Both batches' summaries, as ``compare`` tests them. The schema is checked there, after
    both files are read: a file that cannot be read says so first."""
    reference_header = backend.header(reference)
    plan = dict(planned_columns(reference_header, backend.header(current), config))
    settings = summary_settings(config)
    reference_plan = {name: kind for name, kind in plan.items() if name in reference_header}

    def summarise_reference() -> BatchSummary:
        return backend.summarise(reference, reference_plan, settings, names[0])

    summary = (
        cached_summary(reference, reference_plan, settings, summarise_reference)
        if cache
        else summarise_reference()
    )
    return summary, backend.summarise(current, current_plan(plan, summary), settings, names[1])
