"""The simple_detector DAG, loaded and run by real Airflow against a recording monitor."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from airflow.dag_processing.dagbag import DagBag

from conftest import AIRFLOW, DATA, ROOT, Recorder
from drift import compare, load_config, read_batch
from drift.names import RUNS_PATH, SCHEDULE_ENV
from monitor.schema import Run

CONFIG = DATA / "drift.yaml"
REFERENCE = DATA / "control" / "bike_sharing_dataset_1.csv"
HOLD_OUT = DATA / "audit" / "bike_sharing_dataset_2.csv"
YEAR_2012 = DATA / "audit" / "bike_sharing_dataset_4.csv.off"


def run_dag(env: dict[str, str], conf: dict, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(AIRFLOW), "dags", "test", "simple_detector", "--conf", json.dumps(conf)],
        env={**env, **extra_env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder whose newest batch is _10 only in natural order, with a disabled _11."""
    (tmp_path / "control").mkdir()
    (tmp_path / "audit").mkdir()
    shutil.copy(CONFIG, tmp_path / "drift.yaml")
    shutil.copy(REFERENCE, tmp_path / "control" / "bike_sharing_dataset_1.csv")
    shutil.copy(HOLD_OUT, tmp_path / "audit" / "bike_sharing_dataset_4.csv")
    shutil.copy(YEAR_2012, tmp_path / "audit" / "bike_sharing_dataset_10.csv")
    (tmp_path / "audit" / "bike_sharing_dataset_11.csv.off").write_text("not,a\nbatch\n")
    return tmp_path


def test_dag_loads_without_import_errors() -> None:
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    dag = bag.dags["simple_detector"]
    assert dag.get_task("apply_detection").upstream_task_ids == {"validate_schema"}
    assert dag.get_task("send_results").upstream_task_ids == {"apply_detection"}


def test_dag_sends_the_engine_results_of_the_newest_batch(
    airflow_env: dict[str, str], recorder: Recorder, data_dir: Path
) -> None:
    token = "test-token-must-not-be-logged"
    run = run_dag(
        airflow_env, {"data_dir": str(data_dir)}, MONITOR_URL=recorder.url, MONITOR_TOKEN=token
    )
    run_output = run.stdout + run.stderr
    assert run.returncode == 0, run_output[-5000:]

    config = load_config(CONFIG)
    expected = compare(read_batch(REFERENCE, config), read_batch(YEAR_2012, config), config)
    [request] = recorder.requests
    assert request["path"] == RUNS_PATH
    assert request["headers"]["Authorization"] == f"Bearer {token}"
    Run.model_validate_json(request["body"])  # the monitor accepts it as it is
    run = json.loads(request["body"])
    assert run.pop("run_at")
    assert run == {
        "dataset": "bike_sharing",
        "batch": "bike_sharing_dataset_10.csv",
        "reference": "bike_sharing_dataset_1.csv",
        **expected.to_dict(),
    }
    assert run["summary"]["features_drifted"] > 0
    assert token not in run_output


def test_dag_fails_on_a_schema_mismatch_and_sends_nothing(
    airflow_env: dict[str, str], recorder: Recorder, data_dir: Path
) -> None:
    batch = data_dir / "audit" / "bike_sharing_dataset_10.csv"
    lines = batch.read_text().splitlines()
    batch.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")  # drop cnt

    run = run_dag(airflow_env, {"data_dir": str(data_dir)}, MONITOR_URL=recorder.url)

    assert run.returncode != 0
    assert "missing configured column(s) 'cnt'" in run.stdout + run.stderr
    assert recorder.requests == []


# --- the schedule: DRIFT_SCHEDULE, and how long a scheduled dataset may go without a run ---


def load_dag(monkeypatch: pytest.MonkeyPatch, schedule: str) -> DagBag:
    monkeypatch.setenv(SCHEDULE_ENV, schedule)
    return DagBag(dag_folder=str(ROOT / "dags"))


@pytest.mark.parametrize(
    ("schedule", "interval", "timetable"),
    [("10m", timedelta(minutes=10), "DeltaTriggerTimetable"), ("", None, "NullTimetable")],
)
def test_the_dag_runs_on_drift_schedule_or_only_by_hand(
    monkeypatch: pytest.MonkeyPatch, schedule: str, interval: timedelta | None, timetable: str
) -> None:
    bag = load_dag(monkeypatch, schedule)
    assert bag.import_errors == {}
    dag = bag.dags["simple_detector"]
    assert dag.schedule == interval
    assert type(dag.timetable).__name__ == timetable  # every interval; or never by itself


def test_a_schedule_airflow_would_misread_is_an_import_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bag = load_dag(monkeypatch, "every 10 minutes")
    [error] = bag.import_errors.values()
    assert "DRIFT_SCHEDULE must be a duration such as 10m" in error
    assert "simple_detector" not in bag.dags


def test_a_scheduled_dag_tells_the_monitor_when_its_dataset_is_stale(
    airflow_env: dict[str, str], recorder: Recorder, data_dir: Path
) -> None:
    run = run_dag(
        airflow_env, {"data_dir": str(data_dir)}, MONITOR_URL=recorder.url,
        DRIFT_DATA_ROOT=str(data_dir), DRIFT_SCHEDULE="10m",
    )  # fmt: skip
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    [request] = recorder.requests
    Run.model_validate_json(request["body"])  # the monitor accepts it
    assert json.loads(request["body"])["stale_after_seconds"] == 2 * 10 * 60  # two intervals
