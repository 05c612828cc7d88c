"""The drift engine: per-feature two-sample tests with p-values, effect sizes and
multiple-testing corrections. Pure Python; the DAG, the CLI and the benchmarks use it."""

from drift.config import DriftConfig, load_config
from drift.dataset import read_batch
from drift.engine import compare
from drift.errors import DriftInputError
from drift.report import DriftReport, FeatureResult

__all__ = [
    "DriftConfig",
    "DriftInputError",
    "DriftReport",
    "FeatureResult",
    "compare",
    "load_config",
    "read_batch",
]
