"""The Prometheus exposition of the monitor's state, named once in drift.names."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from drift import names
from monitor.schema import Run
from monitor.store import Store

FEATURE_LABELS = [names.DATASET_LABEL, names.FEATURE_LABEL]
DATASET_LABELS = [names.DATASET_LABEL]
SIDE_LABELS = [*FEATURE_LABELS, names.BATCH_LABEL]
SERIES_PER_FEATURE = 10  # 5 values, 2 sample sizes, 2 missing ratios, 1 info
SERIES_PER_DATASET = 6


def series_of(run: Run) -> int:
    """How many series a run adds to /metrics, at most."""
    return SERIES_PER_DATASET + SERIES_PER_FEATURE * len(run.features)


class DriftCollector(Collector):
    def __init__(self, store: Store) -> None:
        self._store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        def family(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=labels)

        p_value = family(names.P_VALUE, "p-value of the feature's drift test", FEATURE_LABELS)
        adjusted = family(
            names.P_VALUE_ADJUSTED, "p-value adjusted for the number of features tested",
            FEATURE_LABELS,
        )  # fmt: skip
        statistic = family(names.STATISTIC, "Test statistic (KS D or chi-square)", FEATURE_LABELS)
        effect = family(
            names.EFFECT_SIZE, "Effect size (normed Wasserstein or Cramer's V)", FEATURE_LABELS
        )
        drifted = family(names.DRIFTED, "1 if the feature drifted, else 0", FEATURE_LABELS)
        sample = family(names.SAMPLE_SIZE, "Values tested, per batch", SIDE_LABELS)
        missing = family(names.MISSING_RATIO, "Share of missing values, per batch", SIDE_LABELS)
        info = family(
            names.FEATURE_INFO, "Kind, test and status of the feature",
            [*FEATURE_LABELS, "kind", "test", "status"],
        )  # fmt: skip
        tested = family(names.FEATURES_TESTED, "Features tested in the last run", DATASET_LABELS)
        n_drifted = family(
            names.FEATURES_DRIFTED, "Features drifted in the last run", DATASET_LABELS
        )
        dataset_drifted = family(
            names.DATASET_DRIFTED, "1 if any feature drifted in the last run", DATASET_LABELS
        )
        alpha = family(names.DATASET_ALPHA, "Significance level of the last run", DATASET_LABELS)
        last_run = family(
            names.LAST_RUN_TIMESTAMP, "When the last run was computed (Unix time)", DATASET_LABELS
        )
        run_info = family(
            names.RUN_INFO, "Batches and correction of the last run",
            [*DATASET_LABELS, "batch", "reference", "correction"],
        )  # fmt: skip

        for dataset, stored in sorted(self._store.current.items()):
            run = stored.run
            for f in run.features:
                labels = [dataset, f.feature]
                for target, value in (
                    (p_value, f.p_value),
                    (adjusted, f.p_value_adjusted),
                    (statistic, f.statistic),
                    (effect, f.effect_size),
                ):
                    if value is not None:  # a skipped feature has no values: never NaN
                        target.add_metric(labels, value)
                if f.status == "tested":
                    drifted.add_metric(labels, float(f.drifted))
                for side, n, share in (
                    ("reference", f.n_reference, f.missing_share_reference),
                    ("current", f.n_current, f.missing_share_current),
                ):
                    sample.add_metric([*labels, side], n)
                    if share is not None:
                        missing.add_metric([*labels, side], share)
                info.add_metric([*labels, f.kind, f.test or "", f.status], 1)
            tested.add_metric([dataset], run.summary.features_tested)
            n_drifted.add_metric([dataset], run.summary.features_drifted)
            dataset_drifted.add_metric([dataset], float(run.summary.drifted))
            alpha.add_metric([dataset], run.settings.alpha)
            last_run.add_metric([dataset], run.run_at.timestamp())
            run_info.add_metric([dataset, run.batch, run.reference, run.settings.correction], 1)

        legacy = family(names.LEGACY_GAUGE, "explains drift in metrics", ["feature", "metric"])
        for (feature, metric), value in sorted(self._store.legacy.items()):
            legacy.add_metric([feature, metric], value)

        yield from (p_value, adjusted, statistic, effect, drifted, sample, missing, info)
        yield from (tested, n_drifted, dataset_drifted, alpha, last_run, run_info, legacy)


class Exposition:
    """The /metrics body, rendered again only after the state changed."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._registry = CollectorRegistry(auto_describe=False)
        self._registry.register(DriftCollector(store))
        self._version, self._body = -1, b""

    def render(self) -> bytes:
        version = self._store.version
        if version != self._version:
            self._body, self._version = generate_latest(self._registry), version
        return self._body
