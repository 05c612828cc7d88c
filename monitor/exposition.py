"""The Prometheus text exposition of the monitor's state, with names from names.

Each dataset's lines are rendered once per run and cached, so a scrape after a push only
renders the dataset that changed, whatever the number of series.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import names
from monitor.schema import Run
from monitor.store import Store

# (name, help) of every family, in the order of the exposition.
FEATURE_FAMILIES = (
    (names.P_VALUE, "p-value of the feature's drift test"),
    (names.P_VALUE_ADJUSTED, "p-value adjusted for the number of features tested"),
    (names.STATISTIC, "Test statistic (KS D or chi-square)"),
    (names.EFFECT_SIZE, "Effect size (normed Wasserstein or Cramer's V)"),
    (names.EFFECT_SIZE_THRESHOLD, "Effect size needed to drift, with p below alpha"),
    (names.DRIFTED, "1 if the feature drifted, else 0"),
    (names.SAMPLE_SIZE, "Values tested, per batch"),
    (names.MISSING_RATIO, "Share of missing values, per batch"),
    (names.FEATURE_INFO, "Kind, test and status of the feature"),
)
DATASET_FAMILIES = (
    (names.FEATURES_TESTED, "Features tested in the last run"),
    (names.FEATURES_SKIPPED, "Features that could not be tested in the last run"),
    (names.FEATURES_DRIFTED, "Features drifted in the last run"),
    (names.DATASET_DRIFTED, "1 if any feature drifted in the last run"),
    (names.DATASET_ALPHA, "Significance level of the last run"),
    (names.LAST_RUN_TIMESTAMP, "When the last run was computed (Unix time)"),
    (names.DATASET_STALE_AFTER, "How long a scheduled dataset may go without a run"),
    (names.RUN_INFO, "Batches and correction of the last run"),
)
LEGACY_FAMILY = (names.LEGACY_GAUGE, "explains drift in metrics")
# The most run_samples yields per feature: 6 values, 2 sample sizes, 2 missing ratios, 1 info
# (tests/test_monitor_metrics.py::test_the_series_cap_counts_a_run_as_the_most_series_it_can_expose
# compares series_of with a scrape).
SERIES_PER_FEATURE = 11
SERIES_PER_DATASET = len(DATASET_FAMILIES)

Sample = tuple[str, Sequence[tuple[str, str]], float]


def series_of(run: Run) -> int:
    """How many series a run adds to /metrics, at most."""
    return SERIES_PER_DATASET + SERIES_PER_FEATURE * len(run.features)


def run_samples(run: Run) -> Iterable[Sample]:
    """Every sample a run exposes. A skipped feature has no values: nothing is ever NaN."""
    dataset = (names.DATASET_LABEL, run.dataset)
    for f in run.features:
        labels = (dataset, (names.FEATURE_LABEL, f.feature))
        for name, value in (
            (names.P_VALUE, f.p_value),
            (names.P_VALUE_ADJUSTED, f.p_value_adjusted),
            (names.STATISTIC, f.statistic),
            (names.EFFECT_SIZE, f.effect_size),
            (names.EFFECT_SIZE_THRESHOLD, f.effect_size_threshold),
        ):
            if value is not None:
                yield name, labels, value
        if f.status == "tested":
            yield names.DRIFTED, labels, float(f.drifted)
        for side, n, share in (
            ("reference", f.n_reference, f.missing_share_reference),
            ("current", f.n_current, f.missing_share_current),
        ):
            yield names.SAMPLE_SIZE, (*labels, (names.BATCH_LABEL, side)), n
            if share is not None:
                yield names.MISSING_RATIO, (*labels, (names.BATCH_LABEL, side)), share
        info = (
            (names.KIND_LABEL, f.kind),
            (names.TEST_LABEL, f.test or ""),
            (names.STATUS_LABEL, f.status),
        )
        yield names.FEATURE_INFO, (*labels, *info), 1
    yield names.FEATURES_TESTED, (dataset,), run.summary.features_tested
    yield names.FEATURES_SKIPPED, (dataset,), run.summary.features_skipped
    yield names.FEATURES_DRIFTED, (dataset,), run.summary.features_drifted
    yield names.DATASET_DRIFTED, (dataset,), float(run.summary.drifted)
    yield names.DATASET_ALPHA, (dataset,), run.settings.alpha
    yield names.LAST_RUN_TIMESTAMP, (dataset,), run.run_at.timestamp()
    if run.stale_after_seconds is not None:  # only scheduled datasets can go stale
        yield names.DATASET_STALE_AFTER, (dataset,), run.stale_after_seconds
    run_info = (
        (names.CURRENT_LABEL, run.batch),
        (names.REFERENCE_LABEL, run.reference),
        (names.CORRECTION_LABEL, run.settings.correction),
    )
    yield names.RUN_INFO, (dataset, *run_info), 1


class Exposition:
    """The /metrics body, rendered again only where the state changed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._datasets: dict[str, tuple[int, dict[str, str]]] = {}  # name -> (run id, lines)
        self._version, self._body = -1, b""

    def render(self) -> bytes:
        version = self._store.version
        if version == self._version:
            return self._body
        current = sorted(self._store.current.items())
        cached = self._datasets
        self._datasets = {
            dataset: cached[dataset]
            if dataset in cached and cached[dataset][0] == stored.id
            else (stored.id, _by_family(run_samples(stored.run)))
            for dataset, stored in current
        }
        legacy = _by_family(
            # The course's label names, fixed by its API (not FEATURE_LABEL, which is ours).
            (names.LEGACY_GAUGE, (("feature", feature), ("metric", metric)), value)
            for (feature, metric), value in sorted(self._store.legacy.items())
        )
        parts = []
        for blocks, families in (
            ([lines for _, lines in self._datasets.values()], FEATURE_FAMILIES + DATASET_FAMILIES),
            ([legacy], (LEGACY_FAMILY,)),
        ):
            for name, help_text in families:
                parts.append(f"# HELP {name} {help_text}\n# TYPE {name} gauge\n")
                parts.extend(block.get(name, "") for block in blocks)
        self._body, self._version = "".join(parts).encode(), version
        return self._body


def _by_family(samples: Iterable[Sample]) -> dict[str, str]:
    lines: dict[str, list[str]] = {}
    for name, labels, value in samples:
        label_text = ",".join(f'{key}="{_escape(text)}"' for key, text in labels)
        lines.setdefault(name, []).append(f"{name}{{{label_text}}} {float(value)!r}\n")
    return {name: "".join(family) for name, family in lines.items()}


def _escape(label_value: str) -> str:
    return label_value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")
