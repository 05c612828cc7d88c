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

from conftest import DATA, PROMETHEUS, ROOT, JsonHandler, free_port, serving, wait_for
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


@contextlib.contextmanager
def healthy_grafana() -> Iterator[tuple[str, list[str]]]:
    """A stand-in Grafana whose /api/health answers 200 (and nothing else); yields its URL and
    the paths asked for."""
    asked: list[str] = []

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            ok = self.path == "/api/health"
            self.reply(200 if ok else 404, b'{"database": "ok"}' if ok else b"{}")

        do_POST = do_PUT = do_DELETE = do_GET

    with serving(Handler) as url:
        yield url, asked


@pytest.fixture
def start_run(tmp_path: Path) -> Iterator[Start]:
    runs: list[LocalRun] = []

    def start(*args: str, grafana: str | None = None) -> LocalRun:
        ports = (free_port(), free_port())
        environ = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(
                ("GRAFANA_", "MONITOR_", "DRIFT_", "AIRFLOW", "PROVISION__", "TELEGRAM_")
            )
        }
        # By default no Grafana answers there: apply is skipped.
        environ["GRAFANA_URL"] = grafana or f"http://127.0.0.1:{free_port()}"
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
    *_, stopped, last = output.splitlines()
    assert stopped.startswith("==> stopped the monitor and Prometheus (state kept in ")
    assert last.startswith("error: the DAG failed: ")
    assert str(expected.value) in last
    assert f"(log: {run.output.parent / 'state' / 'airflow.log'})" in last
    for port in run.ports:
        assert not listening(port)


def test_a_run_says_it_stopped_the_services_and_leaves_grafana_alone(start_run: Start) -> None:
    """Applied, Grafana's data source would point at the Prometheus the run stops."""
    with healthy_grafana() as (grafana, asked):
        run = start_run(grafana=grafana)
        code, output = run.finish()
    assert code == 0, output
    assert "stopped the monitor and Prometheus" in output.splitlines()[-1]
    assert "status page" not in output and f":{run.ports[0]}/ " not in output
    assert "==> Grafana: apply skipped (with --keep-running it applies" in output
    assert asked == []
    for port in run.ports:
        assert not listening(port)


def test_a_failed_apply_ends_the_run_with_exit_1(start_run: Start) -> None:
    """With --keep-running a Grafana that answers is applied to; no TELEGRAM_* is set, so
    provision.py refuses, and the run must end there instead of serving as if it worked."""
    with healthy_grafana() as (grafana, _):
        run = start_run("--keep-running", grafana=grafana)
        code, output = run.finish(timeout=240)
    assert code == 1, output
    assert "Error: not set: TELEGRAM_BOT_TOKEN" in output
    assert "serving until Ctrl-C" not in output
    assert output.splitlines()[-1].startswith("==> stopped the monitor and Prometheus")
    for port in run.ports:
        assert not listening(port)


def test_a_taken_port_names_the_option_and_the_make_run_way(start_run: Start) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = start_run("--prometheus-port", str(port))  # the last --prometheus-port wins
        code, output = run.finish(timeout=60)
    assert code == 1, output
    assert output.splitlines() == [
        f"error: something already listens on 127.0.0.1:{port}, where Prometheus would; stop it"
        ' or choose another port: --prometheus-port PORT (make run RUN_ARGS="--prometheus-port'
        ' PORT")'
    ]  # nothing was started, so nothing is said to be stopped


def test_help_shows_each_port_and_its_default() -> None:
    run = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "run_local.py"), "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text = " ".join(run.stdout.split())
    assert (
        "--monitor-port MONITOR_PORT where the monitor listens on 127.0.0.1 (default: 5445)" in text
    )
    assert (
        "--prometheus-port PROMETHEUS_PORT where Prometheus listens on 127.0.0.1 (default: 9090)"
        in text
    )


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
    *_, error, stopped = output.splitlines()
    assert error.startswith("Error: cannot write into ")
    assert stopped.startswith("==> stopped the monitor and Prometheus (state kept in ")
    for port in run.ports:
        assert not listening(port)
