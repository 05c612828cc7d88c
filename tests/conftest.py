"""Shared fixtures: repository paths, a migrated Airflow home, a recording HTTP server."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

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


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A real HTTP server on loopback that records every request."""
    record = Recorder()

    class Handler(BaseHTTPRequestHandler):
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
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    record.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield record
    server.shutdown()
    server.server_close()


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
    for name in ("MONITOR_URL", "MONITOR_TOKEN", "DRIFT_DATA_DIR"):
        env.pop(name, None)
    subprocess.run([str(AIRFLOW), "db", "migrate"], env=env, check=True, capture_output=True)
    return env
