"""The whole flow on one machine, without Docker: ``make run``.

Starts the monitor and Prometheus, runs the DAG ``simple_detector`` with real Airflow
(``airflow dags test``), shows the per-feature results and the alerts that would fire,
writes the Grafana provisioning files, applies them when a Grafana answers at GRAFANA_URL,
and stops what it started on exit (Ctrl-C included).

    .venv/bin/python scripts/run_local.py [--current BATCH] [--keep-running]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import requests
import yaml

from drift import names
from drift.report import DriftReport, format_table

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local"  # state of the local run (gitignored)
BIN = Path(sys.executable).parent
PROMETHEUS_PORT = 9090
DATASET = "bike_sharing"
STARTUP_SECONDS = 60


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def wait_for(ready: Callable[[], bool], what: str, seconds: float = STARTUP_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            sys.exit(f"error: {what} did not come up within {seconds:.0f} s")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def service(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A background process in its own process group, stopped (with its children) on exit."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def prometheus_config(monitor_target: str) -> dict:
    """The Compose stack's Prometheus configuration, scraping the local monitor instead."""
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            static["targets"] = [monitor_target]
    return config


def run(args: argparse.Namespace, stack: ExitStack) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        sys.exit("error: Prometheus is not installed: sudo apt-get install prometheus")
    WORK.mkdir(exist_ok=True)
    token = os.environ.get(names.MONITOR_TOKEN_ENV) or secrets.token_urlsafe(24)
    monitor_url = f"http://127.0.0.1:{names.MONITOR_PORT}"
    prometheus_url = f"http://127.0.0.1:{PROMETHEUS_PORT}"
    for url in (monitor_url, prometheus_url):
        if answers(url):
            sys.exit(f"error: something already listens at {url}; stop it first")
    env = {**os.environ, names.MONITOR_TOKEN_ENV: token}

    step(f"starting the monitor at {monitor_url} (state in .local/monitor.db)")
    stack.enter_context(service(
        [sys.executable, "-m", "monitor", "--db", str(WORK / "monitor.db")],
        WORK / "monitor.log", env,
    ))  # fmt: skip
    wait_for(lambda: answers(f"{monitor_url}/readyz"), "the monitor")

    step(f"starting Prometheus at {prometheus_url}, scraping the monitor")
    config = WORK / "prometheus.yml"
    config.write_text(yaml.safe_dump(prometheus_config(f"127.0.0.1:{names.MONITOR_PORT}")))
    stack.enter_context(service(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={WORK / 'prometheus'}",
         f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
         f"--web.external-url={prometheus_url}/"],
        WORK / "prometheus.log", env,
    ))  # fmt: skip
    wait_for(lambda: answers(f"{prometheus_url}/-/ready"), "Prometheus")

    step("running the DAG simple_detector with Airflow (airflow dags test; log in .local/)")
    airflow_env = env | {
        "AIRFLOW_HOME": str(WORK / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        names.MONITOR_URL_ENV: monitor_url,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    airflow_log = WORK / "airflow.log"
    with airflow_log.open("w") as out:
        for command in (["db", "migrate"], ["dags", "test", "simple_detector"]):
            conf = ["--conf", json.dumps({"current": args.current})] if args.current else []
            extra = conf if command[0] == "dags" else []
            done = subprocess.run(
                [str(BIN / "airflow"), *command, *extra], env=airflow_env, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            if done.returncode:
                sys.exit(f"error: airflow {' '.join(command)} failed; see {airflow_log}")

    state = requests.get(f"{monitor_url}{names.DATASETS_PATH}/{DATASET}", timeout=5).json()
    step(f"results: {state['batch']} compared with {state['reference']}")
    print(format_table(DriftReport.from_dict(state)))

    step("waiting for Prometheus to scrape the run")
    run_at = datetime.fromisoformat(state["run_at"]).timestamp()

    def scraped() -> bool:
        params = {"query": names.LAST_RUN_TIMESTAMP}
        body = requests.get(f"{prometheus_url}/api/v1/query", params=params, timeout=5).json()
        return any(float(s["value"][1]) == run_at for s in body["data"]["result"])

    wait_for(scraped, "the run in Prometheus", seconds=30)

    step("alerts the Grafana rules would fire now (provision.py preview)")
    provision = [sys.executable, str(ROOT / "provision.py")]
    subprocess.run([*provision, "preview", "--prometheus-url", prometheus_url], check=False)

    exported = WORK / "grafana-provisioning"
    step(f"Grafana file-provisioning files (provision.py export {exported.relative_to(ROOT)})")
    subprocess.run([*provision, "export", str(exported)], check=True)

    grafana = os.environ.get("GRAFANA_URL", "http://localhost:3000")
    if answers(f"{grafana}/api/health"):
        step(f"applying to the Grafana at {grafana} (provision.py apply)")
        apply_env = {"PROMETHEUS_URL": prometheus_url} | os.environ
        subprocess.run([*provision, "apply"], env=apply_env, check=False)
    else:
        step(f"no Grafana answers at {grafana}: apply skipped (set GRAFANA_URL to use one)")

    print(f"\nstatus page: {monitor_url}/   Prometheus: {prometheus_url}/")
    if args.keep_running:
        step("running until Ctrl-C")
        signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--current", help="an audit/ batch to compare instead of the newest")
    parser.add_argument("--keep-running", action="store_true", help="serve until Ctrl-C")
    args = parser.parse_args()
    try:
        with ExitStack() as stack:
            run(args, stack)
        step("stopped the monitor and Prometheus")
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)


if __name__ == "__main__":
    main()
