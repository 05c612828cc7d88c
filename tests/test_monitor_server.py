"""The monitor as ``python -m monitor`` serves it, over raw sockets where a client misbehaves:
slow and idle clients are cut off, connections are capped, a write without the token is
refused before its body is read, credentials in a query string are refused and never logged,
and a database that cannot be used is one line, not a traceback."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
import requests

import names
from conftest import MONITOR_TOKEN, MonitorServer, feature_doc, free_port, run_doc

REQUEST_TIMEOUT = 1.5  # seconds, --request-timeout of the slow-client tests
GRACE = 3.0  # how much later than the bound a connection may be closed, on a busy machine
AUTH = f"Authorization: Bearer {MONITOR_TOKEN}\r\n"
HIDDEN = "?<hidden: it held a credential>"


@contextmanager
def monitor(tmp_path: Path, *options: str) -> Iterator[MonitorServer]:
    server = MonitorServer(
        tmp_path / "monitor.db", tmp_path / "monitor.log", MONITOR_TOKEN, options=list(options)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


def connect(server: MonitorServer, sent: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.sendall(sent)
    return sock


def status_of(sock: socket.socket, timeout: float = 5.0) -> int:
    """The status of the next response on the connection, read whole (the monitor's
    answers all have a Content-Length)."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise AssertionError(f"closed without a whole answer, after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return int(head.split(b" ", 2)[1])


def trickle(server: MonitorServer, head: bytes, byte: bytes) -> tuple[float, bytes]:
    """Send ``head``, then one ``byte`` every 0.1 s until the server closes the connection:
    how long that took, and what the server sent meanwhile."""
    with closing(connect(server, head)) as sock:
        sock.settimeout(0.1)
        start, received = time.monotonic(), b""
        while time.monotonic() - start < REQUEST_TIMEOUT + GRACE + 5:
            try:
                chunk = sock.recv(1024)
            except TimeoutError:
                try:
                    sock.sendall(byte)
                except OSError:  # reset: closed
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
        return time.monotonic() - start, received


SLOW_CLIENTS = {
    "silent": (b"", b""),
    "trickling headers": (b"GET /healthz HTTP/1.1\r\nHost: m\r\nX-Slow: ", b"a"),
    "trickling a body": (
        f"POST {names.RUNS_PATH} HTTP/1.1\r\nHost: m\r\n{AUTH}Content-Type: application/json"
        "\r\nContent-Length: 100000\r\n\r\n".encode(),
        b" ",
    ),
}


def test_slow_and_idle_clients_are_answered_408_and_closed_within_the_bound(
    tmp_path: Path,
) -> None:
    with monitor(tmp_path, "--request-timeout", str(REQUEST_TIMEOUT)) as server:
        kinds = [kind for kind in SLOW_CLIENTS for _ in range(5)]
        with ThreadPoolExecutor(len(kinds)) as pool:
            ended = list(pool.map(lambda kind: trickle(server, *SLOW_CLIENTS[kind]), kinds))
        still_up = requests.get(server.url + "/healthz", timeout=5).status_code

    for kind, (seconds, received) in zip(kinds, ended, strict=True):
        assert REQUEST_TIMEOUT - 0.5 <= seconds <= REQUEST_TIMEOUT + GRACE, (kind, seconds)
        assert received.startswith(b"HTTP/1.1 408 "), (kind, received)
    assert still_up == 200
    assert server.log.read_text().count(f"no whole request within {REQUEST_TIMEOUT:g} s") == 15


def test_a_request_sent_whole_in_time_is_served_however_long_the_connection_was_idle_before(
    tmp_path: Path,
) -> None:
    """The bound is on receiving a request, not on the app or on keep-alive: a request sent
    in pieces within the bound is served, and a second one on the same connection too."""
    with (
        monitor(tmp_path, "--request-timeout", str(REQUEST_TIMEOUT)) as server,
        closing(connect(server)) as sock,
    ):
        for _ in range(2):
            for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: m\r\n", b"\r\n"):
                time.sleep(REQUEST_TIMEOUT / 4)
                sock.sendall(piece)
            assert status_of(sock) == 200


