"""/metrics: names and labels from names, exactly the values posted, no NaN for skipped
features, and an exposition that `promtool check metrics` accepts without a remark."""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import subprocess
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from conftest import (
    DATA,
    PROMTOOL,
    RUN_AT,
    MonitorApp,
    feature_doc,
    run_doc,
    scrape,
    series,
)
from drift import compare, load_config, read_batch
from drift.publish import run_document
from monitor.exposition import series_of
from monitor.schema import MAX_COUNT, Run
from monitor.store import Store
from names import (
    BATCH_LABEL,
    CORRECTION_LABEL,
    CURRENT_LABEL,
    DATASET_ALPHA,
    DATASET_DRIFTED,
    DATASET_LABEL,
    DATASET_STALE_AFTER,
    DATASETS_PATH,
    DRIFTED,
    EFFECT_SIZE,
    EFFECT_SIZE_THRESHOLD,
    FEATURE_INFO,
    FEATURE_LABEL,
    FEATURES_DRIFTED,
    FEATURES_SKIPPED,
    FEATURES_TESTED,
    KIND_LABEL,
    LAST_RUN_TIMESTAMP,
    LEGACY_GAUGE,
    MISSING_RATIO,
    P_VALUE,
    P_VALUE_ADJUSTED,
    REFERENCE_LABEL,
    RUN_INFO,
    SAMPLE_SIZE,
    STATISTIC,
    STATUS_LABEL,
    TEST_LABEL,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

VALUE_FAMILIES = (P_VALUE, P_VALUE_ADJUSTED, STATISTIC, EFFECT_SIZE, EFFECT_SIZE_THRESHOLD, DRIFTED)
LABELS = {
    **{name: {DATASET_LABEL, FEATURE_LABEL} for name in VALUE_FAMILIES},
    SAMPLE_SIZE: {DATASET_LABEL, FEATURE_LABEL, BATCH_LABEL},
    MISSING_RATIO: {DATASET_LABEL, FEATURE_LABEL, BATCH_LABEL},
    FEATURE_INFO: {DATASET_LABEL, FEATURE_LABEL, KIND_LABEL, TEST_LABEL, STATUS_LABEL},
    FEATURES_TESTED: {DATASET_LABEL},
    FEATURES_SKIPPED: {DATASET_LABEL},
    FEATURES_DRIFTED: {DATASET_LABEL},
    DATASET_DRIFTED: {DATASET_LABEL},
    DATASET_ALPHA: {DATASET_LABEL},
    LAST_RUN_TIMESTAMP: {DATASET_LABEL},
    DATASET_STALE_AFTER: {DATASET_LABEL},
    RUN_INFO: {DATASET_LABEL, CURRENT_LABEL, REFERENCE_LABEL, CORRECTION_LABEL},
    LEGACY_GAUGE: {"feature", "metric"},
}
BIKES_REFERENCE = "control/bike_sharing_dataset_1.csv"
BIKES_CURRENT = "audit/bike_sharing_dataset_4.csv.off"


def bundled_run() -> dict[str, Any]:
    """The run the DAG sends for the bundled Bike Sharing batches that drift."""
    config = load_config(DATA / "drift.yaml")
    report = compare(
        read_batch(DATA / BIKES_REFERENCE, config), read_batch(DATA / BIKES_CURRENT, config), config
    )
    return run_document(report, "bike_sharing", BIKES_REFERENCE, BIKES_CURRENT, RUN_AT)


def skipped_run() -> dict[str, Any]:
    """A run where some features could not be tested."""
    return run_doc(
        "shop",
        [
            feature_doc("price", 0.004, drifted=True),
            feature_doc("region", None, kind="categorical"),
            feature_doc("opened", None, kind="datetime", reason="a date column, not tested"),
        ],
        run_at=RUN_AT - timedelta(hours=2),
    )


def promtool_check(text: str) -> subprocess.CompletedProcess[str]:
    if not PROMTOOL.exists():
        pytest.skip(f"{PROMTOOL} not installed (make system-packages installs it)")
    return subprocess.run(
        [str(PROMTOOL), "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )


def test_every_family_and_label_is_named_as_in_drift_names(monitor_app: MonitorApp) -> None:
    scheduled = {**skipped_run(), "stale_after_seconds": 1200}
    assert monitor_app.post_run(scheduled).status_code == 201
    assert monitor_app.post_legacy("temp", "ks_p_value", 0.5).status_code == 200

    response = monitor_app.client.get("/metrics")

    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    families = list(text_string_to_metric_families(response.text))
    assert {f.name for f in families} == set(LABELS)
    for family in families:
        assert family.type == "gauge", family.name
        assert family.samples, family.name
        for sample in family.samples:
            assert sample.name == family.name
            assert set(sample.labels) == LABELS[family.name], family.name


def test_an_empty_monitor_exposes_no_series(monitor_app: MonitorApp) -> None:
    assert scrape(monitor_app.metrics()) == {}


def test_the_exposition_carries_exactly_the_values_posted(monitor_app: MonitorApp) -> None:
    awkward = feature_doc(
        "x",
        5e-324,  # the smallest double
        drifted=True,
        p_value_adjusted=0.1 * 0.07,  # below alpha 0.01: drifted, as the rules see it
        statistic=-1.7976931348623157e308,
        effect_size=1 / 3,
        effect_size_threshold=0.1 + 0.2,
        n_reference=MAX_COUNT,
        n_current=1,
        missing_share_reference=2 / 3,
        missing_share_current=1.0,
        kind="categorical",
        test="chi2",
    )
    older_client = feature_doc("y", 0.75)
    del older_client["effect_size_threshold"]
    document = run_doc("shop", [awkward, older_client], batch="b_7.csv")
    document["settings"] = {"alpha": 0.01, "correction": "bonferroni"}
    assert monitor_app.post_run(document).status_code == 201
    monitor_app.post_legacy("temp", "psi", 123456.789e-3)

    samples = scrape(monitor_app.metrics())

    x = {DATASET_LABEL: "shop", FEATURE_LABEL: "x"}
    y = {DATASET_LABEL: "shop", FEATURE_LABEL: "y"}
    shop = {DATASET_LABEL: "shop"}
    expected = {
        series(P_VALUE, **x): 5e-324,
        series(P_VALUE_ADJUSTED, **x): 0.1 * 0.07,
        series(STATISTIC, **x): -1.7976931348623157e308,
        series(EFFECT_SIZE, **x): 1 / 3,
        series(EFFECT_SIZE_THRESHOLD, **x): 0.1 + 0.2,
        series(DRIFTED, **x): 1.0,
        series(SAMPLE_SIZE, **x, **{BATCH_LABEL: "reference"}): float(MAX_COUNT),
        series(SAMPLE_SIZE, **x, **{BATCH_LABEL: "current"}): 1.0,
        series(MISSING_RATIO, **x, **{BATCH_LABEL: "reference"}): 2 / 3,
        series(MISSING_RATIO, **x, **{BATCH_LABEL: "current"}): 1.0,
        series(FEATURE_INFO, **x, kind="categorical", test="chi2", status="tested"): 1.0,
        series(P_VALUE, **y): 0.75,
        series(P_VALUE_ADJUSTED, **y): 1.0,
        series(STATISTIC, **y): 0.25,
        series(EFFECT_SIZE, **y): 0.125,
        # A client from before material drift sends no threshold: p-values alone decided.
        series(EFFECT_SIZE_THRESHOLD, **y): 0.0,
        series(DRIFTED, **y): 0.0,
        series(SAMPLE_SIZE, **y, **{BATCH_LABEL: "reference"}): 100.0,
        series(SAMPLE_SIZE, **y, **{BATCH_LABEL: "current"}): 90.0,
        series(MISSING_RATIO, **y, **{BATCH_LABEL: "reference"}): 0.0,
        series(MISSING_RATIO, **y, **{BATCH_LABEL: "current"}): 0.0625,
        series(FEATURE_INFO, **y, kind="numeric", test="ks", status="tested"): 1.0,
        series(FEATURES_TESTED, **shop): 2.0,
        series(FEATURES_SKIPPED, **shop): 0.0,
        series(FEATURES_DRIFTED, **shop): 1.0,
        series(DATASET_DRIFTED, **shop): 1.0,
        series(DATASET_ALPHA, **shop): 0.01,
        series(LAST_RUN_TIMESTAMP, **shop): RUN_AT.timestamp(),
        series(
            RUN_INFO, **shop, current="b_7.csv", reference="reference.csv", correction="bonferroni"
        ): 1.0,
        series(LEGACY_GAUGE, feature="temp", metric="psi"): 123456.789e-3,
    }
    assert samples == expected


def test_label_values_are_escaped_and_read_back_unchanged(monitor_app: MonitorApp) -> None:
    name = 'a "quoted" back\\slash, comma=} and ünïcode'
    assert monitor_app.post_run(run_doc(name, [feature_doc(name, 0.5)])).status_code == 201
    assert monitor_app.post_legacy(name, name, 1.0).status_code == 200

    samples = scrape(monitor_app.metrics())

    assert samples[series(P_VALUE, **{DATASET_LABEL: name, FEATURE_LABEL: name})] == 0.5
    assert samples[series(LEGACY_GAUGE, feature=name, metric=name)] == 1.0


def test_skipped_features_have_no_value_series_and_nan_appears_nowhere(
    monitor_app: MonitorApp,
) -> None:
    assert monitor_app.post_run(skipped_run()).status_code == 201

    text = monitor_app.metrics()
    samples = scrape(text)

    assert "nan" not in text.lower()
    assert all(math.isfinite(value) for value in samples.values())
    for skipped in ("region", "opened"):
        labels = {DATASET_LABEL: "shop", FEATURE_LABEL: skipped}
        for name in (*VALUE_FAMILIES, MISSING_RATIO):
            assert not any(n == name and dict(ls).items() >= labels.items() for n, ls in samples), (
                name,
                skipped,
            )
        for side in ("reference", "current"):
            assert samples[series(SAMPLE_SIZE, **labels, **{BATCH_LABEL: side})] == 0
    info = {(dict(ls)[FEATURE_LABEL], dict(ls)["status"]) for n, ls in samples if n == FEATURE_INFO}
    assert info == {("price", "tested"), ("region", "skipped"), ("opened", "skipped")}
    shop = {DATASET_LABEL: "shop"}
    assert samples[series(FEATURES_TESTED, **shop)] == 1
    assert samples[series(FEATURES_SKIPPED, **shop)] == 2
    assert samples[series(P_VALUE, **shop, **{FEATURE_LABEL: "price"})] == 0.004


def test_the_series_cap_counts_a_run_as_the_most_series_it_can_expose(
    monitor_app: MonitorApp,
) -> None:
    """series_of (what the cap counts) against the series a scrape finds: equal for a run with
    every value, more for one with skipped features (they expose fewer)."""
    full = {**run_doc("shop", [feature_doc("a", 0.01, drifted=True), feature_doc("b", 0.5)]),
            "stale_after_seconds": 600}  # fmt: skip
    sparse = run_doc("bikes", [feature_doc("hr", None), feature_doc("temp", 0.5)])
    for document in (full, sparse):
        assert monitor_app.post_run(document).status_code == 201

    exposed = Counter(dict(labels)[DATASET_LABEL] for _, labels in scrape(monitor_app.metrics()))

    assert exposed["shop"] == series_of(Run.model_validate_json(json.dumps(full)))
    assert exposed["bikes"] < series_of(Run.model_validate_json(json.dumps(sparse)))


def test_the_bundled_run_is_exposed_with_the_engines_values(monitor_app: MonitorApp) -> None:
    document = bundled_run()
    assert monitor_app.post_run(document).status_code == 201

    samples = scrape(monitor_app.metrics())

    for feature in document["features"]:
        labels = {DATASET_LABEL: "bike_sharing", FEATURE_LABEL: feature["feature"]}
        for name, key in ((P_VALUE, "p_value"), (P_VALUE_ADJUSTED, "p_value_adjusted")):
            assert samples[series(name, **labels)] == feature[key], (name, labels)
        assert samples[series(DRIFTED, **labels)] == float(feature["drifted"])
    bikes = {DATASET_LABEL: "bike_sharing"}
    assert samples[series(FEATURES_DRIFTED, **bikes)] == document["summary"]["features_drifted"]
    assert document["summary"]["features_drifted"] > 0  # the batch that drifts


def test_promtool_accepts_a_realistic_exposition_without_a_remark(
    monitor_app: MonitorApp,
) -> None:
    assert monitor_app.post_run(bundled_run()).status_code == 201
    assert monitor_app.post_run(skipped_run()).status_code == 201
    for feature, metric, value in (("temp", "ks_p_value", 0.03), ("hum", "psi", 0.2)):
        assert monitor_app.post_legacy(feature, metric, value).status_code == 200
    text = monitor_app.metrics()
    for present in ('dataset="bike_sharing"', 'dataset="shop"', 'status="skipped"', "\ndrift{"):
        assert present in text, present

    result = promtool_check(text)

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_promtool_check_reports_a_faulty_exposition() -> None:
    """The check above can fail: promtool speaks up about a bad exposition."""
    faulty = "# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n"

    result = promtool_check(faulty)

    assert result.returncode != 0 or result.stdout or result.stderr


def test_metrics_follow_each_write_at_once(monitor_app: MonitorApp) -> None:
    """The cached body is rendered again after every change a scrape should see."""
    first = monitor_app.metrics()
    monitor_app.post_legacy("temp", "psi", 1.0)
    second = monitor_app.metrics()
    monitor_app.post_legacy("temp", "psi", 2.0)
    third = monitor_app.metrics()
    monitor_app.post_run(skipped_run())
    fourth = monitor_app.metrics()
    monitor_app.client.delete(f"{DATASETS_PATH}/shop", headers=monitor_app.auth)
    fifth = monitor_app.metrics()

    assert LEGACY_GAUGE + '{feature="temp",metric="psi"} 1.0' in second
    assert LEGACY_GAUGE + '{feature="temp",metric="psi"} 2.0' in third
    assert 'dataset="shop"' in fourth
    assert 'dataset="shop"' not in fifth
    assert len({first, second, third, fourth}) == 4
    assert fifth == third


def test_the_last_run_timestamp_is_the_runs_own_time_in_any_zone(
    monitor_app: MonitorApp,
) -> None:
    at = datetime.fromisoformat("2026-01-02T05:04:05.250+02:00")
    monitor_app.post_run(run_doc("shop", [feature_doc("a", 0.5)], run_at=at))

    samples = scrape(monitor_app.metrics())

    assert samples[series(LAST_RUN_TIMESTAMP, **{DATASET_LABEL: "shop"})] == at.timestamp()
    assert at.timestamp() == RUN_AT.timestamp() + 0.25


def test_only_a_scheduled_dataset_says_how_long_it_may_go_without_a_run(
    monitor_app: MonitorApp,
) -> None:
    config = load_config(DATA / "drift.yaml")
    report = compare(
        read_batch(DATA / BIKES_REFERENCE, config), read_batch(DATA / BIKES_CURRENT, config), config
    )
    scheduled = run_document(report, "bikes", BIKES_REFERENCE, BIKES_CURRENT, RUN_AT, 1200)
    assert monitor_app.post_run(scheduled).status_code == 201
    assert monitor_app.post_run(skipped_run()).status_code == 201  # shop: run by hand

    text = monitor_app.metrics()

    limits = {key: value for key, value in scrape(text).items() if key[0] == DATASET_STALE_AFTER}
    assert limits == {series(DATASET_STALE_AFTER, **{DATASET_LABEL: "bikes"}): 1200}
    result = promtool_check(text)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("limit", [0, -5, 366 * 86400 + 1, "600", True, None])
def test_a_bad_staleness_limit_is_refused_and_null_means_none(
    monitor_app: MonitorApp, limit: Any
) -> None:
    response = monitor_app.post_run({**skipped_run(), "stale_after_seconds": limit})
    if limit is None:  # the same as leaving it out: a dataset run by hand
        assert response.status_code == 201
        assert DATASET_STALE_AFTER + "{" not in monitor_app.metrics()
    else:
        assert response.status_code == 422
        assert "stale_after_seconds" in response.text


def test_the_api_returns_the_staleness_limit_it_stored(monitor_app: MonitorApp) -> None:
    assert monitor_app.post_run({**skipped_run(), "stale_after_seconds": 1200}).status_code == 201
    for answer in (
        monitor_app.client.get(f"{DATASETS_PATH}/shop").json(),
        monitor_app.client.get(f"{DATASETS_PATH}/shop/runs").json()[0],
        monitor_app.client.get(DATASETS_PATH).json()[0],
    ):
        assert answer["stale_after_seconds"] == 1200


def test_a_run_stored_before_the_staleness_limit_existed_still_loads(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    store = Store(db, series_of, max_series=1000, keep_runs=10)
    store.add_run(Run.model_validate({**skipped_run(), "stale_after_seconds": 600}))
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as old, old:  # as an older monitor wrote it
        [(run_id, body)] = old.execute("SELECT id, body FROM runs").fetchall()
        document = json.loads(body)
        del document["stale_after_seconds"]
        old.execute("UPDATE runs SET body = ? WHERE id = ?", (json.dumps(document), run_id))

    reopened = Store(db, series_of, max_series=1000, keep_runs=10)
    try:
        assert reopened.current["shop"].run.stale_after_seconds is None
        assert reopened.current["shop"].run.features[0].feature == "price"
    finally:
        reopened.close()


def test_a_run_stored_before_effect_size_thresholds_existed_loads_with_threshold_0(
    tmp_path: Path,
) -> None:
    db = tmp_path / "old.db"
    store = Store(db, series_of, max_series=1000, keep_runs=10)
    store.add_run(Run.model_validate(bundled_run()))
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as old, old:  # as an older monitor wrote it
        [(run_id, body)] = old.execute("SELECT id, body FROM runs").fetchall()
        document = json.loads(body)
        for feature in document["features"]:
            del feature["effect_size_threshold"]
        old.execute("UPDATE runs SET body = ? WHERE id = ?", (json.dumps(document), run_id))

    reopened = Store(db, series_of, max_series=1000, keep_runs=10)
    try:
        features = reopened.current["bike_sharing"].run.features
        assert {f.effect_size_threshold for f in features} == {0.0}
    finally:
        reopened.close()


def test_the_bundled_run_publishes_each_features_threshold(monitor_app: MonitorApp) -> None:
    assert monitor_app.post_run(bundled_run()).status_code == 201
    samples = scrape(monitor_app.metrics())
    thresholds = {
        f: samples[series(EFFECT_SIZE_THRESHOLD, dataset="bike_sharing", feature=f)]
        for f in ("temp", "cnt", "hr", "season")
    }
    # data/drift.yaml keeps the defaults: 0.07 for numeric features, 0.1 for categorical ones.
    assert thresholds == {"temp": 0.07, "cnt": 0.07, "hr": 0.1, "season": 0.1}


@pytest.mark.parametrize("threshold", [-0.1, "0.1", True])
def test_a_bad_effect_size_threshold_is_refused(monitor_app: MonitorApp, threshold: Any) -> None:
    body = run_doc("shop", [feature_doc("x", 0.5, effect_size_threshold=threshold)])
    response = monitor_app.post_run(body)
    assert response.status_code == 422
    assert "effect_size_threshold" in response.text
