"""The flow on real services, no Grafana: real Airflow runs the DAG, the real monitor keeps
the results, the real Prometheus scrapes them, and `provision.py preview` evaluates the
Grafana rules against Prometheus (the drift rule against the alpha and the effect size
thresholds each run published, the staleness rule against each scheduled dataset's published
limit, the monitor-down rule against Prometheus's own `up` for its scrape of the monitor)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

import names
from conftest import AIRFLOW, DATA, ROOT, MonitorServer, PrometheusServer, wait_for
from drift import compare, load_config, read_batch
from drift.publish import run_document, send_run

DRIFT_BATCH = "bike_sharing_dataset_4.csv"


def run_dag(env: dict[str, str], monitor: MonitorServer, data_dir: Path) -> None:
    conf = json.dumps({"data_dir": str(data_dir)})
    done = subprocess.run(
        [str(AIRFLOW), "dags", "test", "simple_detector", "--conf", conf],
        env=env | {names.MONITOR_URL_ENV: monitor.url, names.MONITOR_TOKEN_ENV: monitor.token},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]


def preview(prometheus: PrometheusServer) -> list[dict]:
    done = subprocess.run(
        [sys.executable, str(ROOT / "provision.py"), "preview", "--output", "json",
         "--prometheus-url", prometheus.url],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["firing"]


def scraped_run(
    prometheus: PrometheusServer, monitor: MonitorServer, dataset: str = "bike_sharing"
) -> None:
    """Wait until Prometheus shows the monitor's current run of ``dataset``."""
    state = requests.get(f"{monitor.url}{names.DATASETS_PATH}/{dataset}", timeout=5).json()
    run_at = state["run_at"]

    wanted = datetime.fromisoformat(run_at).timestamp()

    def shown() -> bool:
        samples = prometheus.query(f'{names.LAST_RUN_TIMESTAMP}{{dataset="{dataset}"}}')
        return any(float(s["value"][1]) == wanted for s in samples)

    wait_for(shown, "the run in Prometheus", timeout=60)


def test_drift_reaches_the_rules_and_a_restart_loses_nothing(
    airflow_env: dict[str, str],
    monitor_server: MonitorServer,
    prometheus_server: Callable[[str], PrometheusServer],
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(DATA, data, ignore=shutil.ignore_patterns("*.py", "*.md"))
    prometheus = prometheus_server(monitor_server.target)

    # The course's flow, step 1: the enabled batch is the no-drift hold-out.
    run_dag(airflow_env, monitor_server, data)
    scraped_run(prometheus, monitor_server)
    assert preview(prometheus) == []

    # The monitor dies hard in between: every acknowledged value must come back.
    before = requests.get(f"{monitor_server.url}/metrics", timeout=5).text
    monitor_server.kill()
    monitor_server.restart()
    assert requests.get(f"{monitor_server.url}/metrics", timeout=5).text == before

    # Step 7: rename the .off batch and run the DAG again.
    (data / "audit" / f"{DRIFT_BATCH}.off").rename(data / "audit" / DRIFT_BATCH)
    run_dag(airflow_env, monitor_server, data)
    scraped_run(prometheus, monitor_server)
    firing = preview(prometheus)

    config = load_config(data / "drift.yaml")
    report = compare(
        read_batch(data / "control" / "bike_sharing_dataset_1.csv", config),
        read_batch(data / "audit" / DRIFT_BATCH, config),
        config,
    )
    drifted = {f.feature for f in report.features if f.drifted}
    assert {i["labels"]["feature"] for i in firing} == drifted != set()
    # weathersit's p-value is below alpha, but its effect is not material: no alert.
    significant = {f.feature for f in report.features if f.p_value_adjusted < config.alpha}
    assert "weathersit" in significant - drifted
    for instance in firing:
        feature = instance["labels"]["feature"]
        kind = next(f.kind for f in report.features if f.feature == feature)
        assert instance["labels"][names.ALERT_LABEL] == names.ALERT_LABEL_VALUE
        assert instance["labels"]["dataset"] == "bike_sharing"
        assert instance["values"]["p_value"] < config.alpha  # the drift config's alpha
        assert instance["values"]["p_minus_alpha"] < 0
        assert instance["values"]["effect_size"] >= config.min_effect(feature, kind)
        assert instance["values"]["effect_minus_threshold"] >= 0
    history = requests.get(
        f"{monitor_server.url}{names.DATASETS_PATH}/bike_sharing/runs", timeout=5
    )
    assert [r["batch"] for r in history.json()] == [DRIFT_BATCH, "bike_sharing_dataset_2.csv"]

    # A scheduled dataset whose last run is past its limit is stale; the DAG's manual
    # bike_sharing publishes no limit and never is.
    overdue = run_document(
        report, "nightly", "ref.csv", "b.csv", datetime.now(UTC) - timedelta(minutes=10), 60
    )
    send_run(overdue, monitor_server.url, token=monitor_server.token)
    scraped_run(prometheus, monitor_server, "nightly")
    stale = [i for i in preview(prometheus) if names.STALE_LABEL in i["labels"]]
    assert [i["labels"]["dataset"] for i in stale] == ["nightly"]
    assert stale[0]["values"]["since_last_run"] > 600 and stale[0]["values"]["overdue"] > 540


def test_a_monitor_prometheus_cannot_scrape_is_reported(
    monitor_server: MonitorServer, prometheus_server: Callable[[str], PrometheusServer]
) -> None:
    prometheus = prometheus_server(monitor_server.target)
    up = f'up{{job="{names.MONITOR_JOB}"}}'

    def up_is(value: str) -> Callable[[], bool]:
        return lambda: [sample["value"][1] for sample in prometheus.query(up)] == [value]

    wait_for(up_is("1"), "a scrape of the monitor", timeout=60)
    assert preview(prometheus) == []  # it answers, though no run came yet: nothing fires

    # Its series vanish with it, so the drift and staleness rules see no data; this one fires.
    monitor_server.kill()
    wait_for(up_is("0"), "a failed scrape of the monitor", timeout=30)
    [down] = preview(prometheus)
    assert down["labels"][names.MONITOR_DOWN_LABEL] == names.ALERT_LABEL_VALUE
    assert (down["labels"]["job"], down["labels"]["instance"]) == (
        names.MONITOR_JOB,
        monitor_server.target,
    )
    assert down["values"] == {"up": 0, "up_minus_one": -1, "down": 1}
