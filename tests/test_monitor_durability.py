"""Durability: every write the monitor acknowledged survives a crash (SIGKILL) of the real
server, and a write that fails half-way leaves nothing behind."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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
from monitor.schema import Run
from monitor.store import Store

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

HOUR = timedelta(hours=1)
RUN_FIELDS = ("dataset", "batch", "reference", "settings", "summary", "features")


def post(server: MonitorServer, path: str, **request_args: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {server.token}"}
    return requests.post(server.url + path, headers=headers, timeout=10, **request_args)


def get(server: MonitorServer, path: str) -> Any:
    response = requests.get(server.url + path, timeout=10)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def same_run(shown: dict[str, Any], posted: dict[str, Any]) -> bool:
    """What the API shows is the run that was posted."""
    moment = datetime.fromisoformat
    same_time = moment(shown["run_at"]) == moment(posted["run_at"])
    return same_time and all(shown[k] == posted[k] for k in RUN_FIELDS)


def test_every_acknowledged_write_survives_a_sigkill(tmp_path: Path) -> None:
    server = MonitorServer(tmp_path / "monitor.db", tmp_path / "monitor.log", MONITOR_TOKEN)
    server.start()
    try:
        posted = [  # (run, current when acknowledged), in the order sent
            (run_doc("shop", [feature_doc(n, 0.25) for n in "abc"], RUN_AT, "s1.csv"), True),
            (run_doc("bikes", [feature_doc("hr", 0.001, drifted=True)], RUN_AT, "b1.csv"), True),
            (run_doc("shop", [feature_doc(n, 0.5) for n in "ab"], RUN_AT + HOUR, "s2.csv"), True),
            (run_doc("shop", [feature_doc("old", 0.75)], RUN_AT - HOUR, "s0.csv"), False),
            (
                run_doc("bikes", [feature_doc("hr", 0.9), feature_doc("temp", None)],
                        RUN_AT + 2 * HOUR, "b2.csv"),
                True,
            ),
        ]  # fmt: skip
        run_ids: list[int] = []
        for document, current in posted:
            response = post(server, names.RUNS_PATH, json=document)
            assert response.status_code == 201, response.text
            assert response.json()["current"] is current
            run_ids.append(response.json()["run_id"])
        legacy = [("temp", "psi", 1.0), ("hum", "psi", 0.125), ("temp", "psi", -3.5)]
        for feature, metric, value in legacy:
            params = {"feature": feature, "metric": metric, "value": repr(value)}
            response = post(server, names.LEGACY_PATH, params=params)
            assert (response.status_code, response.text) == (200, "ok")

        server.kill()  # at once after the last acknowledgement: no graceful shutdown
        assert server.process is not None
        assert server.process.returncode == -signal.SIGKILL

        server.start()  # the same database file and port
        scraped = requests.get(server.url + "/metrics", timeout=10)
        datasets = get(server, names.DATASETS_PATH)
        shop_history = get(server, names.DATASETS_PATH + "/shop/runs")
        bikes_history = get(server, names.DATASETS_PATH + "/bikes/runs")
        later = post(server, names.RUNS_PATH, json=run_doc("new", [feature_doc("n", 0.5)]))
    finally:
        server.stop()

    assert scraped.status_code == 200
    text = scraped.text
    samples = scrape(text)
    shop, bikes = posted[2][0], posted[4][0]
    for document in (shop, bikes):
        for feature in document["features"]:
            labels = {
                names.DATASET_LABEL: document["dataset"],
                names.FEATURE_LABEL: feature["feature"],
            }
            if feature["status"] == "tested":
                for name, key in (
                    (names.P_VALUE, "p_value"),
                    (names.P_VALUE_ADJUSTED, "p_value_adjusted"),
                    (names.DRIFTED, "drifted"),
                ):
                    assert samples[series(name, **labels)] == feature[key], (name, labels)
            sides = (("reference", "n_reference"), ("current", "n_current"))
            for side, key in sides:
                size = series(names.SAMPLE_SIZE, **labels, **{names.BATCH_LABEL: side})
                assert samples[size] == feature[key]
            dataset = {names.DATASET_LABEL: document["dataset"]}
            at = datetime.fromisoformat(document["run_at"]).timestamp()
            assert samples[series(names.LAST_RUN_TIMESTAMP, **dataset)] == at
    assert 'feature="c"' not in text and 'feature="old"' not in text
    assert samples[series(names.LEGACY_GAUGE, feature="temp", metric="psi")] == -3.5
    assert samples[series(names.LEGACY_GAUGE, feature="hum", metric="psi")] == 0.125

    assert [(d["dataset"], d["run_id"]) for d in datasets] == [
        ("bikes", run_ids[4]),
        ("shop", run_ids[2]),
    ]
    assert same_run(datasets[0], bikes) and same_run(datasets[1], shop)
    assert [h["run_id"] for h in shop_history] == [run_ids[2], run_ids[0], run_ids[3]]
    assert [h["run_id"] for h in bikes_history] == [run_ids[4], run_ids[1]]
    for history, indexes in ((shop_history, (2, 0, 3)), (bikes_history, (4, 1))):
        for shown, index in zip(history, indexes, strict=True):
            assert same_run(shown, posted[index][0]), index

    assert later.status_code == 201
    assert later.json()["run_id"] > max(run_ids)  # ids are never reused after a crash


@contextlib.contextmanager
def failing(db: Path, table: str, event: str) -> Iterator[None]:
    """Make every matching statement on the table fail, through a connection of its own."""
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as connection:
        connection.execute(
            f"CREATE TRIGGER fail BEFORE {event} ON {table} "
            "BEGIN SELECT RAISE(ABORT, 'the disk is on fire'); END"
        )
        try:
            yield
        finally:
            connection.execute("DROP TRIGGER fail")


def run(document: dict[str, Any]) -> Run:
    return Run.model_validate_json(json.dumps(document))


def test_a_run_that_fails_after_its_insert_is_rolled_back_entirely(tmp_path: Path) -> None:
    """With one run kept per dataset, a write is an INSERT and then a DELETE of the older run;
    the DELETE fails here, after the INSERT succeeded."""
    db = tmp_path / "monitor.db"
    store = Store(db, series_of, max_series=1000, keep_runs=1)
    first = run(run_doc("shop", [feature_doc("a", 0.5)], RUN_AT))
    second = run(run_doc("shop", [feature_doc("b", 0.25)], RUN_AT + HOUR))
    stored_first, _ = store.add_run(first)
    version = store.version

    with failing(db, "runs", "DELETE"), pytest.raises(sqlite3.DatabaseError, match="on fire"):
        store.add_run(second)

    assert store.current["shop"] == stored_first
    assert store.version == version
    assert [s.run for s in store.history("shop", 10)] == [first]
    store.close()
    with contextlib.closing(sqlite3.connect(db)) as connection:
        rows = connection.execute("SELECT id FROM runs").fetchall()
    assert rows == [(stored_first.id,)]
    reopened = Store(db, series_of, max_series=1000, keep_runs=1)
    assert reopened.current["shop"].run == first
    # Without the fault the same write goes through: the failure above was the fault's.
    assert reopened.add_run(second)[1] is True
    assert [s.run for s in reopened.history("shop", 10)] == [second]
    reopened.close()


def test_a_legacy_value_that_fails_to_commit_is_not_shown(tmp_path: Path) -> None:
    db = tmp_path / "monitor.db"
    store = Store(db, series_of, max_series=1000, keep_runs=10)
    store.set_legacy("temp", "psi", 1.0)
    version = store.version

    with failing(db, "legacy", "UPDATE"), pytest.raises(sqlite3.DatabaseError, match="on fire"):
        store.set_legacy("temp", "psi", 2.0)
    with failing(db, "legacy", "INSERT"), pytest.raises(sqlite3.DatabaseError, match="on fire"):
        store.set_legacy("hum", "psi", 3.0)

    assert dict(store.legacy) == {("temp", "psi"): 1.0}
    assert store.version == version
    store.close()
    assert dict(Store(db, series_of, max_series=1000, keep_runs=10).legacy) == {
        ("temp", "psi"): 1.0
    }


def test_a_database_failure_is_a_5xx_the_publisher_retries_and_changes_nothing(
    make_monitor_app: Callable[..., MonitorApp],
) -> None:
    app = make_monitor_app(keep_runs=1)
    assert app.post_run(run_doc("shop", [feature_doc("a", 0.5)], RUN_AT)).status_code == 201
    metrics, rows = app.metrics(), app.row_counts()

    with failing(app.db, "runs", "DELETE"):
        response = app.post_run(run_doc("shop", [feature_doc("b", 0.5)], RUN_AT + HOUR))

    assert response.status_code == 503  # which send_run retries
    assert response.json() == {"error": "the monitor's storage failed; nothing was stored"}
    assert (app.metrics(), app.row_counts()) == (metrics, rows)
    assert app.client.get(names.DATASETS_PATH + "/shop").json()["features"][0]["feature"] == "a"