def test_the_server_answers_while_trickling_clients_hold_connections_and_caps_them(
    tmp_path: Path,
) -> None:
    cap, tricklers = 30, 25
    with monitor(tmp_path, "--max-connections", str(cap), "--request-timeout", "60") as server:
        held = [
            connect(server, b"GET / HTTP/1.1\r\nHost: m\r\nX-Slow: a") for _ in range(tricklers)
        ]
        try:
            close = {"Connection": "close"}
            start = time.monotonic()
            health = requests.get(server.url + "/healthz", headers=close, timeout=5)
            run = run_doc("shop", [feature_doc("a", 0.5)])
            auth = {**close, "Authorization": f"Bearer {MONITOR_TOKEN}"}
            posted = requests.post(server.url + names.RUNS_PATH, json=run, headers=auth, timeout=5)
            answered_in = time.monotonic() - start
            # Up to the cap, more are served; beyond it, each is answered 503 at once.
            extra = [
                connect(server, b"GET /healthz HTTP/1.1\r\nHost: m\r\n\r\n") for _ in range(10)
            ]
            statuses = [status_of(sock) for sock in extra]
            for sock in extra:
                sock.close()
        finally:
            for sock in held:
                sock.close()
        after = requests.get(server.url + "/healthz", timeout=5).status_code

    assert (health.status_code, posted.status_code) == (200, 201)
    assert answered_in < 5
    assert statuses == [200] * (cap - tricklers) + [503] * (10 - (cap - tricklers))
    assert after == 200
    assert f"{cap} connections open, the limit: one more refused" in server.log.read_text()


@pytest.mark.parametrize(
    ("headers", "length", "status"),
    [
        pytest.param("", 900_000, 401, id="no token"),
        pytest.param("Authorization: Bearer wrong\r\n", 900_000, 401, id="wrong token"),
        pytest.param(AUTH, 2 << 20, 413, id="declared over 1 MiB"),
    ],
)
def test_a_write_is_refused_before_its_body_is_sent(
    tmp_path: Path, headers: str, length: int, status: int
) -> None:
    """The answer comes while the body has not been sent at all: nothing waited for it."""
    with monitor(tmp_path) as server:
        head = (
            f"POST {names.RUNS_PATH} HTTP/1.1\r\nHost: m\r\n{headers}"
            f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        with closing(connect(server, head.encode())) as sock:
            answer = status_of(sock, timeout=3)
        datasets = requests.get(server.url + names.DATASETS_PATH, timeout=5).json()

    assert answer == status
    assert datasets == []


QUERY_CREDENTIALS = [
    ("GET", "/metrics", {"token": MONITOR_TOKEN}),
    ("GET", "/metrics", {"access_token": MONITOR_TOKEN}),
    ("GET", names.DATASETS_PATH, {"limit": "5", "x": MONITOR_TOKEN}),  # the value is the token
    ("GET", "/", {"q": f"{MONITOR_TOKEN}-and-more"}),  # the token within a value
    ("GET", "/healthz", {"Api_Key": "not-our-token"}),  # named like a credential
    ("POST", names.LEGACY_PATH, {"feature": "f", "metric": "m", "value": "1", "token": "x"}),
    ("POST", names.RUNS_PATH, {"token": MONITOR_TOKEN}),
    ("DELETE", names.DATASETS_PATH + "/shop", {"password": MONITOR_TOKEN}),
]


def test_a_credential_in_a_query_string_is_refused_and_never_logged(tmp_path: Path) -> None:
    run = run_doc("shop", [feature_doc("a", 0.5)])
    auth = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
    with monitor(tmp_path) as server:
        assert requests.post(server.url + names.RUNS_PATH, json=run, headers=auth).ok
        before = requests.get(server.url + "/metrics", timeout=5).text
        refused = [
            requests.request(
                method, server.url + path, params=query, json=run, headers=auth, timeout=5
            )
            for method, path, query in QUERY_CREDENTIALS
        ]
        after = requests.get(server.url + "/metrics", timeout=5).text
        fine = requests.get(f"{server.url}{names.DATASETS_PATH}/shop/runs?limit=5", timeout=5)

    for response in refused:
        assert response.status_code == 400, response.request.url
        assert "query string" in response.json()["error"]
        assert "Authorization: Bearer" in response.json()["error"]
    assert after == before  # nothing written, deleted or changed
    assert fine.status_code == 200
    log = server.log.read_text()
    assert MONITOR_TOKEN not in log and MONITOR_TOKEN[:8] not in log
    assert "not-our-token" not in log
    for method, path, _ in QUERY_CREDENTIALS:
        assert f'"{method} {path}{HIDDEN} HTTP/1.1" 400' in log, (method, path)
    assert f'"GET {names.DATASETS_PATH}/shop/runs?limit=5 HTTP/1.1" 200' in log  # kept


def start_error(db: Path) -> subprocess.CompletedProcess[str]:
    """``python -m monitor`` on this database, which must exit at once."""
    command = [sys.executable, "-m", "monitor", "--db", str(db), "--port", str(free_port())]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_a_database_in_a_missing_folder_is_one_line_and_a_failed_exit(tmp_path: Path) -> None:
    db = tmp_path / "no" / "such" / "dir" / "m.db"
    done = start_error(db)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: cannot use the database {db}: unable to open database file"
    ]
    assert done.stdout == ""


