"""The monitor's HTTP API in process: the legacy endpoint, the JSON runs API, its refusals,
the write token, health checks and the OpenAPI description. Each test has its own SQLite file;
the tests of what the server logs run it for real (``python -m monitor``)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

import names
from conftest import (
    MONITOR_TOKEN,
    RUN_AT,
    MonitorApp,
    MonitorServer,
    feature_doc,
    run_doc,
    scrape,
    series,
)
from monitor.exposition import series_of
from monitor.schema import MAX_FEATURES, MAX_LABEL_LENGTH, STORED, Run

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

DATASET_PATH = names.DATASETS_PATH + "/{}"
HISTORY_PATH = names.DATASETS_PATH + "/{}/runs"
ONE_MIB = 1 << 20  # the documented limit on a request body
FEATURE_FAMILIES = (
    names.P_VALUE, names.P_VALUE_ADJUSTED, names.STATISTIC, names.EFFECT_SIZE, names.DRIFTED,
    names.FEATURE_INFO,
)  # fmt: skip


def shop_run(**changes: Any) -> dict[str, Any]:
    """A valid run of the dataset "shop": a drifted, a stable and a skipped feature."""
    features = [
        feature_doc("a", 0.001, drifted=True),
        feature_doc("b", 0.5),
        feature_doc("c", None),
    ]
    return {**run_doc("shop", features), **changes}


def state(app: MonitorApp) -> dict[str, Any]:
    """Everything a reader can see, and the rows in the database."""
    datasets = app.client.get(names.DATASETS_PATH).json()
    return {
        "metrics": app.metrics(),
        "datasets": datasets,
        "history": {
            d["dataset"]: app.client.get(HISTORY_PATH.format(d["dataset"])).json() for d in datasets
        },
        "rows": app.row_counts(),
    }


def features_in_metrics(text: str, dataset: str) -> set[str]:
    """The features with any per-feature series of the dataset."""
    return {
        dict(labels)[names.FEATURE_LABEL]
        for (name, labels) in scrape(text)
        if name in (*FEATURE_FAMILIES, names.SAMPLE_SIZE, names.MISSING_RATIO)
        and dict(labels)[names.DATASET_LABEL] == dataset
    }


def assert_refused(response: Any, status: int, fragment: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert fragment.lower() in error.lower(), error


# --- The legacy endpoint: POST /drift?feature=F&metric=M&value=V ---


def test_the_legacy_endpoint_answers_plain_ok_and_sets_the_drift_gauge(
    monitor_app: MonitorApp,
) -> None:
    response = monitor_app.post_legacy("temp", "ks_p_value", 0.0123)

    assert response.status_code == 200
    assert response.text == "ok"
    assert response.headers["content-type"].startswith("text/plain")
    samples = scrape(monitor_app.metrics())
    assert samples[series(names.LEGACY_GAUGE, feature="temp", metric="ks_p_value")] == 0.0123


def test_a_legacy_value_posted_again_replaces_the_previous_one(monitor_app: MonitorApp) -> None:
    monitor_app.post_legacy("temp", "psi", 1.5)
    monitor_app.post_legacy("temp", "psi", -2.25)

    text = monitor_app.metrics()
    assert f'{names.LEGACY_GAUGE}{{feature="temp",metric="psi"}} -2.25' in text.splitlines()
    assert monitor_app.row_counts() == (0, 1)


@pytest.mark.parametrize(
    ("query", "named"),
    [
        pytest.param({"feature": "f", "metric": "m"}, "value", id="missing value"),
        pytest.param({"metric": "m", "value": "1"}, "feature", id="missing feature"),
        pytest.param({"feature": "f", "value": "1"}, "metric", id="missing metric"),
        pytest.param({"feature": "f", "metric": "m", "value": "nan"}, "value", id="nan"),
        pytest.param({"feature": "f", "metric": "m", "value": "inf"}, "value", id="inf"),
        pytest.param({"feature": "f", "metric": "m", "value": "-Infinity"}, "value", id="-inf"),
        pytest.param({"feature": "f", "metric": "m", "value": "abc"}, "value", id="not a number"),
        pytest.param({"feature": "f", "metric": "m", "value": "1e999"}, "value", id="overflow"),
        pytest.param({"feature": "", "metric": "m", "value": "1"}, "feature", id="empty feature"),
        pytest.param({"feature": "a\x01b", "metric": "m", "value": "1"}, "feature", id="ctrl"),
        pytest.param({"feature": "a\nb", "metric": "m", "value": "1"}, "feature", id="newline"),
        pytest.param(
            {"feature": "f" * (MAX_LABEL_LENGTH + 1), "metric": "m", "value": "1"},
            "feature",
            id="129-char feature",
        ),
        pytest.param(
            {"feature": "f", "metric": "m" * (MAX_LABEL_LENGTH + 1), "value": "1"},
            "metric",
            id="129-char metric",
        ),
        pytest.param(
            {"feature": "f", "metric": "m", "value": "1", "valeu": "2"}, "valeu", id="unknown"
        ),
    ],
)
def test_the_legacy_endpoint_refuses_bad_parameters_and_stores_nothing(
    monitor_app: MonitorApp, query: dict[str, str], named: str
) -> None:
    assert monitor_app.post_legacy("kept", "m", 3.0).status_code == 200
    before = state(monitor_app)

    response = monitor_app.client.post(names.LEGACY_PATH, params=query, headers=monitor_app.auth)

    assert_refused(response, 422, named)
    assert state(monitor_app) == before


def test_a_128_char_legacy_feature_is_accepted(monitor_app: MonitorApp) -> None:
    feature = "f" * MAX_LABEL_LENGTH
    assert monitor_app.post_legacy(feature, "m", 1.0).status_code == 200
    assert scrape(monitor_app.metrics())[series(names.LEGACY_GAUGE, feature=feature, metric="m")]


# --- The JSON API: runs in, current state and history out ---


def test_a_run_is_acknowledged_and_readable_as_the_datasets_current_state(
    monitor_app: MonitorApp,
) -> None:
    document = shop_run()

    response = monitor_app.post_run(document)

    assert response.status_code == 201
    run_id = response.json()["run_id"]
    assert response.json() == {"dataset": "shop", "run_id": run_id, "current": True}
    current = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert current["run_id"] == run_id
    assert datetime.fromisoformat(current["run_at"]) == RUN_AT
    assert datetime.fromisoformat(current["received_at"]).tzinfo is not None
    for key in ("dataset", "batch", "reference", "settings", "summary", "features"):
        assert current[key] == document[key], key
    assert monitor_app.client.get(names.DATASETS_PATH).json() == [current]


def test_a_new_run_replaces_the_datasets_series_so_no_stale_feature_remains(
    monitor_app: MonitorApp,
) -> None:
    first = run_doc("shop", [feature_doc(n, 0.2) for n in "abc"])
    second = run_doc("shop", [feature_doc(n, 0.3) for n in "ab"], run_at=RUN_AT + timedelta(1))
    assert monitor_app.post_run(first).json()["current"] is True
    assert features_in_metrics(monitor_app.metrics(), "shop") == {"a", "b", "c"}

    assert monitor_app.post_run(second).json()["current"] is True

    text = monitor_app.metrics()
    assert features_in_metrics(text, "shop") == {"a", "b"}
    assert 'feature="c"' not in text
    samples = scrape(text)
    assert samples[series(names.P_VALUE, dataset="shop", feature="a")] == 0.3
    assert samples[series(names.FEATURES_TESTED, dataset="shop")] == 2
    current = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert [f["feature"] for f in current["features"]] == ["a", "b"]


def test_a_run_of_one_dataset_leaves_the_other_datasets_alone(monitor_app: MonitorApp) -> None:
    monitor_app.post_run(run_doc("shop", [feature_doc("a", 0.2)]))
    monitor_app.post_run(run_doc("bikes", [feature_doc("hr", 0.7)]))
    monitor_app.post_run(run_doc("shop", [feature_doc("z", 0.9)], run_at=RUN_AT + timedelta(1)))

    text = monitor_app.metrics()
    assert features_in_metrics(text, "bikes") == {"hr"}
    assert features_in_metrics(text, "shop") == {"z"}
    listed = monitor_app.client.get(names.DATASETS_PATH).json()
    assert [d["dataset"] for d in listed] == ["bikes", "shop"]


def test_an_older_run_posted_later_goes_to_history_without_replacing_the_current_one(
    monitor_app: MonitorApp,
) -> None:
    newer = run_doc("shop", [feature_doc("a", 0.25)], run_at=RUN_AT, batch="new.csv")
    older = run_doc(
        "shop", [feature_doc("old", 0.75)], run_at=RUN_AT - timedelta(hours=1), batch="old.csv"
    )
    newer_id = monitor_app.post_run(newer).json()["run_id"]
    metrics_before = monitor_app.metrics()

    response = monitor_app.post_run(older)

    assert response.status_code == 201
    assert response.json()["current"] is False
    assert monitor_app.metrics() == metrics_before
    current = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert (current["run_id"], current["batch"]) == (newer_id, "new.csv")
    history = monitor_app.client.get(HISTORY_PATH.format("shop")).json()
    assert [(h["batch"], h["run_id"]) for h in history] == [
        ("new.csv", newer_id),
        ("old.csv", response.json()["run_id"]),
    ]


def test_a_run_with_the_same_run_at_posted_later_becomes_current(
    monitor_app: MonitorApp,
) -> None:
    monitor_app.post_run(run_doc("shop", [feature_doc("a", 0.25)], batch="first.csv"))

    response = monitor_app.post_run(run_doc("shop", [feature_doc("a", 0.5)], batch="again.csv"))

    assert response.json()["current"] is True
    assert monitor_app.client.get(DATASET_PATH.format("shop")).json()["batch"] == "again.csv"


def test_history_is_newest_first_and_honours_the_limit(monitor_app: MonitorApp) -> None:
    hours = [3, 1, 4, 2]  # posted out of order
    for hour in hours:
        at = RUN_AT + timedelta(hours=hour)
        monitor_app.post_run(run_doc("shop", [feature_doc("a", 0.1)], run_at=at, batch=f"{hour}"))

    full = monitor_app.client.get(HISTORY_PATH.format("shop")).json()
    limited = monitor_app.client.get(HISTORY_PATH.format("shop"), params={"limit": 2}).json()

    assert [h["batch"] for h in full] == ["4", "3", "2", "1"]
    assert [h["batch"] for h in limited] == ["4", "3"]


@pytest.mark.parametrize("limit", ["0", "-1", "501", "many"])
def test_a_history_limit_out_of_range_is_refused(monitor_app: MonitorApp, limit: str) -> None:
    monitor_app.post_run(shop_run())
    response = monitor_app.client.get(HISTORY_PATH.format("shop"), params={"limit": limit})
    assert_refused(response, 422, "limit")


@pytest.mark.parametrize("path", [DATASET_PATH, HISTORY_PATH])
def test_an_unknown_dataset_is_404_with_a_json_error(monitor_app: MonitorApp, path: str) -> None:
    monitor_app.post_run(shop_run())
    assert_refused(monitor_app.client.get(path.format("nope")), 404, "nope")


def test_deleting_a_dataset_removes_its_runs_and_its_series(monitor_app: MonitorApp) -> None:
    monitor_app.post_run(shop_run())
    monitor_app.post_run(shop_run(run_at=(RUN_AT - timedelta(1)).isoformat()))
    monitor_app.post_run(run_doc("bikes", [feature_doc("hr", 0.7)]))
    monitor_app.post_legacy("temp", "psi", 0.5)
    assert 'dataset="shop"' in monitor_app.metrics()

    response = monitor_app.client.delete(DATASET_PATH.format("shop"), headers=monitor_app.auth)

    assert response.status_code == 204
    assert response.content == b""
    text = monitor_app.metrics()
    assert 'dataset="shop"' not in text
    assert features_in_metrics(text, "bikes") == {"hr"}
    assert scrape(text)[series(names.LEGACY_GAUGE, feature="temp", metric="psi")] == 0.5
    assert monitor_app.client.get(DATASET_PATH.format("shop")).status_code == 404
    assert monitor_app.client.get(HISTORY_PATH.format("shop")).status_code == 404
    assert [d["dataset"] for d in monitor_app.client.get(names.DATASETS_PATH).json()] == ["bikes"]
    assert monitor_app.row_counts() == (1, 1)


def test_deleting_an_unknown_dataset_is_404(monitor_app: MonitorApp) -> None:
    monitor_app.post_run(shop_run())
    before = state(monitor_app)

    response = monitor_app.client.delete(DATASET_PATH.format("nope"), headers=monitor_app.auth)

    assert_refused(response, 404, "nope")
    assert state(monitor_app) == before


def test_every_field_the_api_accepts_the_publisher_sends_and_reads_back(
    monitor_app: MonitorApp,
) -> None:
    """The run document is defined once (drift.document): drift.publish.run_document, the
    DAG's body, has every field of the API's description, and the monitor keeps each value."""
    import pandas as pd

    from drift import DriftConfig, compare
    from drift.publish import run_document

    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": [1.0, 1.0, 1.0], "k": ["a", "b", "a"]})
    current = pd.DataFrame({"x": [7.0, 8.0, 9.0], "c": [1.0, 1.0, 1.0], "k": ["b", "b", "b"]})
    # x and k tested (x sketched, so it has a ks_error_bound), the constant c skipped
    report = compare(reference, current, DriftConfig(max_distinct=2))
    document = run_document(report, "shop", "ref.csv", "b.csv", RUN_AT, stale_after_seconds=1200.0)
    schemas = monitor_app.client.get("/openapi.json").json()["components"]["schemas"]

    def fields(name: str) -> set[str]:
        return set(schemas[name]["properties"])

    assert set(document) == fields("Run")
    assert set(document["settings"]) == fields("Settings")
    assert set(document["summary"]) == fields("Summary")
    assert all(set(f) == fields("Feature") for f in document["features"])
    # and a value for each, not only a null: the skipped feature's reason, the tested ones' tests
    assert None not in (*document.values(), *document["summary"].values())
    produced = {k for f in document["features"] for k, v in f.items() if v is not None}
    assert produced == fields("Feature")

    assert monitor_app.post_run(document).status_code == 201
    kept = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert datetime.fromisoformat(kept.pop("run_at")) == RUN_AT
    assert {k: v for k, v in kept.items() if k not in ("run_id", "received_at")} == {
        k: v for k, v in document.items() if k != "run_at"
    }


# --- Bad input: a JSON error naming the problem, nothing stored, never a 5xx ---


def mutated(change: Callable[[dict[str, Any]], object]) -> bytes:
    document = shop_run()
    change(document)
    return json.dumps(document).encode()  # NaN and Infinity become their JS literals


def feature_b(**changes: Any) -> Callable[[dict[str, Any]], object]:
    return lambda d: d["features"][1].update(changes)


def too_many_features(document: dict[str, Any]) -> None:
    count = MAX_FEATURES + 1
    document["features"] = [feature_doc(f"f{i}", 0.5) for i in range(count)]
    document["summary"].update(features_tested=count, features_drifted=0, drifted=False)


BAD_BODIES = [
    pytest.param(b'{"dataset": "shop", "batch": ', "JSON decode error", id="malformed JSON"),
    pytest.param(b"", "body", id="empty body"),
    pytest.param(b"[]", "valid dictionary", id="array instead of object"),
    pytest.param(mutated(feature_b(p_value="0.5")), "features.1.p_value", id="string p_value"),
    pytest.param(mutated(feature_b(n_current=True)), "features.1.n_current", id="bool as int"),
    pytest.param(mutated(feature_b(n_current=90.0)), "features.1.n_current", id="float as int"),
    pytest.param(mutated(feature_b(drifted=0)), "features.1.drifted", id="int as bool"),
    pytest.param(mutated(lambda d: d.update(dataset=7)), "dataset", id="number as name"),
    pytest.param(mutated(lambda d: d.pop("settings")), "settings: Field required", id="missing"),
    pytest.param(
        mutated(lambda d: d["features"][1].pop("kind")), "features.1.kind", id="missing in feature"
    ),
    pytest.param(mutated(lambda d: d.update(colour="red")), "colour", id="extra field"),
    pytest.param(mutated(feature_b(colour="red")), "features.1.colour", id="extra in feature"),
    pytest.param(mutated(feature_b(p_value=float("nan"))), "features.1.p_value", id="NaN p"),
    pytest.param(
        mutated(feature_b(p_value_adjusted=float("nan"))), "p_value_adjusted", id="NaN adjusted"
    ),
    pytest.param(mutated(feature_b(statistic=float("inf"))), "statistic", id="Infinity"),
    pytest.param(mutated(feature_b(effect_size=float("-inf"))), "effect_size", id="-Infinity"),
    pytest.param(mutated(feature_b(p_value=1.5)), "features.1.p_value", id="p above 1"),
    pytest.param(mutated(feature_b(p_value=-0.01)), "features.1.p_value", id="p below 0"),
    pytest.param(mutated(feature_b(p_value_adjusted=2)), "p_value_adjusted", id="adjusted > 1"),
    pytest.param(mutated(feature_b(missing_share_current=1.01)), "missing_share", id="share > 1"),
    pytest.param(mutated(feature_b(n_reference=-1)), "n_reference", id="negative count"),
    pytest.param(mutated(feature_b(n_reference=2**64)), "n_reference", id="count beyond 2**53"),
    pytest.param(mutated(feature_b(n_current=10**400)), "n_current", id="count beyond a float"),
    pytest.param(mutated(lambda d: d["settings"].update(alpha=1)), "alpha", id="alpha 1"),
    pytest.param(
        mutated(lambda d: d["settings"].update(correction="holm")), "correction", id="correction"
    ),
    pytest.param(mutated(feature_b(status="done")), "status", id="unknown status"),
    pytest.param(
        mutated(feature_b(feature="f" * (MAX_LABEL_LENGTH + 1))),
        "features.1.feature",
        id="feature name too long",
    ),
    pytest.param(
        mutated(lambda d: d.update(dataset="d" * (MAX_LABEL_LENGTH + 1))),
        "dataset",
        id="dataset name too long",
    ),
    pytest.param(mutated(feature_b(feature="")), "features.1.feature", id="empty feature name"),
    pytest.param(mutated(feature_b(feature="a\nb")), "features.1.feature", id="newline in name"),
    pytest.param(mutated(lambda d: d.update(batch="b\x00.csv")), "batch", id="NUL in batch"),
    pytest.param(mutated(feature_b(kind="num\x7f")), "features.1.kind", id="DEL in kind"),
    pytest.param(mutated(too_many_features), "features", id="1001 features"),
    pytest.param(
        mutated(lambda d: d["features"].append(feature_doc("a", 0.5))), "unique", id="duplicate"
    ),
    pytest.param(
        mutated(lambda d: d["summary"].update(features_tested=3)),
        "summary says 3 tested",
        id="summary count disagrees",
    ),
    pytest.param(
        mutated(lambda d: d["summary"].update(drifted=False)),
        "summary.drifted",
        id="summary verdict disagrees",
    ),
    pytest.param(
        mutated(lambda d: d["summary"].update(features_skipped=0)),
        "0 skipped",
        id="summary skipped count disagrees",
    ),
    pytest.param(
        mutated(lambda d: d["summary"].update(features_skipped=-1)),
        "summary.features_skipped",
        id="negative skipped count",
    ),
    pytest.param(
        mutated(lambda d: d.update(dataset="shop/eu")), "cannot contain '/'", id="slash in dataset"
    ),
    pytest.param(mutated(lambda d: d.update(dataset="..")), "be '.' or '..'", id="dataset .."),
    pytest.param(mutated(lambda d: d.update(dataset=".")), "be '.' or '..'", id="dataset ."),
    pytest.param(
        mutated(feature_b(p_value=None)), "needs p_value", id="tested feature without p-value"
    ),
    pytest.param(
        mutated(lambda d: d["features"][2].update(drifted=True)),
        "skipped feature cannot have drifted",
        id="skipped feature drifted",
    ),
    pytest.param(
        mutated(feature_b(kind="categorical", test="chi2", ks_error_bound=0.01)),
        "ks_error_bound is for a feature tested with ks only",
        id="ks error bound on a chi2 feature",
    ),
    pytest.param(
        mutated(lambda d: d["features"][2].update(ks_error_bound=0.01)),
        "ks_error_bound is for a feature tested with ks only",
        id="ks error bound on a skipped feature",
    ),
    pytest.param(
        mutated(lambda d: d.update(run_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())),
        "future",
        id="run_at in the future",
    ),
    pytest.param(
        mutated(lambda d: d.update(run_at="2026-01-02T03:04:05")), "zone", id="run_at naive"
    ),
    pytest.param(mutated(lambda d: d.update(run_at="2026-01-02")), "run_at", id="run_at a date"),
    pytest.param(mutated(lambda d: d.update(run_at=1767323045)), "run_at", id="run_at a number"),
    pytest.param(mutated(lambda d: d.update(run_at="1767323045")), "run_at", id="numeric string"),
    pytest.param(mutated(lambda d: d.update(run_at="yesterday")), "run_at", id="run_at text"),
]


@pytest.mark.parametrize(("body", "named"), BAD_BODIES)
def test_a_bad_run_is_refused_with_the_problem_named_and_nothing_stored(
    monitor_app: MonitorApp, body: bytes, named: str
) -> None:
    assert monitor_app.post_run(run_doc("shop", [feature_doc("kept", 0.5)])).status_code == 201
    monitor_app.post_legacy("temp", "psi", 0.5)
    before = state(monitor_app)
    headers = {**monitor_app.auth, "Content-Type": "application/json"}

    response = monitor_app.client.post(names.RUNS_PATH, content=body, headers=headers)

    assert_refused(response, 422, named)
    assert state(monitor_app) == before


# (adjusted p-value, effect size, threshold, drifted) against alpha 0.05: each flag contradicts
# the material-drift condition the alert rules compute from the published numbers; and how the
# refusal shows those numbers (exactly: rounded, 0.0499999999 would read as alpha itself).
CONTRADICTED_FLAGS = [
    pytest.param(0.9, 0.01, 0.07, True,
                 "p-value 0.9 (alpha 0.05) and effect size 0.01 (threshold 0.07) make it false",
                 id="neither significant nor large, says drifted"),
    pytest.param(0.002, 0.5, 0.07, False,
                 "p-value 0.002 (alpha 0.05) and effect size 0.5 (threshold 0.07) make it true",
                 id="significant and large, says not drifted"),
    pytest.param(0.05, 0.5, 0.07, True,
                 "p-value 0.05 (alpha 0.05) and effect size 0.5 (threshold 0.07) make it false",
                 id="adjusted p equal to alpha, says drifted"),
    pytest.param(0.0499999999, 0.5, 0.07, False,
                 "p-value 0.0499999999 (alpha 0.05) and effect size 0.5 (threshold 0.07) make "
                 "it true",
                 id="adjusted p just under alpha, says not drifted"),
    pytest.param(0.002, 0.0699, 0.07, True,
                 "p-value 0.002 (alpha 0.05) and effect size 0.0699 (threshold 0.07) make it "
                 "false",
                 id="effect just under its threshold, says drifted"),
    pytest.param(0.002, None, 0.0, True,
                 "p-value 0.002 (alpha 0.05) and effect size unknown (threshold 0.0) make it "
                 "false",
                 id="unknown effect size, says drifted"),
]  # fmt: skip


@pytest.mark.parametrize(("adjusted", "effect", "threshold", "flag", "shown"), CONTRADICTED_FLAGS)
def test_a_drifted_flag_that_contradicts_the_condition_is_refused_and_nothing_stored(
    monitor_app: MonitorApp,
    adjusted: float,
    effect: float | None,
    threshold: float,
    flag: bool,
    shown: str,
) -> None:
    changes = {"p_value_adjusted": adjusted, "effect_size": effect}
    feature = feature_doc("a", adjusted, drifted=flag, effect_size_threshold=threshold, **changes)
    before = state(monitor_app)

    response = monitor_app.post_run(run_doc("shop", [feature, feature_doc("b", 0.5)]))

    assert_refused(response, 422, f"feature 'a' says drifted {str(flag).lower()}, but its")
    assert_refused(response, 422, f"its adjusted {shown}: a feature drifts when")
    assert state(monitor_app) == before


@pytest.mark.parametrize(
    ("adjusted", "effect", "threshold", "flag"),
    [
        (0.049, 0.07, 0.07, True),  # at its threshold: reached
        (0.05, 0.5, 0.07, False),  # p equal to alpha: not significant
        (0.9, 0.5, 0.07, False),
        (0.002, 0.01, 0.07, False),
    ],
)
def test_a_drifted_flag_that_matches_the_condition_is_accepted(
    monitor_app: MonitorApp, adjusted: float, effect: float, threshold: float, flag: bool
) -> None:
    changes = {"p_value_adjusted": adjusted, "effect_size": effect}
    feature = feature_doc("a", adjusted, drifted=flag, effect_size_threshold=threshold, **changes)

    assert monitor_app.post_run(run_doc("shop", [feature])).status_code == 201


def test_a_feature_without_ks_error_bound_is_accepted_as_computed_exactly(
    monitor_app: MonitorApp,
) -> None:
    """Clients from before the sketch's bound was sent leave it out."""
    document = shop_run()
    for feature in document["features"]:
        del feature["ks_error_bound"]

    assert monitor_app.post_run(document).status_code == 201
    kept = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert [f["ks_error_bound"] for f in kept["features"]] == [None, None, None]


