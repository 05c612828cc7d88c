"""``python -m monitor``: serve the monitor with uvicorn, a production-grade ASGI server."""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

import click
from pydantic import ValidationError

from monitor.app import create_app
from monitor.exposition import series_of
from monitor.server import MAX_CONNECTIONS, REQUEST_TIMEOUT_SECONDS, listen, serve
from monitor.store import Store
from names import MONITOR_PORT, MONITOR_TOKEN_ENV

log = logging.getLogger("monitor")


@click.command()
@click.option(
    "--host",
    envvar="MONITOR_HOST",
    default="127.0.0.1",
    show_default=True,
    show_envvar=True,
    help="Address to listen on (0.0.0.0 in a container).",
)
@click.option(
    "--port",
    envvar="MONITOR_PORT",
    default=MONITOR_PORT,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(1, 65535),
    help="TCP port to listen on.",
)
@click.option(
    "--db",
    "db_path",
    envvar="MONITOR_DB",
    default="monitor.db",
    show_default=True,
    show_envvar=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file with the state.",
)
@click.option(
    "--token-file",
    envvar="MONITOR_TOKEN_FILE",
    show_envvar=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"File holding the write token (or set {MONITOR_TOKEN_ENV}).",
)
@click.option(
    "--max-series",
    envvar="MONITOR_MAX_SERIES",
    default=100_000,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1),
    help="Cap on the series /metrics exposes (protects memory).",
)
@click.option(
    "--keep-runs",
    envvar="MONITOR_KEEP_RUNS",
    default=1_000,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1),
    help="Runs of history kept per dataset.",
)
@click.option(
    "--request-timeout",
    envvar="MONITOR_REQUEST_TIMEOUT",
    default=REQUEST_TIMEOUT_SECONDS,
    show_default=True,
    show_envvar=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds a client has to send a whole request, headers and body (then 408, closed).",
)
@click.option(
    "--max-connections",
    envvar="MONITOR_MAX_CONNECTIONS",
    default=MAX_CONNECTIONS,
    show_default=True,
    show_envvar=True,
    type=click.IntRange(min=1),
    help="Open connections at most (one more is answered 503 and closed).",
)
def main(
    host: str,
    port: int,
    db_path: Path,
    token_file: Path | None,
    max_series: int,
    keep_runs: int,
    request_timeout: float,
    max_connections: int,
) -> None:
    """The Stateful Monitor: drift results in, Prometheus metrics and a status page out.

    The write token comes from the environment variable MONITOR_TOKEN or from --token-file,
    never from the command line."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    token = _token(token_file)
    try:  # bound before anything else: a port in use or a bad host leaves nothing behind
        sock = listen(host, port)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {_reason(exc)}") from None
    try:
        store = Store(db_path, series_of, max_series=max_series, keep_runs=keep_runs)
    except (sqlite3.Error, ValidationError) as exc:
        raise click.ClickException(f"cannot use the database {db_path}: {_one_line(exc)}") from None
    if not token:
        log.warning("%s is not set: anyone who can reach the monitor can write to it",
                    MONITOR_TOKEN_ENV)  # fmt: skip
    log.info("state in %s: %d dataset(s)", db_path, len(store.current))
    serve(
        create_app(store, token),
        sock,
        token=token,
        request_timeout=request_timeout,
        max_connections=max_connections,
    )


def _token(token_file: Path | None) -> str | None:
    """The write token; None (writes open) only when neither the file nor the variable is
    given. Never a command-line flag: arguments are visible to every user in `ps`."""
    if token_file is None:
        token = os.environ.get(MONITOR_TOKEN_ENV, "")
        if token and not token.strip():  # set but blank: no bearer token could ever match it
            raise click.ClickException(
                f"{MONITOR_TOKEN_ENV} is blank: put the write token in it, or unset it"
            )
        return token.strip() or None  # a header's value loses its surrounding whitespace
    try:
        token = token_file.read_text().strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read the token file: {exc}") from None
    if not token:  # e.g. a Docker secret that was never filled: that must not open writes
        raise click.ClickException(
            f"the token file {token_file} is empty: put the write token in it"
        )
    return token


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _one_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):  # its text spans lines: the first problem only
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"a stored run does not load: {where}: {first['msg']}"
    return str(exc)


main(prog_name="python -m monitor")
