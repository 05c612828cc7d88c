"""The status page's HTML in process: each stored run is parsed once, and each view shows
the latest state whatever the write (the browser tests are in test_monitor_page.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

import names
from conftest import RUN_AT, MonitorApp, feature_doc, run_doc
from monitor.page import StatusPage
from monitor.schema import Run

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")

HISTORY = f"{names.DATASETS_PATH}/shop/runs"
CHART = re.compile(r'aria-label="adjusted p-values: ([^"]*)"')


def day(n: int) -> datetime:
    return RUN_AT + timedelta(days=n)


def charts(page: str) -> dict[str, str]:
    """Each dataset's chart of its one feature: the adjusted p-values, oldest run first."""
    sections = re.findall(r'<section id="dataset-([^"]*)">(.*?)</section>', page)
    return {name: ", ".join(CHART.findall(html)) for name, html in sections}


def post(app: MonitorApp, dataset: str, p_value: float, run_at: datetime) -> None:
    # feature_doc sets the adjusted p-value to twice the raw one.
    response = app.post_run(run_doc(dataset, [feature_doc("temp", p_value)], run_at=run_at))
    assert response.status_code == 201, response.text


def test_a_view_parses_only_the_stored_runs_it_has_not_seen(
    monitor_app: MonitorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n, p_value in enumerate((0.1, 0.2, 0.3), start=1):
        post(monitor_app, "shop", p_value, day(n))
    post(monitor_app, "bikes", 0.25, day(1))
    run_ids = [run["run_id"] for run in monitor_app.client.get(HISTORY).json()]  # newest first
    page = StatusPage(monitor_app.store)  # a page as after a restart: it has seen nothing
    parsed: list[int] = []
    read = monitor_app.store.p_values
    monkeypatch.setattr(monitor_app.store, "p_values", lambda ids: parsed.extend(ids) or read(ids))

    assert charts(page.render().decode()) == {"bikes": "0.5", "shop": "0.2, 0.4, 0.6"}
    assert sorted(parsed) == sorted(run_ids[1:])  # the current runs are in memory
    assert charts(page.render().decode()) == {"bikes": "0.5", "shop": "0.2, 0.4, 0.6"}
    post(monitor_app, "shop", 0.4, day(4))
    assert charts(page.render().decode()) == {"bikes": "0.5", "shop": "0.2, 0.4, 0.6, 0.8"}
    assert sorted(parsed) == sorted(run_ids[1:])  # nothing more: each run is parsed once

    post(monitor_app, "shop", 0.05, day(0))  # an older run, posted later
    older = monitor_app.client.get(HISTORY, params={"limit": 500}).json()[-1]["run_id"]
    assert charts(page.render().decode()) == {"bikes": "0.5", "shop": "0.1, 0.2, 0.4, 0.6, 0.8"}
    assert sorted(parsed) == sorted([*run_ids[1:], older])


def test_a_first_view_reads_past_runs_p_values_without_validating_whole_runs(
    monitor_app: MonitorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What keeps the first view after a restart cheap (bench/monitor_page.py times it)."""
    first = run_doc("shop", [feature_doc("temp", 0.1), feature_doc("gone", None)], run_at=day(1))
    assert monitor_app.post_run(first).status_code == 201  # a skipped feature: no p-value
    for n, p_value in enumerate((0.2, 0.3, 0.05), start=2):
        post(monitor_app, "shop", p_value, day(n))

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("a whole run was validated")

    monkeypatch.setattr(Run, "model_validate_json", refuse)
    page = StatusPage(monitor_app.store).render().decode()

    assert charts(page) == {"shop": "0.2, 0.4, 0.6, 0.1"}


def test_every_kind_of_write_shows_on_the_next_view(monitor_app: MonitorApp) -> None:
    post(monitor_app, "shop", 0.1, day(1))
    post(monitor_app, "shop", 0.2, day(2))
    assert charts(monitor_app.client.get("/").text) == {"shop": "0.2, 0.4"}

    post(monitor_app, "shop", 0.3, day(0))  # an older run, posted later
    assert charts(monitor_app.client.get("/").text) == {"shop": "0.6, 0.2, 0.4"}

    post(monitor_app, "shop", 0.05, day(2))  # the same run_at again: it becomes current
    assert charts(monitor_app.client.get("/").text) == {"shop": "0.6, 0.2, 0.4, 0.1"}
    assert '<td class="num">0.05</td>' in monitor_app.client.get("/").text  # its p-value

    deleted = monitor_app.client.delete(f"{names.DATASETS_PATH}/shop", headers=monitor_app.auth)
    assert deleted.status_code == 204
    assert charts(monitor_app.client.get("/").text) == {}

    post(monitor_app, "shop", 0.4, day(3))
    assert charts(monitor_app.client.get("/").text) == {"shop": "0.8"}
