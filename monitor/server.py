"""Serving the app with uvicorn, with the bounds uvicorn lacks on slow and idle clients, and
an access log that never shows a credential sent in a query string.

uvicorn (0.54) arms a timer only between two requests on a kept-alive connection
(``timeout_keep_alive``): a client that connects and sends nothing, or trickles the headers
or the body a byte at a time, is held for as long as it likes, and its connections are not
counted against anything (``limit_concurrency`` answers 503 only once headers are whole).
BoundedProtocol adds a deadline for each request and a cap on open connections. It extends
uvicorn's h11 protocol, the one uvicorn always ships (httptools is optional and absent from
the Docker image), so that what the tests run is what the image runs.
"""

from __future__ import annotations

import asyncio
import logging
import socket

import h11
import uvicorn
from fastapi import FastAPI
from uvicorn.protocols.http.h11_impl import H11Protocol

from monitor.app import credential_in_query

REQUEST_TIMEOUT_SECONDS = 10.0
MAX_CONNECTIONS = 256
HIDDEN_QUERY = "?<hidden: it held a credential>"

log = logging.getLogger("monitor")


def _plain(status: str, text: str) -> bytes:
    """A whole HTTP response that closes the connection, written before or instead of one
    from the app."""
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(text)}\r\nconnection: close\r\n\r\n{text}"
    ).encode()


class BoundedProtocol(H11Protocol):
    """uvicorn's h11 protocol with two bounds. A request, headers and body, must arrive
    whole within ``request_timeout`` seconds from the connection or from its first byte;
    otherwise it is answered 408 (if nothing was answered yet) and the connection closed.
    At most ``max_connections`` are open: one more is answered 503 and closed at once,
    so trickling clients cannot exhaust file descriptors. Set both on a subclass."""

    request_timeout = REQUEST_TIMEOUT_SECONDS
    max_connections = MAX_CONNECTIONS
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning("%d connections open, the limit: one more refused", self.max_connections)
            transport.write(_plain("503 Service Unavailable", "too many connections\n"))
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._deadline is None:  # the first bytes of the next request on this connection
            self._arm()
        super().data_received(data)
        if self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):  # the request is whole
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        client = "{}:{}".format(*self.client) if self.client else "a client"
        log.warning("%s - no whole request within %g s: closed", client, self.request_timeout)
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):  # nothing answered yet
            self.transport.write(_plain("408 Request Timeout", "request too slow\n"))
        self.transport.close()


class HideQueryCredentials(logging.Filter):
    """uvicorn's access log shows the path with its query string: hide a query that holds
    a credential (such a request is refused, but its line is still logged)."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:  # client, method, path, ...
            client, method, path, *rest = record.args
            path_only, _, query = str(path).partition("?")
            if query and credential_in_query(query, self.token):
                record.args = (client, method, path_only + HIDDEN_QUERY, *rest)
        return True


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to host:port, as uvicorn would bind it; OSError (socket.gaierror for
    a host that does not resolve) if it cannot be. Bound here and handed to uvicorn, so a
    taken port is one line before start-up, with no window for another process to take it
    in between."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    app: FastAPI,
    sock: socket.socket,
    *,
    token: str | None,
    request_timeout: float,
    max_connections: int,
) -> None:
    protocol = type(
        "BoundedProtocol",
        (BoundedProtocol,),
        {"request_timeout": request_timeout, "max_connections": max_connections},
    )
    config = uvicorn.Config(app, log_level="info", http=protocol)
    logging.getLogger("uvicorn.access").addFilter(HideQueryCredentials(token))
    host, port = sock.getsockname()[:2]
    address = f"[{host}]" if ":" in host else host
    log.info("listening on http://%s:%d (Ctrl-C to quit)", address, port)
    uvicorn.Server(config).run(sockets=[sock])
