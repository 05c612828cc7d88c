"""The simple_detector DAG, loaded and run by real Airflow against a recording monitor."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from airflow.dag_processing.dagbag import DagBag
from airflow.sdk.exceptions import AirflowFailException

from conftest import AIRFLOW, DATA, ROOT, Recorder
from drift import compare, load_config, read_batch
from drift.batches import DATA_ROOT_ENV
from monitor.schema import Run
from names import DATA_DIR_ENV, DATASET_ENV, RUNS_PATH, SCHEDULE_ENV

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


def populate(folder: Path, config: bool = True) -> Path:
    """A data folder whose newest batch is _10 only in natural order, with a disabled _11."""
    (folder / "control").mkdir(parents=True)
    (folder / "audit").mkdir()
    if config:
        shutil.copy(CONFIG, folder / "drift.yaml")
    shutil.copy(REFERENCE, folder / "control" / "bike_sharing_dataset_1.csv")
    shutil.copy(HOLD_OUT, folder / "audit" / "bike_sharing_dataset_4.csv")
    shutil.copy(YEAR_2012, folder / "audit" / "bike_sharing_dataset_10.csv")
    (folder / "audit" / "bike_sharing_dataset_11.csv.off").write_text("not,a\nbatch\n")
    return folder


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder inside the data root that airflow_env gives the DAG."""
    return populate(tmp_path / "data")


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


def test_dag_compares_parquet_batches_with_the_backend_param(
    airflow_env: dict[str, str], recorder: Recorder, tmp_path: Path
) -> None:
    data_dir = tmp_path / "parquet"
    (data_dir / "control").mkdir(parents=True)
    (data_dir / "audit").mkdir()
    shutil.copy(CONFIG, data_dir / "drift.yaml")
    for source, target in (
        (REFERENCE, "control/ref_1.parquet"),
        (YEAR_2012, "audit/cur_2.parquet"),
    ):
        pd.read_csv(source).to_parquet(data_dir / target)
    (data_dir / "audit" / "cur_1.csv").write_text("older,csv\n1,2\n")  # not the newest

    run = run_dag(
        airflow_env, {"data_dir": str(data_dir), "backend": "duckdb"}, MONITOR_URL=recorder.url
    )

    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]
    config = load_config(CONFIG)
    expected = compare(read_batch(REFERENCE, config), read_batch(YEAR_2012, config), config)
    [request] = recorder.requests
    run_document = json.loads(request["body"])
    assert (run_document["batch"], run_document["reference"]) == ("cur_2.parquet", "ref_1.parquet")
    assert run_document["features"] == expected.to_dict()["features"]
    assert list((data_dir / "control" / ".summaries").glob("ref_1.parquet.*.npz"))  # reused next


def test_dag_warns_of_a_sketch_too_coarse_for_its_column_and_sends_its_bound(
    airflow_env: dict[str, str], recorder: Recorder, tmp_path: Path
) -> None:
    """Epoch-millisecond timestamps packed in a week, 40,000 distinct values sketched at 12
    bits (max_distinct 10,000): the log says the KS statistic may be off, the run carries it."""
    data_dir = tmp_path / "sketched"
    (data_dir / "control").mkdir(parents=True)
    (data_dir / "audit").mkdir()
    (data_dir / "drift.yaml").write_text("max_distinct: 10000\n")
    rng = np.random.default_rng(0)
    for target, offset in (("control/ref.csv", 0), ("audit/cur.csv", 3_600_000)):
        t = np.round(1.7e12 + offset + rng.uniform(0, 7 * 86_400_000, 20_000))
        pd.DataFrame({"t": t}).to_csv(data_dir / target, index=False, float_format="%.0f")

    run = run_dag(airflow_env, {"data_dir": str(data_dir)}, MONITOR_URL=recorder.url)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-5000:]
    [request] = recorder.requests
    [feature] = json.loads(request["body"])["features"]
    assert feature["ks_error_bound"] > 0.5
    [warning] = [line for line in output.splitlines() if "sketched; its KS statistic" in line]
    assert "'t': sketched; its KS statistic may be up to " in warning
    assert "raise sketch_bits or max_distinct in the config" in warning  # Airflow's log suffix


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