def test_a_run_stored_with_a_contradicted_flag_still_loads() -> None:
    """Runs accepted before the check: the database keeps loading them as they were."""
    feature = feature_doc("a", 0.45, drifted=True, effect_size=0.01, effect_size_threshold=0.07)
    body = json.dumps(run_doc("shop", [feature]))

    with pytest.raises(ValueError, match="feature 'a' says drifted true"):
        Run.model_validate_json(body)
    assert Run.model_validate_json(body, context=STORED).features[0].drifted


def test_a_body_over_one_mebibyte_is_refused_with_413(monitor_app: MonitorApp) -> None:
    monitor_app.post_run(run_doc("shop", [feature_doc("kept", 0.5)]))
    before = state(monitor_app)
    document = json.dumps(shop_run()).encode()
    body = document + b" " * (ONE_MIB + 1 - len(document))  # still valid JSON
    headers = {**monitor_app.auth, "Content-Type": "application/json"}

    response = monitor_app.client.post(names.RUNS_PATH, content=body, headers=headers)

    assert_refused(response, 413, "larger than")
    assert state(monitor_app) == before
    exactly_the_limit = body[:-1]
    response = monitor_app.client.post(names.RUNS_PATH, content=exactly_the_limit, headers=headers)
    assert response.status_code == 201


