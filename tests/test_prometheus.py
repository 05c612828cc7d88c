"""The real Prometheus scrapes the real monitor: PromQL finds exactly the drifted features,
and a newer run replaces the series at once."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from conftest import DATA, PROMTOOL, MonitorServer, PrometheusServer, wait_for
from drift import DriftConfig, DriftReport, compare, load_config, read_batch
from drift.publish import run_document, send_run
from names import (
    DATASET_LABEL,
    EFFECT_SIZE,
    EFFECT_SIZE_THRESHOLD,
    FEATURE_LABEL,
    P_VALUE,
    P_VALUE_ADJUSTED,
)

DATASET = "bike_sharing"
REFERENCE = "control/bike_sharing_dataset_1.csv"
NO_DRIFT = "audit/bike_sharing_dataset_2.csv"
DRIFT = "audit/bike_sharing_dataset_4.csv.off"
ALPHA = 0.05
# Material drift in PromQL, with each feature's published threshold: the adjusted p-values of
# the drifted features ("and" matches on the labels, not the metric names).
DRIFTED_QUERY = f"{P_VALUE_ADJUSTED} < {ALPHA} and {EFFECT_SIZE} >= {EFFECT_SIZE_THRESHOLD}"
# The first scrape comes ~5 s after Prometheus starts (see the runtime notes); leave room.
QUERY_TIMEOUT_SECONDS = 40.0
RUN_AT = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)


def report_for(current: str, config: DriftConfig | None = None) -> DriftReport:
    config = config or load_config(DATA / "drift.yaml")
    reference = read_batch(DATA / REFERENCE, config)
    return compare(reference, read_batch(DATA / current, config), config)


def publish(monitor: MonitorServer, report: DriftReport, current: str, run_at: datetime) -> None:
    run = run_document(report, DATASET, reference=REFERENCE, batch=current, run_at=run_at)
    assert send_run(run, monitor.url, token=monitor.token)["current"] is True


def features_of(result: list[dict[str, Any]]) -> set[str]:
    return {sample["metric"][FEATURE_LABEL] for sample in result}


def poll_features(prometheus: PrometheusServer, promql: str, expected: set[str]) -> set[str]:
    """Poll the query until its features are the expected ones. Returns the last features
    seen, so that the caller's assertion shows the difference after a timeout."""
    seen: list[set[str]] = []

    def matches() -> bool:
        seen.append(features_of(prometheus.query(promql)))
        return seen[-1] == expected

    with contextlib.suppress(TimeoutError):
        wait_for(matches, f"{expected} from {promql}", QUERY_TIMEOUT_SECONDS, interval=0.2)
    return seen[-1]


@pytest.fixture
def prometheus(
    monitor_server: MonitorServer, prometheus_server: Callable[[str], PrometheusServer]
) -> PrometheusServer:
    return prometheus_server(monitor_server.target)


def test_the_generated_config_passes_promtool(prometheus: PrometheusServer) -> None:
    result = subprocess.run(
        [str(PROMTOOL), "check", "config", str(prometheus.config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promql_finds_exactly_the_drifted_features_and_forgets_them_after_a_clean_run(
    monitor_server: MonitorServer, prometheus: PrometheusServer
) -> None:
    drift = report_for(DRIFT)
    drifted = {f.feature for f in drift.features if f.drifted}
    raw_significant = {
        f.feature for f in drift.features if f.p_value is not None and f.p_value < ALPHA
    }
    assert drift.alpha == ALPHA and drifted  # the bundled yearly batch drifts
    assert drifted < {f.feature for f in drift.features}  # ...but not on every feature

    publish(monitor_server, drift, DRIFT, RUN_AT)
    adjusted_query = DRIFTED_QUERY
    raw_query = f"{P_VALUE} < {ALPHA}"
    assert poll_features(prometheus, adjusted_query, drifted) == drifted
    assert poll_features(prometheus, raw_query, raw_significant) == raw_significant

    samples = prometheus.query(adjusted_query)
    assert {s["metric"][DATASET_LABEL] for s in samples} == {DATASET}
    assert {s["metric"]["__name__"] for s in samples} == {P_VALUE_ADJUSTED}
    expected = {f.feature: f.p_value_adjusted for f in drift.features if f.drifted}
    scraped = {s["metric"][FEATURE_LABEL]: float(s["value"][1]) for s in samples}
    assert scraped == pytest.approx(expected, rel=1e-12)

    clean = report_for(NO_DRIFT)
    assert not clean.drifted
    publish(monitor_server, clean, NO_DRIFT, RUN_AT + timedelta(days=1))
    assert poll_features(prometheus, adjusted_query, set()) == set()
    assert poll_features(prometheus, raw_query, set()) == set()
    # Every feature still has a series, now with the clean run's values: replaced, not dropped.
    current = {
        s["metric"][FEATURE_LABEL]: float(s["value"][1])
        for s in prometheus.query(f'{P_VALUE_ADJUSTED}{{{DATASET_LABEL}="{DATASET}"}}')
    }
    assert current == pytest.approx({f.feature: f.p_value_adjusted for f in clean.features})


def test_a_feature_missing_from_the_newer_run_leaves_prometheus_at_once(
    monitor_server: MonitorServer, prometheus: PrometheusServer
) -> None:
    drift = report_for(DRIFT)
    drifted = {f.feature for f in drift.features if f.drifted}
    publish(monitor_server, drift, DRIFT, RUN_AT)
    query = DRIFTED_QUERY
    assert poll_features(prometheus, query, drifted) == drifted

    # The same batch, tested on fewer columns: the dropped drifted feature must not linger
    # for Prometheus's 5-minute lookback (the scrape marks its series stale).
    dropped = sorted(drifted)[0]
    config = load_config(DATA / "drift.yaml")
    columns = {name: kind for name, kind in (config.columns or {}).items() if name != dropped}
    narrower = report_for(DRIFT, DriftConfig(config.alpha, config.correction, columns))
    still_drifted = {f.feature for f in narrower.features if f.drifted}
    assert dropped not in still_drifted and still_drifted
    publish(monitor_server, narrower, DRIFT, RUN_AT + timedelta(hours=1))
    assert poll_features(prometheus, query, still_drifted) == still_drifted
    every = features_of(prometheus.query(f'{P_VALUE}{{{DATASET_LABEL}="{DATASET}"}}'))
    assert every == set(columns)