def test_dag_fails_when_nothing_could_be_tested_and_sends_nothing(
    airflow_env: dict[str, str], recorder: Recorder, data_dir: Path
) -> None:
    batch = data_dir / "audit" / "bike_sharing_dataset_10.csv"
    batch.write_text(batch.read_text().splitlines()[0] + "\n")  # the header only

    run = run_dag(airflow_env, {"data_dir": str(data_dir)}, MONITOR_URL=recorder.url)

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "nothing could be tested: every feature was skipped: 'season'" in output
    assert "AirflowFailException" in output  # failed at once, not retried
    assert recorder.requests == []


def test_dag_reads_nothing_outside_the_data_root(
    airflow_env: dict[str, str], recorder: Recorder, data_dir: Path, tmp_path: Path
) -> None:
    outside = populate(tmp_path / "outside")
    secret = outside / "audit" / "bike_sharing_dataset_99.csv"
    secret.write_text("password_hunter2,x\n1,2\n3,4\n")

    run = run_dag(
        airflow_env, {"data_dir": str(outside)}, MONITOR_URL=recorder.url,
        DRIFT_DATA_ROOT=str(data_dir),
    )  # fmt: skip

    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert f"data_dir {str(outside)!r} is outside the data root {data_dir}" in output
    assert "password_hunter2" not in output
    assert recorder.requests == []


# --- The tasks' checks, called in process (the DAG loaded with a data root of its own) ---


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data_root")


