"""simple_detector: test the newest batch of data for drift and send the results to the monitor.

    pick_batches -> validate_schema -> apply_detection -> send_results

The reference batch comes from ``<data_dir>/control/``, the current one is the newest enabled
batch in ``<data_dir>/audit/`` (rename ``x.csv.off`` to ``x.csv`` to enable it). It runs every
``$DRIFT_SCHEDULE`` (a duration such as ``10m``; unset: manual runs only), and each scheduled
run tells the monitor that the dataset is stale after two intervals without a run. Column kinds
and test settings come from ``<data_dir>/drift.yaml`` when it exists; otherwise they are
inferred. Trigger with ``{"current": "bike_sharing_dataset_4.csv.off"}`` and the like to pick
files explicitly. Batches are CSV or Parquet files; the ``backend`` param says what summarises
them (``auto``: DuckDB for large files, else pandas), and the reference's summary is
reused from ``control/.summaries/`` while its file is unchanged.
"""

from __future__ import annotations

import logging
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import Param, dag, task
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from drift import DriftConfig, DriftInputError, load_config
from drift.backends import BACKEND_CHOICES
from drift.batches import DATA_ROOT_ENV, data_folder
from drift.batches import pick_batches as find_batches
from drift.compare_files import compare_files
from drift.dataset import read_header
from drift.engine import check_schema
from drift.labels import check_dataset_name, check_features, check_label_values
from drift.publish import run_document, send_run
from drift.report import format_table, sketch_warnings
from drift.schedule import parse_schedule, stale_after_seconds
from names import DATA_DIR_ENV, DATASET_ENV, MONITOR_TOKEN_ENV, MONITOR_URL_ENV, SCHEDULE_ENV

log = logging.getLogger(__name__)

DATA_DIR = os.environ.get(DATA_DIR_ENV, str(Path(__file__).resolve().parents[1] / "data"))
DATASET = os.environ.get(DATASET_ENV, "bike_sharing")
# The params name files: they are read inside this folder only (the operator's, not the
# triggering user's, choice).
DATA_ROOT = Path(os.environ.get(DATA_ROOT_ENV) or DATA_DIR)
CONFIG_NAME = "drift.yaml"
SCHEDULE = parse_schedule(os.environ.get(SCHEDULE_ENV))  # a bad value is an import error


def _config(path: str | None) -> DriftConfig:
    return load_config(Path(path)) if path else DriftConfig()


@dag(
    dag_id="simple_detector",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2024, 4, 1, tz="UTC"),
    catchup=False,
    tags=["monitoring", "drift"],
    doc_md=__doc__,
    params={
        "dataset": Param(DATASET, type="string", description="Name the monitor files runs under"),
        "data_dir": Param(
            DATA_DIR, type="string", description=f"Folder with control/ and audit/, in {DATA_ROOT}"
        ),
        "reference": Param(None, type=["null", "string"], description="File name in control/"),
        "current": Param(None, type=["null", "string"], description="File name in audit/"),
        "backend": Param(
            "auto", type="string", enum=list(BACKEND_CHOICES), description="What summarises"
        ),
    },
)
def simple_detector() -> None:
    @task(multiple_outputs=False)
    def pick_batches(params: dict[str, Any] | None = None) -> dict[str, str | None]:
        params = params or {}
        try:
            check_dataset_name(params["dataset"])
            data_dir = data_folder(params["data_dir"], DATA_ROOT)
            reference, current = find_batches(data_dir, params["reference"], params["current"])
            check_label_values([reference.name, current.name], "batch file name")
        except DriftInputError as exc:
            raise AirflowFailException(str(exc)) from None
        config = data_dir / CONFIG_NAME
        log.info("reference %s, current %s", reference, current)
        return {
            "reference": str(reference),
            "current": str(current),
            "config": str(config) if config.is_file() else None,
        }

    @task(multiple_outputs=False)
    def validate_schema(batches: dict[str, str | None]) -> dict[str, str | None]:
        try:
            reference, current = Path(batches["reference"]), Path(batches["current"])
            planned = check_schema(
                read_header(reference), read_header(current), _config(batches["config"]),
                names=(str(reference), str(current)),
            )  # fmt: skip
            check_features([name for name, _ in planned])
        except DriftInputError as exc:
            raise AirflowFailException(str(exc)) from None
        return batches

    @task(multiple_outputs=False)
    def apply_detection(
        batches: dict[str, str | None], params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        try:
            config = _config(batches["config"])
            reference, current = Path(batches["reference"]), Path(batches["current"])
            # File names, not paths, in the reasons the monitor keeps (pick_batches logs paths).
            report = compare_files(
                reference, current, config, (params or {}).get("backend", "auto"),
                names=(reference.name, current.name),
            )  # fmt: skip
            log.info("drift results\n%s", format_table(report))
            for warning in sketch_warnings(report):
                log.warning("%s", warning)
            # Built as the monitor validates it: a run it would refuse fails here, in one line.
            return run_document(
                report,
                (params or {})["dataset"],
                reference=reference.name,
                batch=current.name,
                stale_after_seconds=stale_after_seconds(SCHEDULE),
            )
        except DriftInputError as exc:
            raise AirflowFailException(str(exc)) from None

    @task(
        retries=3,
        retry_delay=timedelta(seconds=5),
        retry_exponential_backoff=True,
        multiple_outputs=False,
    )
    def send_results(run: dict[str, Any]) -> dict[str, Any]:
        monitor_url = os.environ.get(MONITOR_URL_ENV)
        if not monitor_url:
            raise AirflowSkipException(f"{MONITOR_URL_ENV} is not set: results not sent")
        answer = send_run(run, monitor_url, token=os.environ.get(MONITOR_TOKEN_ENV))
        log.info("run %s of %s sent to %s", answer["run_id"], run["dataset"], monitor_url)
        return answer

    send_results(apply_detection(validate_schema(pick_batches())))


simple_detector()
