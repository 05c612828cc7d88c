"""The whole flow on one machine, without Docker: ``make run``.

Starts the monitor and Prometheus, runs the DAG ``simple_detector`` with real Airflow
(``airflow dags test``), shows the per-feature results and the alerts that would fire,
writes the Grafana provisioning files, and stops what it started when it ends, fails or is
stopped (Ctrl-C, SIGTERM, SIGHUP), saying so. With --keep-running the monitor and Prometheus
serve until then, and the files are applied to the Grafana at GRAFANA_URL when one answers
(only then: Grafana's data source points at this run's Prometheus).

    .venv/bin/python scripts/run_local.py [--current BATCH] [--keep-running]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import requests
import yaml

import names
from drift.report import DriftReport, format_table

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATASET = "bike_sharing"
STARTUP_SECONDS = 60
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The last line of a Python traceback in the Airflow log: "module.path.SomeError: message".
EXCEPTION_LINE = re.compile(r"^(?:\w+\.)*(\w+(?:Error|Exception)): (.+)$", re.MULTILINE)


class Stopped(Exception):
    """A stop signal arrived. Raised wherever the run is, so that every service started so
    far is stopped on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def stop(signum: int, _frame: object) -> None:
    for sig in STOP_SIGNALS:  # a second signal must not cut the clean-up short
        signal.signal(sig, signal.SIG_IGN)
    raise Stopped(signum)


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def wait_for(
    ready: Callable[[], bool],
    what: str,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
    seconds: float = STARTUP_SECONDS,
) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if process is not None and process.poll() is not None:
            sys.exit(f"error: {what} exited at start-up; see {log}")
        if time.monotonic() > deadline:
            sys.exit(f"error: {what} did not come up within {seconds:.0f} s")
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).ok
    except requests.RequestException:
        return False


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def service(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A process in its own process group, its output appended to ``log``; stopped (with its
    children) when the block is left, whether it ends, fails or is stopped."""
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
                process.wait()


def failure(log: Path) -> str | None:
    """Why the DAG failed, as it said: the message of the last AirflowFailException in the
    log (how the DAG reports bad input), else the last exception line, if any."""
    found = EXCEPTION_LINE.findall(log.read_text(errors="replace"))
    failed = [message for kind, message in found if kind == "AirflowFailException"]
    if failed:
        return failed[-1]
    return ": ".join(found[-1]) if found else None


def prometheus_config(monitor_target: str) -> dict:
    """The Compose stack's Prometheus configuration, scraping the local monitor instead."""
    config = yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())
    for job in config["scrape_configs"]:
        for static in job.get("static_configs", []):
            static["targets"] = [monitor_target]
    return config