@pytest.fixture(scope="module")
def tasks(data_root: Path) -> dict[str, Callable[..., Any]]:
    """The DAG's task functions, as loaded with DRIFT_DATA_ROOT set to data_root."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv(DATA_ROOT_ENV, str(data_root))
        bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    return {task.task_id: task.python_callable for task in bag.dags["simple_detector"].tasks}


@pytest.fixture
def inside(data_root: Path) -> Path:
    """A data folder inside the data root, without a config: every column is planned."""
    return populate(Path(tempfile.mkdtemp(dir=data_root)) / "data", config=False)


def params(data_dir: Path | str, **changes: str | None) -> dict[str, Any]:
    return {"dataset": "bikes", "data_dir": str(data_dir), "reference": None, "current": None,
            **changes}  # fmt: skip


def test_pick_batches_takes_batches_inside_the_data_root(
    tasks: dict[str, Callable[..., Any]], inside: Path
) -> None:
    picked = tasks["pick_batches"](params=params(inside, current="bike_sharing_dataset_4.csv"))
    assert picked["current"] == str(inside / "audit" / "bike_sharing_dataset_4.csv")
    assert picked["reference"] == str(inside / "control" / "bike_sharing_dataset_1.csv")
    assert tasks["validate_schema"](picked) == picked


@pytest.mark.parametrize("side", ["reference", "current"])
@pytest.mark.parametrize(
    "name", ["../control/bike_sharing_dataset_1.csv", "/etc/passwd", "..", "INSIDE"]
)
def test_pick_batches_refuses_a_batch_name_that_is_a_path(
    tasks: dict[str, Callable[..., Any]], inside: Path, side: str, name: str
) -> None:
    name = str(inside / "audit" / "bike_sharing_dataset_4.csv") if name == "INSIDE" else name
    with pytest.raises(AirflowFailException, match=r"a plain file name in .* is expected"):
        tasks["pick_batches"](params=params(inside, **{side: name}))


def test_pick_batches_refuses_a_symlink_out_of_the_batch_folder(
    tasks: dict[str, Callable[..., Any]], inside: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.csv").write_text("password_hunter2\n1\n")
    (inside / "audit" / "bike_sharing_dataset_12.csv").symlink_to(tmp_path / "secret.csv")
    with pytest.raises(AirflowFailException, match="leads outside"):
        tasks["pick_batches"](params=params(inside))  # the newest batch is the link


@pytest.mark.parametrize("data_dir", ["/etc", "..", "OUTSIDE"])
def test_pick_batches_refuses_a_data_dir_outside_the_data_root(
    tasks: dict[str, Callable[..., Any]], tmp_path: Path, data_dir: str
) -> None:
    data_dir = str(populate(tmp_path / "outside")) if data_dir == "OUTSIDE" else data_dir
    with pytest.raises(AirflowFailException, match="is outside the data root"):
        tasks["pick_batches"](params=params(data_dir))


@pytest.mark.parametrize(
    ("dataset", "problem"),
    [
        ("bikes/eu", "cannot contain '/'"),
        ("..", "be '.' or '..'"),
        ("", "is empty"),
        ("b" * 129, "longer than 128"),
        ("bikes\n", "control character"),
    ],
)
def test_pick_batches_refuses_a_dataset_name_the_monitor_would_refuse(
    tasks: dict[str, Callable[..., Any]], inside: Path, dataset: str, problem: str
) -> None:
    with pytest.raises(AirflowFailException, match=problem):
        tasks["pick_batches"](params={**params(inside), "dataset": dataset})


def test_pick_batches_refuses_a_batch_file_name_the_monitor_would_refuse(
    tasks: dict[str, Callable[..., Any]], inside: Path
) -> None:
    long_name = "b" * 125 + ".csv"  # 129 characters: a fine file name, too long a label
    shutil.copy(HOLD_OUT, inside / "audit" / long_name)
    with pytest.raises(AirflowFailException, match=r"batch file name .* longer than 128"):
        tasks["pick_batches"](params=params(inside, current=long_name))


@pytest.mark.parametrize(
    ("column", "problem"), [("c" * 129, "longer than 128"), ("a\x01b", "control character")]
)
def test_validate_schema_refuses_a_column_name_the_monitor_would_refuse(
    tasks: dict[str, Callable[..., Any]], inside: Path, column: str, problem: str
) -> None:
    for batch in (inside / "control" / "bike_sharing_dataset_1.csv",
                  inside / "audit" / "bike_sharing_dataset_10.csv"):  # fmt: skip
        lines = batch.read_text().splitlines()
        batch.write_text("\n".join([f"{lines[0]},{column}"] + [f"{x},1" for x in lines[1:]]))
    picked = tasks["pick_batches"](params=params(inside))
    with pytest.raises(AirflowFailException, match=f"column .* {problem}"):
        tasks["validate_schema"](picked)


def test_validate_schema_refuses_more_columns_than_the_monitor_takes(
    tasks: dict[str, Callable[..., Any]], inside: Path
) -> None:
    header = ",".join(f"c{i}" for i in range(1_001))  # the monitor takes 1,000 (its 422)
    for batch in (inside / "control" / "bike_sharing_dataset_1.csv",
                  inside / "audit" / "bike_sharing_dataset_10.csv"):  # fmt: skip
        batch.write_text(header + "\n" + ",".join("1" * 1_001) + "\n")
    picked = tasks["pick_batches"](params=params(inside))
    with pytest.raises(AirflowFailException, match="1001 columns to test, more than the 1000"):
        tasks["validate_schema"](picked)


def test_validate_schema_refuses_a_semicolon_separated_batch(
    tasks: dict[str, Callable[..., Any]], inside: Path
) -> None:
    batch = inside / "audit" / "bike_sharing_dataset_10.csv"
    batch.write_text(batch.read_text().replace(",", ";"))
    picked = tasks["pick_batches"](params=params(inside))
    with pytest.raises(AirflowFailException, match="looks ';'-separated"):
        tasks["validate_schema"](picked)


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


def test_the_params_default_to_the_data_folder_and_dataset_the_environment_names(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))  # as Compose sets it
    monkeypatch.setenv(DATASET_ENV, "shop")
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    assert bag.import_errors == {}
    defaults = bag.dags["simple_detector"].params
    assert (defaults["data_dir"], defaults["dataset"]) == (str(tmp_path), "shop")


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