def test_writes_beyond_the_series_cap_are_refused_and_replacements_still_fit(
    make_monitor_app: Callable[..., MonitorApp],
) -> None:
    two_features = run_doc("shop", [feature_doc("a", 0.1), feature_doc("b", 0.2)])
    cap = series_of(Run.model_validate_json(json.dumps(two_features))) + 2
    app = make_monitor_app(max_series=cap)
    assert app.post_run(two_features).status_code == 201
    assert app.post_legacy("temp", "psi", 1.0).status_code == 200
    assert app.post_legacy("hum", "psi", 2.0).status_code == 200  # the cap, exactly
    before = state(app)

    assert_refused(app.post_legacy("wind", "psi", 3.0), 422, f"limited to {cap} series")
    assert_refused(app.post_run(run_doc("bikes", [feature_doc("hr", 0.5)])), 422, "series")
    three = run_doc("shop", [feature_doc(n, 0.5) for n in "abc"], run_at=RUN_AT + timedelta(1))
    assert_refused(app.post_run(three), 422, "series")
    assert state(app) == before

    # Replacing what is there needs no room.
    assert app.post_legacy("temp", "psi", 9.0).status_code == 200
    two_again = run_doc("shop", [feature_doc("y", 0.3), feature_doc("z", 0.4)], RUN_AT)
    assert app.post_run(two_again).json()["current"] is True
    # Once a dataset is deleted its series are free again.
    assert app.client.delete(DATASET_PATH.format("shop"), headers=app.auth).status_code == 204
    assert app.post_run(run_doc("bikes", [feature_doc("hr", 0.5)])).status_code == 201


