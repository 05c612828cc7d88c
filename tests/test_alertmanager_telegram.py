"""Delivery end to end on real components: the monitor, the real Prometheus evaluating the
exported rules, the real Alertmanager, and a fake Telegram Bot API on loopback that records
sendMessage. A drift run becomes one Telegram message; a no-drift run sends nothing; the
resolved message arrives when the drift ends; a scheduled dataset past its limit is reported
stale, a dataset run by hand never."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

import names
from conftest import (
    DATA,
    ROOT,
    MonitorServer,
    PrometheusServer,
    free_port,
    stop_process_group,
    wait_for,
)
from drift import DriftReport, compare, load_config, read_batch
from drift.publish import run_document, send_run
from fake_telegram import FakeTelegram

ALERTMANAGER = Path("/usr/bin/prometheus-alertmanager")
TOKEN = "123456:fake-test-token"
CHAT_ID = "-1001234567890"
# Fast timings for the test; the defaults are measured by bench/telegram_latency.py.
FAST = {
    "PROVISION__VALUES__ALERTING__INTERVAL": "1s",
    "PROVISION__VALUES__ALERTING__PENDING_PERIOD": "1s",
    "PROVISION__VALUES__POLICY__GROUP_WAIT": "1s",
    "PROVISION__VALUES__POLICY__GROUP_INTERVAL": "1s",
}


@pytest.fixture
def telegram() -> Iterator[tuple[str, list[dict]]]:
    """A fake Telegram Bot API: (its URL, the sendMessage calls it received)."""
    with FakeTelegram() as fake:
        yield fake.url, fake.sent


@pytest.fixture
def alertmanager(tmp_path: Path, telegram: tuple[str, list[dict]]) -> Iterator[str]:
    """The real Alertmanager with the exported configuration; yields host:port."""
    if not ALERTMANAGER.exists():
        pytest.skip(f"{ALERTMANAGER} not installed (make system-packages installs it)")
    exported = tmp_path / "alerting"
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PROVISION__")}
    subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), "export", "--target", "prometheus",
         str(exported), "--telegram-api-url", telegram[0]],
        env=environ | FAST | {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_CHAT_ID": CHAT_ID},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    port = free_port()
    log = tmp_path / "alertmanager.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(ALERTMANAGER), f"--config.file={exported / 'alertmanager.yml'}",
             f"--storage.path={tmp_path / 'am-data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address="],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        wait_for(lambda: _ready(f"http://127.0.0.1:{port}/-/ready"), "Alertmanager")
        yield f"127.0.0.1:{port}"
    finally:
        stop_process_group(process)


def _ready(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).ok
    except requests.RequestException:
        return False


def push(
    monitor: MonitorServer,
    batch: str,
    run_at: datetime,
    dataset: str = "bike_sharing",
    stale_after_seconds: float | None = None,
) -> DriftReport:
    config = load_config(DATA / "drift.yaml")
    report = compare(
        read_batch(DATA / "control" / "bike_sharing_dataset_1.csv", config),
        read_batch(DATA / "audit" / batch, config),
        config,
    )
    run = run_document(
        report, dataset, "bike_sharing_dataset_1.csv", batch, run_at, stale_after_seconds
    )
    send_run(run, monitor.url, token=monitor.token)
    return report


def evaluated_after(prometheus: PrometheusServer, moment: datetime) -> Callable[[], bool]:
    """True once the drift rule group has been evaluated on data scraped after ``moment``."""

    def done() -> bool:
        groups = requests.get(f"{prometheus.url}/api/v1/rules", timeout=5).json()["data"]
        scraped = prometheus.query(f"timestamp({names.LAST_RUN_TIMESTAMP})")
        after_scrape = scraped and float(scraped[0]["value"][1]) > moment.timestamp()
        return bool(after_scrape) and all(
            datetime.fromisoformat(g["lastEvaluation"].replace("Z", "+00:00")).timestamp()
            > float(scraped[0]["value"][1])
            for g in groups["groups"]
        )

    return done


def test_a_drift_run_reaches_telegram_once_and_resolves(
    monitor_server: MonitorServer,
    prometheus_server: Callable[..., PrometheusServer],
    alertmanager: str,
    telegram: tuple[str, list[dict]],
    tmp_path: Path,
) -> None:
    _, sent = telegram
    prometheus = prometheus_server(
        monitor_server.target,
        rule_files=[tmp_path / "alerting" / "rules.yml"],
        alertmanager=alertmanager,
    )
    start = datetime.now(UTC) - timedelta(minutes=3)

    # No drift: the rules are evaluated on the run and nothing goes to Telegram.
    push(monitor_server, "bike_sharing_dataset_2.csv", start)
    pushed = datetime.now(UTC)
    wait_for(evaluated_after(prometheus, pushed), "a rule evaluation after the scrape", 60)
    assert prometheus.query("ALERTS") == []
    assert sent == []

    # Drift: one message for the group, naming each drifted feature and its p-value.
    report = push(monitor_server, "bike_sharing_dataset_4.csv.off", start + timedelta(minutes=1))
    wait_for(lambda: sent, "a Telegram message", 60)
    [message] = sent
    assert message["path"] == f"/bot{TOKEN}/sendMessage"
    assert message["chat_id"] == CHAT_ID and message["parse_mode"] == "HTML"
    drifted = [f for f in report.features if f.drifted]
    assert f"{len(drifted)} firing" in message["text"]
    for feature in drifted:
        assert (
            f"<code>{feature.feature}</code>: p = {feature.p_value_adjusted:.3g}"
            in (message["text"])
        )
    for feature in report.features:
        if not feature.drifted:
            assert f"<code>{feature.feature}</code>" not in message["text"]

    # The drift ends: the resolved message arrives.
    push(monitor_server, "bike_sharing_dataset_2.csv", start + timedelta(minutes=2))
    wait_for(lambda: len(sent) > 1, "the resolved message", 60)
    assert f"Resolved: {len(drifted)}" in sent[-1]["text"]
    assert all("firing" not in m["text"] for m in sent[1:])

    # A scheduled dataset whose last run (no drift) is 3 minutes old may go 1 minute without
    # one: it is stale. bike_sharing, run by hand above, publishes no limit and never is.
    push(monitor_server, "bike_sharing_dataset_2.csv", start, "nightly", stale_after_seconds=60)
    wait_for(lambda: any("DriftRunStale" in m["text"] for m in sent), "the staleness message", 60)
    [stale] = [m for m in sent if "DriftRunStale" in m["text"]]
    assert "1 firing" in stale["text"] and "<b>nightly</b>" in stale["text"]
    assert "bike_sharing" not in stale["text"]