def test_a_file_that_is_not_a_database_is_one_line_and_left_alone(tmp_path: Path) -> None:
    db = tmp_path / "m.db"
    garbage = b"not a database, " * 100
    db.write_bytes(garbage)

    done = start_error(db)

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: cannot use the database {db}: file is not a database"
    ]
    assert db.read_bytes() == garbage


def test_a_stored_run_that_does_not_load_is_one_line(tmp_path: Path) -> None:
    with monitor(tmp_path) as server:
        run = run_doc("shop", [feature_doc("a", 0.5)])
        auth = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
        assert requests.post(server.url + names.RUNS_PATH, json=run, headers=auth).ok
    with closing(sqlite3.connect(server.db)) as connection, connection:
        connection.execute("UPDATE runs SET body = '{\"dataset\": '")

    done = start_error(server.db)

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith(f"Error: cannot use the database {server.db}: a stored run does not ")


def test_a_run_stored_before_a_rule_existed_still_loads(tmp_path: Path) -> None:
    """A dataset name with "/" is refused since, but one stored before that still loads."""
    auth = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
    with monitor(tmp_path) as server:
        run = run_doc("shop", [feature_doc("a", 0.5)])
        assert requests.post(server.url + names.RUNS_PATH, json=run, headers=auth).ok
    with closing(sqlite3.connect(server.db)) as connection, connection:
        connection.execute("UPDATE runs SET dataset = 'old/name', body = "
                           "json_set(body, '$.dataset', 'old/name')")  # fmt: skip

    server.start()
    try:
        datasets = requests.get(server.url + names.DATASETS_PATH, timeout=5).json()
    finally:
        server.stop()

    assert [d["dataset"] for d in datasets] == ["old/name"]


def start_fails(
    tmp_path: Path, *options: str, variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m monitor`` with these options (and a database in ``tmp_path``, a free port
    unless given), which must exit at once; MONITOR_* variables of the caller are dropped,
    ``variables`` added."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update(variables or {})
    command = [sys.executable, "-m", "monitor", "--db", str(tmp_path / "m.db")]
    if "--port" not in options:
        command += ["--port", str(free_port())]
    return subprocess.run([*command, *options], capture_output=True, text=True, timeout=20, env=env)


@pytest.mark.parametrize("content", ["", " \n\t\n"], ids=["empty", "whitespace"])
def test_an_empty_token_file_is_one_line_and_a_failed_exit_not_open_writes(
    tmp_path: Path, content: str
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(content)

    done = start_fails(tmp_path, "--token-file", str(token_file))

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: the token file {token_file} is empty: put the write token in it"
    ]
    assert not (tmp_path / "m.db").exists()  # nothing created


@pytest.mark.parametrize("value", [" ", " \t\n"], ids=["space", "whitespace"])
def test_a_blank_monitor_token_is_one_line_and_a_failed_exit_not_refused_writes(
    tmp_path: Path, value: str
) -> None:
    done = start_fails(tmp_path, variables={names.MONITOR_TOKEN_ENV: value})

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "Error: MONITOR_TOKEN is blank: put the write token in it, or unset it"
    ]
    assert not (tmp_path / "m.db").exists()  # nothing created