# --- The write token ---

WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", names.RUNS_PATH, {"json": run_doc("other", [feature_doc("a", 0.5)])}),
    ("POST", names.LEGACY_PATH, {"params": {"feature": "f", "metric": "m", "value": "1"}}),
    ("DELETE", DATASET_PATH.format("shop"), {}),
]


@pytest.mark.parametrize(("method", "path", "request_args"), WRITES, ids=["run", "legacy", "del"])
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {MONITOR_TOKEN}x"},
        {"Authorization": f"Bearer {MONITOR_TOKEN[:-1]}"},
        {"Authorization": f"Basic {MONITOR_TOKEN}"},
        {"Authorization": MONITOR_TOKEN},
    ],
    ids=["none", "wrong", "longer", "shorter", "basic", "bare"],
)
def test_writes_without_the_right_token_are_401_and_change_nothing(
    monitor_app: MonitorApp,
    method: str,
    path: str,
    request_args: dict[str, Any],
    headers: dict[str, str],
) -> None:
    monitor_app.post_run(shop_run())
    before = state(monitor_app)

    response = monitor_app.client.request(method, path, headers=headers, **request_args)

    assert_refused(response, 401, "token")
    assert response.headers["www-authenticate"] == "Bearer"
    assert state(monitor_app) == before


