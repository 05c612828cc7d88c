"""Shared fixtures: repository paths, a migrated Airflow home, a recording HTTP server."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import yaml
from run_docs import RUN_AT as RUN_AT  # re-exported: tests import them from here
from run_docs import feature_doc as feature_doc
from run_docs import run_doc as run_doc

from drift.batches import DATA_ROOT_ENV
from names import (
    DATA_DIR_ENV,
    DATASET_ENV,
    LEGACY_PATH,
    MONITOR_JOB,
    MONITOR_TOKEN_ENV,
    MONITOR_URL_ENV,
    RUNS_PATH,
    SCHEDULE_ENV,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
AIRFLOW = Path(sys.executable).with_name("airflow")


@dataclass
class Recorder:
    """What a fake monitor received, and what it answers."""

    url: str = ""
    requests: list[dict] = field(default_factory=list)
    # (status, JSON body) answers played in order; the last one repeats.
    answers: list[tuple[int, str]] = field(
        default_factory=lambda: [(201, '{"dataset": "d", "run_id": 1, "current": true}')]
    )


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler for the test servers, answering JSON."""

    def reply(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on loopback with ``handler``, in a thread; yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A real HTTP server on loopback that records every request."""
    record = Recorder()

    class Handler(JsonHandler):
        def do_POST(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            record.requests.append(
                {
                    "path": parts.path,
                    "query": dict(parse_qsl(parts.query)),
                    "headers": dict(self.headers),
                    "body": self.rfile.read(length),
                }
            )
            index = min(len(record.requests), len(record.answers)) - 1
            status, body = record.answers[index]
            self.reply(status, body.encode())

    with serving(Handler) as url:
        record.url = url
        yield record


@pytest.fixture(scope="session")
def airflow_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for the airflow CLI with a freshly migrated SQLite database."""
    home = tmp_path_factory.mktemp("airflow_home")
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    }
    for name in (MONITOR_URL_ENV, MONITOR_TOKEN_ENV, DATA_DIR_ENV, DATASET_ENV):
        env.pop(name, None)
    # The DAG reads data folders inside its data root only: the tests' are under this one.
    env[DATA_ROOT_ENV] = str(tmp_path_factory.getbasetemp())
    env.pop(SCHEDULE_ENV, None)  # the DAG runs by hand unless a test gives it a schedule
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
    return env


# Real servers on loopback: the monitor (uvicorn, as `python -m monitor` runs it) and the
# Prometheus binary from the Debian package. Both run in their own process group, are found
# ready by polling, and are stopped by their process group on teardown.

PROMETHEUS = Path("/usr/bin/prometheus")
PROMTOOL = Path("/usr/bin/promtool")
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
T = TypeVar("T")