def run(args: argparse.Namespace, stack: ExitStack, started: list[str]) -> None:
    """The whole flow; ``started`` names each service once it runs (the stack stops it)."""
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        sys.exit("error: Prometheus is not installed: make run installs it (apt-get, as root)")
    for what, port, option in (
        ("the monitor", args.monitor_port, "--monitor-port"),
        ("Prometheus", args.prometheus_port, "--prometheus-port"),
    ):
        if listening(port):
            sys.exit(
                f"error: something already listens on 127.0.0.1:{port}, where {what} would;"
                f' stop it or choose another port: {option} PORT (make run RUN_ARGS="{option}'
                f' PORT")'
            )
    work: Path = args.state_dir
    work.mkdir(parents=True, exist_ok=True)
    token = os.environ.get(names.MONITOR_TOKEN_ENV) or secrets.token_urlsafe(24)
    monitor_url = f"http://127.0.0.1:{args.monitor_port}"
    prometheus_url = f"http://127.0.0.1:{args.prometheus_port}"
    env = {**os.environ, names.MONITOR_TOKEN_ENV: token}

    step(f"starting the monitor at {monitor_url} (state in {work / 'monitor.db'})")
    log = work / "monitor.log"
    monitor = stack.enter_context(service(
        [sys.executable, "-m", "monitor", "--db", str(work / "monitor.db"),
         "--port", str(args.monitor_port)],
        log, env,
    ))  # fmt: skip
    started.append("the monitor")
    wait_for(lambda: answers(f"{monitor_url}/readyz"), "the monitor", monitor, log)

    step(f"starting Prometheus at {prometheus_url}, scraping the monitor")
    config, log = work / "prometheus.yml", work / "prometheus.log"
    config.write_text(yaml.safe_dump(prometheus_config(f"127.0.0.1:{args.monitor_port}")))
    server = stack.enter_context(service(
        [prometheus, f"--config.file={config}", f"--storage.tsdb.path={work / 'prometheus'}",
         f"--web.listen-address=127.0.0.1:{args.prometheus_port}",
         f"--web.external-url={prometheus_url}/"],
        log, env,
    ))  # fmt: skip
    started.append("Prometheus")
    wait_for(lambda: answers(f"{prometheus_url}/-/ready"), "Prometheus", server, log)

    airflow_log = work / "airflow.log"
    step(f"running the DAG simple_detector with Airflow (airflow dags test; log {airflow_log})")
    airflow_env = env | {
        "AIRFLOW_HOME": str(work / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        names.MONITOR_URL_ENV: monitor_url,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    airflow_log.write_text("")
    conf = ["--conf", json.dumps({"current": args.current})] if args.current else []
    for command in (["db", "migrate"], ["dags", "test", "simple_detector", *conf]):
        with service([str(BIN / "airflow"), *command], airflow_log, airflow_env) as airflow:
            returncode = airflow.wait()
        if returncode:
            why = failure(airflow_log) or f"airflow {' '.join(command[:2])} failed"
            sys.exit(f"error: the DAG failed: {why} (log: {airflow_log})")

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

    exported = work / "grafana-provisioning"
    step(f"Grafana file-provisioning files (provision.py export {exported})")
    if subprocess.run([*provision, "export", str(exported)], check=False).returncode:
        sys.exit(1)  # provision.py has said why, in one line

    if not args.keep_running:
        # Applied, Grafana's data source would point at a Prometheus stopped when the run ends.
        step("Grafana: apply skipped (with --keep-running it applies, Prometheus kept serving)")
        return
    grafana = os.environ.get("GRAFANA_URL", "http://localhost:3000")
    if answers(f"{grafana}/api/health"):
        step(f"applying to the Grafana at {grafana} (provision.py apply)")
        apply_env = {"PROMETHEUS_URL": prometheus_url} | os.environ
        if subprocess.run([*provision, "apply"], env=apply_env, check=False).returncode:
            sys.exit(1)  # provision.py has said why, in one line
    else:
        step(f"no Grafana answers at {grafana}: apply skipped (set GRAFANA_URL to use one)")

    print(f"\nstatus page: {monitor_url}/   Prometheus: {prometheus_url}/")
    step("serving until Ctrl-C")
    with contextlib.suppress(Stopped):  # how --keep-running ends
        signal.pause()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--current", help="an audit/ batch to compare instead of the newest")
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="serve until Ctrl-C, and apply to the Grafana at GRAFANA_URL if one answers",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=ROOT / ".local",
        help="where the run keeps its state (default: .local)",
    )
    parser.add_argument(
        "--monitor-port",
        type=int,
        default=names.MONITOR_PORT,
        help="where the monitor listens on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--prometheus-port",
        type=int,
        default=names.PROMETHEUS_PORT,
        help="where Prometheus listens on 127.0.0.1 (default: %(default)s)",
    )
    args = parser.parse_args()
    for sig in STOP_SIGNALS:
        signal.signal(sig, stop)
    started: list[str] = []
    try:
        with ExitStack() as stack:
            run(args, stack, started)
    except Stopped as stopped:
        step(f"{stopped}: stopped {' and '.join(started) or 'before any service started'}")
        sys.exit(128 + stopped.signum)
    except BaseException:  # a failure: its own message comes after this line, last
        if started:
            step(f"stopped {' and '.join(started)} (state kept in {args.state_dir})")
        raise
    step(f"stopped {' and '.join(started)} (state kept in {args.state_dir})")


if __name__ == "__main__":
    main()