@pytest.mark.parametrize(("method", "path", "request_args"), WRITES, ids=["run", "legacy", "del"])
def test_writes_with_the_right_token_succeed(
    monitor_app: MonitorApp, method: str, path: str, request_args: dict[str, Any]
) -> None:
    monitor_app.post_run(shop_run())
    before = state(monitor_app)

    response = monitor_app.client.request(method, path, headers=monitor_app.auth, **request_args)

    assert response.status_code in (200, 201, 204), response.text
    assert state(monitor_app) != before


def test_reads_need_no_token(monitor_app: MonitorApp) -> None:
    monitor_app.post_run(shop_run())
    for path in (
        "/metrics", "/healthz", "/readyz", "/", "/openapi.json", names.DATASETS_PATH,
        DATASET_PATH.format("shop"), HISTORY_PATH.format("shop"),
    ):  # fmt: skip
        assert monitor_app.client.get(path).status_code == 200, path


def test_without_a_token_writes_need_no_header(
    make_monitor_app: Callable[..., MonitorApp],
) -> None:
    app = make_monitor_app(token=None)
    assert app.client.post(names.RUNS_PATH, json=shop_run()).status_code == 201
    legacy = app.client.post(names.LEGACY_PATH, params={"feature": "f", "metric": "m", "value": 1})
    assert legacy.text == "ok"
    assert app.client.delete(DATASET_PATH.format("shop")).status_code == 204
    assert app.row_counts() == (0, 1)


