"""``make run`` (scripts/run_local.py) for real: the monitor, the Prometheus binary and Airflow
on free ports with a state folder of the test's own. Whatever happens, nothing it started
may outlive it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from conftest import DATA, PROMETHEUS, ROOT, free_port, wait_for
from drift import DriftInputError
from drift.batches import pick_batches

pytestmark = pytest.mark.skipif(not PROMETHEUS.exists(), reason=f"{PROMETHEUS} not installed")


@dataclass
class LocalRun:
    process: subprocess.Popen[str]
    output: Path
    ports: tuple[int, int]
    seen: list[psutil.Process] = field(default_factory=list)  # what it started, if known

    def text(self) -> str:
        return self.output.read_text()

    def finish(self, timeout: float = 300) -> tuple[int, str]:
        return self.process.wait(timeout=timeout), self.text()


Start = Callable[..., LocalRun]


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[Start]:
    runs: list[LocalRun] = []

    def start(*args: str) -> LocalRun:
        ports = (free_port(), free_port())
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GRAFANA_", "MONITOR_", "DRIFT_", "AIRFLOW", "PROVISION__"))
        }
        environ["GRAFANA_URL"] = f"http://127.0.0.1:{free_port()}"  # none: apply is skipped
        output = tmp_path / f"run-{len(runs)}.out"
        with output.open("w") as out:
            process = subprocess.Popen(
                [sys.executable, str(ROOT / "scripts" / "run_local.py"),
                 "--state-dir", str(tmp_path / "state"), "--monitor-port", str(ports[0]),
                 "--prometheus-port", str(ports[1]), *args],
                env=environ, stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        run = LocalRun(process, output, ports)
        runs.append(run)
        return run

    yield start
    for run in runs:  # a failed test must not leave services behind either
        if run.process.poll() is None:
            run.seen += psutil.Process(run.process.pid).children(recursive=True)
            run.process.kill()
            run.process.wait()
        for process in run.seen:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()


def command_lines(processes: list[psutil.Process]) -> list[str]:
    lines = []
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            lines.append(" ".join(process.cmdline()))
    return lines


def test_a_failing_batch_shows_the_dags_own_error_and_the_log(start_run: Start) -> None:
    with pytest.raises(DriftInputError) as expected:  # what the DAG's first task reports
        pick_batches(DATA, None, "no_such_batch.csv")
    run = start_run("--current", "no_such_batch.csv")
    code, output = run.finish()
    assert code == 1, output
    last = output.splitlines()[-1]
    assert last.startswith("error: the DAG failed: ")
    assert str(expected.value) in last
    assert f"(log: {run.output.parent / 'state' / 'airflow.log'})" in last
    for port in run.ports:
        assert not listening(port)


def test_a_run_says_it_stopped_the_services_and_shows_no_dead_url(start_run: Start) -> None:
    run = start_run()
    code, output = run.finish()
    assert code == 0, output
    assert "stopped the monitor and Prometheus" in output.splitlines()[-1]
    assert "status page" not in output and f":{run.ports[0]}/ " not in output
    for port in run.ports:
        assert not listening(port)


def test_sigterm_stops_every_service_it_started(start_run: Start) -> None:
    run = start_run()

    def airflow_running() -> list[psutil.Process]:
        found = psutil.Process(run.process.pid).children(recursive=True)
        return found if any("airflow" in line for line in command_lines(found)) else []

    run.seen = wait_for(airflow_running, "Airflow started by the run", timeout=120)
    assert all(listening(port) for port in run.ports)  # the monitor and Prometheus serve
    run.process.send_signal(signal.SIGTERM)
    code, output = run.finish(timeout=60)
    assert code == 128 + signal.SIGTERM, output
    assert "SIGTERM: stopped the monitor and Prometheus" in output
    _, alive = psutil.wait_procs(run.seen, timeout=15)
    assert command_lines(alive) == []
    for port in run.ports:
        assert not listening(port), f"something still listens on {port}"


def test_an_export_that_cannot_be_written_ends_the_run_in_one_line(
    start_run: Start, tmp_path: Path
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "grafana-provisioning").write_text("a file where the export goes")
    run = start_run()
    code, output = run.finish()
    assert code == 1, output
    assert "Traceback" not in output
    assert output.splitlines()[-1].startswith("Error: cannot write into ")
    for port in run.ports:
        assert not listening(port)