def free_port() -> int:
    """A loopback port that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(
    condition: Callable[[], T], what: str, timeout: float = 30.0, interval: float = 0.1
) -> T:
    """Call ``condition`` until it returns something truthy, and return that; fail with the
    last value seen after ``timeout`` seconds. Polling, never a fixed sleep."""
    deadline = time.monotonic() + timeout
    while True:
        last = condition()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no {what} after {timeout:g} s; last seen: {last!r}")
        time.sleep(interval)


def stop_process_group(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal the process group (the process was started with start_new_session=True);
    SIGKILL it if it has not exited after STOP_TIMEOUT_SECONDS."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT_SECONDS)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _wait_until_up(process: subprocess.Popen[bytes], url: str, log: Path, what: str) -> None:
    def up() -> bool:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode} before answering:\n"
                + log.read_text(errors="replace")[-3000:]
            )
        return _answers(url)

    wait_for(up, f"answer from {what} at {url}", timeout=START_TIMEOUT_SECONDS)


@dataclass
class MonitorServer:
    """``python -m monitor`` on 127.0.0.1 with its own SQLite file and write token (None:
    started without one)."""

    db: Path
    log: Path
    token: str | None = field(default_factory=lambda: secrets.token_urlsafe(16))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    options: list[str] = field(default_factory=list)  # more command-line options

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def target(self) -> str:
        """host:port, as a Prometheus scrape target."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again on the same port and database) and wait until /healthz answers."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        if self.token is not None:
            env["MONITOR_TOKEN"] = self.token
        command = [sys.executable, "-m", "monitor", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--db", str(self.db), *self.options]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=self.db.parent, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait_until_up(self.process, f"{self.url}/healthz", self.log, "the monitor")

    def stop(self) -> None:
        """A graceful stop (SIGTERM)."""
        if self.process is not None:
            stop_process_group(self.process)

    def kill(self) -> None:
        """A crash (SIGKILL): nothing gets to clean up."""
        if self.process is not None:
            stop_process_group(self.process, signal.SIGKILL)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def running_monitor(home: Path) -> Iterator[MonitorServer]:
    """A real monitor process with an empty database in ``home``, stopped on exit."""
    server = MonitorServer(db=home / "monitor.db", log=home / "monitor.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def monitor_server(tmp_path: Path) -> Iterator[MonitorServer]:
    with running_monitor(tmp_path) as server:
        yield server


@dataclass
class PrometheusServer:
    url: str
    config: Path
    storage: Path
    log: Path
    process: subprocess.Popen[bytes]

    def query(self, promql: str) -> list[dict[str, Any]]:
        """An instant query through the HTTP API: the vector's samples."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        body = response.json()
        assert response.status_code == 200 and body["status"] == "success", body
        assert body["data"]["resultType"] == "vector", body
        return body["data"]["result"]


def prometheus_config(
    targets: Sequence[str],
    job: str = MONITOR_JOB,  # the job the monitor-down rule watches
    rule_files: Sequence[Path] = (),
    alertmanager: str | None = None,
) -> dict[str, Any]:
    """Scrape the targets every second; optionally evaluate rules and alert an Alertmanager
    ("host:port")."""
    config: dict[str, Any] = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [{"job_name": job, "static_configs": [{"targets": list(targets)}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanager:
        targets_ = [{"static_configs": [{"targets": [alertmanager]}]}]
        config["alerting"] = {"alertmanagers": targets_}
    return config


@pytest.fixture
def prometheus_server(tmp_path: Path) -> Iterator[Callable[..., PrometheusServer]]:
    """Start the real Prometheus scraping a target ("host:port") every second:
    ``prometheus_server(monitor_server.target)``. Stopped after the test.

    The first scrape comes about 5 s after the start whatever the interval (target discovery
    is throttled): poll queries, never sleep."""
    started: list[PrometheusServer] = []

    def start(
        target: str, rule_files: Sequence[Path] = (), alertmanager: str | None = None
    ) -> PrometheusServer:
        home = tmp_path / f"prometheus_{len(started)}"
        home.mkdir()
        config, storage, log = home / "prometheus.yml", home / "data", home / "prometheus.log"
        settings = prometheus_config([target], rule_files=rule_files, alertmanager=alertmanager)
        config.write_text(yaml.safe_dump(settings))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        assert not _answers(f"{url}/-/ready"), f"something already listens on port {port}"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    str(PROMETHEUS),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={storage}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--web.external-url={url}/",
                ],
                cwd=home, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        server = PrometheusServer(url, config, storage, log, process)
        started.append(server)
        _wait_until_up(process, f"{url}/-/ready", log, "Prometheus")
        # The Prometheus that answers is ours, not one that got the port first.
        flags = requests.get(f"{url}/api/v1/status/flags", timeout=5).json()["data"]
        assert flags["storage.tsdb.path"] == str(storage), flags
        return server

    try:
        yield start
    finally:
        for server in started:
            stop_process_group(server.process)


# --- The monitor in process (FastAPI's TestClient), its request bodies, its exposition. ---

MONITOR_TOKEN = "tok-7Q2vXk9pL4mZ"  # distinctive, so a leak into a log is unmistakable


Sample = tuple[str, frozenset[tuple[str, str]]]


def scrape(text: str) -> dict[Sample, float]:
    """The samples of a Prometheus text exposition: (name, labels) -> value."""
    from prometheus_client.parser import text_string_to_metric_families

    samples: dict[Sample, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            key = (sample.name, frozenset(sample.labels.items()))
            assert key not in samples, f"duplicate series {key}"
            samples[key] = sample.value
    return samples


def series(name: str, **labels: str) -> Sample:
    """The key of one series in what scrape() returns."""
    return name, frozenset(labels.items())


@dataclass
class MonitorApp:
    """The monitor app in process, on its own SQLite file."""

    client: Any  # fastapi.testclient.TestClient
    store: Any  # monitor.store.Store
    db: Path
    token: str | None

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def post_run(self, document: dict[str, Any]) -> Any:
        return self.client.post(RUNS_PATH, json=document, headers=self.auth)

    def post_legacy(self, feature: str, metric: str, value: float | str) -> Any:
        params = {"feature": feature, "metric": metric, "value": str(value)}
        return self.client.post(LEGACY_PATH, params=params, headers=self.auth)

    def metrics(self) -> str:
        response = self.client.get("/metrics")
        assert response.status_code == 200, response.text
        return response.text

    def row_counts(self) -> tuple[int, int]:
        """Rows in the runs and legacy tables, read through a connection of its own."""
        with contextlib.closing(sqlite3.connect(self.db)) as db:
            runs = db.execute("SELECT count(*) FROM runs").fetchone()[0]
            legacy = db.execute("SELECT count(*) FROM legacy").fetchone()[0]
        return runs, legacy


@pytest.fixture
def make_monitor_app(tmp_path: Path) -> Iterator[Callable[..., MonitorApp]]:
    """Build monitor apps, each on a fresh SQLite file:
    ``make_monitor_app(token=..., max_series=..., keep_runs=...)``."""
    from fastapi.testclient import TestClient

    from monitor.app import create_app
    from monitor.exposition import series_of
    from monitor.store import Store

    made: list[MonitorApp] = []

    def make(
        token: str | None = MONITOR_TOKEN, max_series: int = 100_000, keep_runs: int = 1_000
    ) -> MonitorApp:
        db = tmp_path / f"monitor_app_{len(made)}.db"
        store = Store(db, series_of, max_series=max_series, keep_runs=keep_runs)
        client = TestClient(create_app(store, token), raise_server_exceptions=False)
        made.append(MonitorApp(client, store, db, token))
        return made[-1]

    yield make
    for app in made:
        app.client.close()
        app.store.close()


@pytest.fixture
def monitor_app(make_monitor_app: Callable[..., MonitorApp]) -> MonitorApp:
    """A monitor app with the write token MONITOR_TOKEN, on a fresh SQLite file."""
    return make_monitor_app()


# --- the fake Grafana ------------------------------------------------------------------------

LIMITED_TOKEN = "glsa_fake_without_secrets"  # a service account without secrets:read
# Every test using `fake` runs once per Grafana profile (ids fake11.6, fake12.4, fake13.2);
# FAKE_GRAFANA_VERSIONS=13.2 (comma-separated) runs fewer, @pytest.mark.fake_versions("13.2")
# limits one test to the profiles it is about.
FAKE_VERSIONS = ("11.6", "12.4", "13.2")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_versions(*versions): run the test's `fake` on these profiles only"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fake" not in metafunc.fixturenames:
        return
    chosen = os.environ.get("FAKE_GRAFANA_VERSIONS", "")
    versions = [v.strip() for v in chosen.split(",") if v.strip()] or list(FAKE_VERSIONS)
    marker = metafunc.definition.get_closest_marker("fake_versions")
    if marker is not None:
        versions = [v for v in versions if v in marker.args]
    ids = [f"fake{v}" for v in versions]
    metafunc.parametrize("fake", versions, indirect=True, ids=ids)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fake Grafana validates against Grafana's OpenAPI spec, which is not in the clone
    (README "Tests"): without it, say so once instead of failing each of its tests."""
    if "fake_grafana" not in sys.modules and not any("fake" in i.fixturenames for i in items):
        return
    from fake_grafana import DEFAULT_SPEC_PATH

    if not DEFAULT_SPEC_PATH.is_file():
        raise pytest.UsageError(
            f"Grafana's OpenAPI spec is missing: {DEFAULT_SPEC_PATH}. The fake Grafana's tests"
            " need the reference folder shared/ next to the clone (../shared/reference/grafana)"
            " or FAKE_GRAFANA_SPEC naming the spec (Grafana 11.4's public/api-merged.json,"
            " branch release-11.4.0 of grafana/grafana); see README.md, Tests"
        )


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fake Grafana (tests/fake_grafana.py) of the test's profile (``fake.version``) with an
    all-powerful and a limited token."""
    from fake_grafana import DEFAULT_TOKEN, PROVISIONING_WITHOUT_SECRETS, FakeGrafana, FakeToken

    tokens = {DEFAULT_TOKEN: FakeToken(), LIMITED_TOKEN: PROVISIONING_WITHOUT_SECRETS}
    with FakeGrafana(tokens=tokens, version=request.param) as server:
        yield server
    # Whatever a test did, no request body would have been refused by real Grafana.
    assert server.spec_violations == []
    assert server.unknown_requests == []
    assert server.internal_errors == []


# --- a stand-in for Prometheus's query API ---------------------------------------------------

Vectors = dict[str, list[tuple[dict[str, str], str]]]  # query -> [(labels, value text)]


@contextmanager
def prometheus_queries(vectors: Vectors, refuse_unknown: bool) -> Iterator[str]:
    """Prometheus's instant-query API (/api/v1/query) on loopback; yields its URL. A query in
    ``vectors`` answers its series; any other is refused as a bad query (``refuse_unknown``)
    or answers no series, as a Prometheus without that data does."""

    class Handler(JsonHandler):
        def do_GET(self) -> None:
            query = dict(parse_qsl(urlsplit(self.path).query))["query"]
            if query not in vectors and refuse_unknown:
                body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            else:
                result = [
                    {"metric": {"__name__": "m", **labels}, "value": [0, value]}
                    for labels, value in vectors.get(query, [])
                ]
                body = {"status": "success", "data": {"resultType": "vector", "result": result}}
            self.reply(200 if body["status"] == "success" else 400, json.dumps(body).encode())

    with serving(Handler) as url:
        yield url