def call(server: MonitorServer, method: str, path: str, **request_args: Any) -> int:
    """One request to a real server: its status."""
    return requests.request(method, server.url + path, timeout=10, **request_args).status_code


def test_the_token_never_reaches_the_servers_logs(tmp_path: Path) -> None:
    server = MonitorServer(tmp_path / "monitor.db", tmp_path / "monitor.log", MONITOR_TOKEN)
    server.start()
    try:
        good = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
        bad = {"Authorization": f"Bearer {MONITOR_TOKEN}-but-wrong"}
        legacy = {"feature": "f", "metric": "m", "value": "1"}
        answers = [
            call(server, "POST", names.RUNS_PATH, json=shop_run(), headers=good),
            call(server, "POST", names.RUNS_PATH, json=shop_run(), headers=bad),
            call(server, "POST", names.RUNS_PATH, json={"x": 1}, headers=good),
            call(server, "POST", names.RUNS_PATH, data=b"{", headers=good),
            call(server, "POST", names.LEGACY_PATH, params=legacy, headers=good),
            call(server, "POST", names.LEGACY_PATH, params=legacy, headers=bad),
            call(server, "DELETE", DATASET_PATH.format("x"), headers=good),
            call(server, "GET", "/metrics", headers=good),
        ]
    finally:
        server.stop()

    assert answers == [201, 401, 422, 422, 200, 401, 404, 200]
    log = server.log.read_text()
    assert f"POST {names.RUNS_PATH} HTTP/1.1" in log  # the access log was captured
    assert MONITOR_TOKEN not in log
    assert MONITOR_TOKEN[:8] not in log
    assert f"{names.MONITOR_TOKEN_ENV} is not set" not in log