def test_a_token_file_holds_the_token_around_its_whitespace(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(f"\n {MONITOR_TOKEN} \n")
    with monitor(tmp_path, "--token-file", str(token_file)) as server:
        run = run_doc("shop", [feature_doc("a", 0.5)])
        without = requests.post(server.url + names.RUNS_PATH, json=run, timeout=5)
        auth = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
        with_token = requests.post(server.url + names.RUNS_PATH, json=run, headers=auth)

    assert (without.status_code, with_token.status_code) == (401, 201)


def test_a_port_in_use_is_one_line_and_a_failed_exit(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = start_fails(tmp_path, "--host", "127.0.0.1", "--port", str(port))

    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]
    assert done.stdout == ""
    assert not (tmp_path / "m.db").exists()


def test_a_host_that_does_not_resolve_is_one_line_and_a_failed_exit(tmp_path: Path) -> None:
    done = start_fails(tmp_path, "--host", "nosuchhost.invalid")  # RFC 2606: never resolves

    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: cannot listen on nosuchhost.invalid:"), line
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [("--port", "0"), ("--port", "-1"), ("--port", "70000"), ("--max-series", "-5"),
     ("--max-series", "0"), ("--keep-runs", "0"), ("--keep-runs", "-1")],
)  # fmt: skip
def test_an_out_of_range_option_is_a_usage_error(tmp_path: Path, option: str, value: str) -> None:
    done = start_fails(tmp_path, option, value)

    assert done.returncode == 2  # click's exit status for a usage error
    assert done.stderr.splitlines()[-1].startswith(f"Error: Invalid value for '{option}'")
    assert not (tmp_path / "m.db").exists()


def test_help_names_every_environment_variable_it_reads() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "--help"], capture_output=True, text=True, timeout=20
    )
    text = " ".join(done.stdout.split())  # click wraps lines

    assert done.returncode == 0
    for variable in (
        "MONITOR_HOST", "MONITOR_PORT", "MONITOR_DB", "MONITOR_TOKEN", "MONITOR_TOKEN_FILE",
        "MONITOR_MAX_SERIES", "MONITOR_KEEP_RUNS", "MONITOR_REQUEST_TIMEOUT",
        "MONITOR_MAX_CONNECTIONS",
    ):  # fmt: skip
        assert re.search(rf"\b{variable}\b", text), variable
    assert "--port INTEGER RANGE TCP port to listen on." in text


def test_a_dataset_stored_with_a_slash_before_the_rule_can_be_read_and_deleted(
    tmp_path: Path,
) -> None:
    """Such a run keeps exposing series (its alerts can fire): it must stay deletable."""
    auth = {"Authorization": f"Bearer {MONITOR_TOKEN}"}
    with monitor(tmp_path) as server:
        for dataset in ("team", "old"):
            run = run_doc(dataset, [feature_doc("a", 0.5)])
            assert requests.post(server.url + names.RUNS_PATH, json=run, headers=auth).ok
    with closing(sqlite3.connect(server.db)) as connection, connection:
        connection.execute(
            "UPDATE runs SET dataset = 'team/a', body = json_set(body, '$.dataset', 'team/a') "
            "WHERE dataset = 'old'"
        )
    datasets = server.url + names.DATASETS_PATH

    server.start()
    try:
        read = requests.get(f"{datasets}/team/a", timeout=5)
        quoted = requests.get(f"{datasets}/team%2Fa", timeout=5)
        history = requests.get(f"{datasets}/team/a/runs", timeout=5)
        exposed_before = requests.get(server.url + "/metrics", timeout=5).text
        refused = requests.delete(f"{datasets}/team/a", timeout=5)
        deleted = requests.delete(f"{datasets}/team/a", headers=auth, timeout=5)
        exposed_after = requests.get(server.url + "/metrics", timeout=5).text
        listed = [d["dataset"] for d in requests.get(datasets, timeout=5).json()]
        gone = requests.get(f"{datasets}/team/a", timeout=5).status_code
    finally:
        server.stop()

    assert (read.status_code, read.json()["dataset"]) == (200, "team/a")
    assert quoted.json()["dataset"] == "team/a"
    assert [run["dataset"] for run in history.json()] == ["team/a"]
    assert 'dataset="team/a"' in exposed_before
    assert refused.status_code == 401  # a write like any other: the token is needed
    assert deleted.status_code == 204
    assert 'dataset="team/a"' not in exposed_after
    assert 'dataset="team"' in exposed_after  # its neighbour is untouched
    assert listed == ["team"]
    assert gone == 404
