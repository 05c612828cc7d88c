"""The drift engine: per-feature two-sample tests with p-values, effect sizes and
multiple-testing corrections. Pure Python; the DAG, the CLI and the benchmarks use it.

The public names load on first use (PEP 562), so that ``drift.labels`` and ``drift.config``,
which the monitor imports, do not pull in pandas and scipy.
"""

from importlib import import_module
from typing import TYPE_CHECKING

_EXPORTS = {
    "DriftConfig": "drift.config",
    "load_config": "drift.config",
    "read_batch": "drift.dataset",
    "compare": "drift.engine",
    "DriftInputError": "drift.errors",
    "DriftReport": "drift.report",
    "FeatureResult": "drift.report",
}
__all__ = [
    "DriftConfig",
    "DriftInputError",
    "DriftReport",
    "FeatureResult",
    "compare",
    "load_config",
    "read_batch",
]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'drift' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


if TYPE_CHECKING:
    from drift.config import DriftConfig, load_config
    from drift.dataset import read_batch
    from drift.engine import compare
    from drift.errors import DriftInputError
    from drift.report import DriftReport, FeatureResult