def test_the_server_warns_at_start_when_it_has_no_token(tmp_path: Path) -> None:
    server = MonitorServer(db=tmp_path / "monitor.db", log=tmp_path / "monitor.log", token=None)
    server.start()
    try:
        status = call(server, "POST", names.RUNS_PATH, json=shop_run())
    finally:
        server.stop()

    assert status == 201  # open, as the warning says
    warnings = [line for line in server.log.read_text().splitlines() if "WARNING" in line]
    assert any(f"{names.MONITOR_TOKEN_ENV} is not set" in line for line in warnings), warnings


def test_an_empty_token_is_no_token(tmp_path: Path) -> None:
    server = MonitorServer(tmp_path / "monitor.db", tmp_path / "monitor.log", token="")
    server.start()
    try:
        with_some_token = {"Authorization": "Bearer anything"}
        answers = [
            call(server, "POST", names.RUNS_PATH, json=shop_run()),
            call(server, "POST", names.RUNS_PATH, json=shop_run(), headers=with_some_token),
        ]
    finally:
        server.stop()

    assert answers == [201, 201]
    assert f"{names.MONITOR_TOKEN_ENV} is not set" in server.log.read_text()


# --- Health and the description of the API ---


def test_healthz_and_readyz_answer_200(monitor_app: MonitorApp) -> None:
    assert monitor_app.client.get("/healthz").json() == {"status": "ok"}
    ready = monitor_app.client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ready"})


def test_readyz_is_503_when_the_database_does_not_answer(monitor_app: MonitorApp) -> None:
    monitor_app.store.close()

    response = monitor_app.client.get("/readyz")

    assert_refused(response, 503, "database")
    assert monitor_app.client.get("/healthz").status_code == 200


def test_the_openapi_description_lists_every_route_with_its_methods(
    monitor_app: MonitorApp,
) -> None:
    description = monitor_app.client.get("/openapi.json").json()
    paths = {path: set(operations) for path, operations in description["paths"].items()}

    assert paths == {
        names.RUNS_PATH: {"post"},
        names.DATASETS_PATH: {"get"},
        DATASET_PATH.format("{dataset}"): {"get", "delete"},
        HISTORY_PATH.format("{dataset}"): {"get"},
        names.LEGACY_PATH: {"post"},
        "/metrics": {"get"},
        "/healthz": {"get"},
        "/readyz": {"get"},
        "/": {"get"},
    }
    schemas = description["components"]["schemas"]
    run = schemas["Run"]
    assert set(run["required"]) == {n for n, f in Run.model_fields.items() if f.is_required()}
    assert run["additionalProperties"] is False
    runs = description["paths"][names.RUNS_PATH]["post"]
    assert set(runs["responses"]) >= {"201", "401", "413", "422"}
    assert runs["security"] == [{"HTTPBearer": []}]


def test_the_openapi_description_documents_errors_as_json_even_for_the_legacy_endpoint(
    monitor_app: MonitorApp,
) -> None:
    legacy = monitor_app.client.get("/openapi.json").json()["paths"][names.LEGACY_PATH]["post"]

    assert set(legacy["responses"]["200"]["content"]) == {"text/plain"}
    for status in ("401", "422"):
        assert set(legacy["responses"][status]["content"]) == {"application/json"}, status


def test_a_wrong_method_or_path_is_a_json_error_with_the_allowed_methods(
    monitor_app: MonitorApp,
) -> None:
    wrong_method = monitor_app.client.request("PUT", DATASET_PATH.format("shop"))
    unknown = monitor_app.client.get("/api/v2/nothing")

    assert_refused(wrong_method, 405, "not allowed")
    assert set(wrong_method.headers["allow"].split(", ")) == {"GET", "DELETE"}
    assert_refused(unknown, 404, "not found")


def test_a_run_read_back_from_the_api_can_be_posted_again(monitor_app: MonitorApp) -> None:
    """What GET returns can be posted again after removing the server's fields."""
    monitor_app.post_run(shop_run())
    current = copy.deepcopy(monitor_app.client.get(DATASET_PATH.format("shop")).json())
    del current["run_id"], current["received_at"]

    response = monitor_app.post_run(current)

    assert response.status_code == 201, response.text
    assert response.json()["current"] is True


# --- The summary's count of skipped features; dataset names that stay readable ---


def test_a_run_without_features_skipped_is_accepted_and_gets_it_counted(
    monitor_app: MonitorApp,
) -> None:
    """Clients written before features_skipped existed keep working."""
    document = shop_run()  # one of its three features is skipped
    del document["summary"]["features_skipped"]

    assert monitor_app.post_run(document).status_code == 201

    current = monitor_app.client.get(DATASET_PATH.format("shop")).json()
    assert current["summary"]["features_skipped"] == 1
    samples = scrape(monitor_app.metrics())
    assert samples[series(names.FEATURES_SKIPPED, dataset="shop")] == 1


def test_runs_stored_before_features_skipped_existed_still_load(tmp_path: Path) -> None:
    import sqlite3

    from monitor.store import Store

    document = shop_run()
    del document["summary"]["features_skipped"]
    db = tmp_path / "old.db"
    Store(db, series_of, max_series=1_000, keep_runs=10).close()  # creates the tables
    with sqlite3.connect(db) as connection:  # a row as the monitor wrote it before
        connection.execute(
            "INSERT INTO runs (dataset, run_at, received_at, body) VALUES (?, ?, ?, ?)",
            ("shop", RUN_AT.timestamp(), RUN_AT.timestamp(), json.dumps(document)),
        )
    connection.close()

    store = Store(db, series_of, max_series=1_000, keep_runs=10)
    try:
        assert store.current["shop"].run.summary.features_skipped == 1
    finally:
        store.close()


def test_a_dataset_accepted_is_readable_and_deletable_at_its_url(monitor_app: MonitorApp) -> None:
    name = "shop eu.v2 ?#%"  # anything but a "/" is one path segment, once quoted
    assert monitor_app.post_run(shop_run(dataset=name)).status_code == 201
    url = DATASET_PATH.format(quote(name, safe=""))

    assert monitor_app.client.get(url).json()["dataset"] == name
    assert monitor_app.client.delete(url, headers=monitor_app.auth).status_code == 204


def test_a_run_stored_with_a_slash_in_its_dataset_still_validates_as_stored() -> None:
    """Such runs were accepted before the rule: the database keeps loading them."""
    body = json.dumps(shop_run(dataset="shop/eu"))

    with pytest.raises(ValueError, match="cannot contain '/'"):
        Run.model_validate_json(body)
    assert Run.model_validate_json(body, context=STORED).dataset == "shop/eu"


def test_a_run_stored_with_a_ks_error_bound_on_a_chi2_feature_still_validates_as_stored() -> None:
    """Such runs were accepted before the rule: the database keeps loading them."""
    document = shop_run()
    document["features"][1].update(kind="categorical", test="chi2", ks_error_bound=0.01)
    body = json.dumps(document)

    with pytest.raises(ValueError, match="ks_error_bound is for a feature tested with ks only"):
        Run.model_validate_json(body)
    assert Run.model_validate_json(body, context=STORED).features[1].ks_error_bound == 0.01


def test_the_openapi_description_says_which_dataset_names_are_refused(
    monitor_app: MonitorApp,
) -> None:
    schemas = monitor_app.client.get("/openapi.json").json()["components"]["schemas"]
    description = schemas["Run"]["properties"]["dataset"]["description"]

    assert "no '/'" in description and "'..'" in description
    summary = schemas["Summary"]
    assert "features_skipped" in summary["properties"]
    assert "features_skipped" not in summary["required"]


def test_a_dataset_named_runs_is_readable_and_deletable(monitor_app: MonitorApp) -> None:
    """The history's path ends in "/runs": a dataset named just so is still a dataset."""
    assert monitor_app.post_run(shop_run(dataset="runs")).status_code == 201

    current = monitor_app.client.get(DATASET_PATH.format("runs"), follow_redirects=False)
    history = monitor_app.client.get(HISTORY_PATH.format("runs"), follow_redirects=False)
    deleted = monitor_app.client.delete(DATASET_PATH.format("runs"), headers=monitor_app.auth)

    assert (current.status_code, current.json()["dataset"]) == (200, "runs")
    assert (history.status_code, [run["dataset"] for run in history.json()]) == (200, ["runs"])
    assert deleted.status_code == 204
    assert "runs" not in monitor_app.store.current
    assert 'dataset="runs"' not in monitor_app.metrics()


def test_a_stored_dataset_whose_name_ends_in_runs_is_readable_through_its_history(
    tmp_path: Path,
) -> None:
    """Stored before "/" was refused: only its history is readable (its current run's path is
    the history of "team"); a DELETE there is the history's 405, which allows GET only."""
    import sqlite3

    from fastapi.testclient import TestClient

    from monitor.app import create_app
    from monitor.store import Store

    db = tmp_path / "old.db"
    Store(db, series_of, max_series=1_000, keep_runs=10).close()  # creates the tables
    with sqlite3.connect(db) as connection:  # a row as the monitor wrote it before the rule
        connection.execute(
            "INSERT INTO runs (dataset, run_at, received_at, body) VALUES (?, ?, ?, ?)",
            ("team/runs", RUN_AT.timestamp(), RUN_AT.timestamp(),
             json.dumps(shop_run(dataset="team/runs"))),
        )  # fmt: skip
    connection.close()
    store = Store(db, series_of, max_series=1_000, keep_runs=10)
    try:
        with TestClient(create_app(store, None)) as client:
            history = client.get(HISTORY_PATH.format("team/runs"))
            refused = client.delete(DATASET_PATH.format("team/runs"))
            options = client.options(HISTORY_PATH.format("0"))
        assert [run["dataset"] for run in history.json()] == ["team/runs"]
        assert (refused.status_code, refused.headers["allow"]) == (405, "GET")
        assert options.headers["allow"] == "GET"  # any history's path: what its schema says
        assert "team/runs" in store.current
    finally:
        store.close()
