"""A fault-injecting HTTP proxy for the tests: a real HTTP server on 127.0.0.1 that forwards each
request to an upstream server (the fake Grafana) and spoils a share of them the ways a network
and the gateways in front of Grafana do.

Faults (``FAULTS``):

* ``5xx``: a 500, 502, 503 or 504 answer, before the upstream saw the request or after it
  handled it (a gateway that lost the upstream's answer);
* ``429``: "too many requests" before the upstream sees it, with ``Retry-After``;
* ``reset-before`` / ``reset-after``: the connection is reset (TCP RST) before the request is
  forwarded, or after the upstream handled it, with no answer;
* ``truncated``: the upstream's answer is cut in half, then the connection closed; either with
  its ``Content-Length`` kept (the client sees an incomplete read) or without one (the client
  reads to the close and gets half a JSON document);
* ``timeout``: no answer for ``stall_seconds`` (longer than the client waits), before or after
  the upstream handled the request, then the connection is closed.

Random faults hit ``rate`` of the requests, each kind alike, from a ``random.Random(seed)``: a
client that sends one request at a time sees the same faults on every run. Scripted faults
(``proxy.inject(fault, method, path)``) hit the next matching requests, whatever the rate::

    with FaultProxy(fake.url, rate=0.3, seed=7) as proxy:
        ...  # point the client at proxy.url
    proxy.injected  # [(method, path, fault, upstream_handled_it)]
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

FAULTS = ("5xx", "429", "reset-before", "reset-after", "truncated", "timeout")
SERVER_ERRORS = (500, 502, 503, 504)
# Not forwarded: they describe one connection, not the request (RFC 9110 §7.6.1).
HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
     "upgrade", "host", "content-length", "date", "server"}
)  # fmt: skip


@dataclass(frozen=True)
class _Decision:
    fault: str
    after: bool  # the upstream handles the request first
    status: int = 502  # for 5xx
    keep_length: bool = True  # for truncated: Content-Length kept (else read to the close)


@dataclass
class _Scripted:
    decision: _Decision
    method: str | None
    path: str | None  # a prefix
    remaining: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method in (None, method)) and (self.path is None or path.startswith(self.path))


@dataclass(frozen=True)
class Injected:
    method: str
    path: str
    fault: str
    upstream_handled: bool


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        rate: float = 0.0,
        seed: int = 0,
        faults: tuple[str, ...] = FAULTS,
        stall_seconds: float = 5.0,
        retry_after: int = 0,
    ) -> None:
        unknown = set(faults) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults: {sorted(unknown)}")
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.rate, self.faults = rate, faults
        self.stall_seconds, self.retry_after = stall_seconds, retry_after
        self.injected: list[Injected] = []
        self._random = random.Random(seed)
        self._scripted: list[_Scripted] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,))

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        """Stop serving; stalled connections are closed and every handler has finished, so no
        request reaches the upstream after this returns."""
        self._stopping.set()
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()
        self._server.server_close()  # joins the handler threads

    def inject(
        self,
        fault: str,
        method: str | None = None,
        path: str | None = None,
        *,
        times: int = 1,
        after: bool = True,
        status: int = 502,
        keep_length: bool = True,
    ) -> None:
        """Spoil the next ``times`` requests matching ``method`` and the ``path`` prefix with
        ``fault``. ``after``: a 5xx or timeout comes after the upstream handled the request;
        ``status``: the 5xx; ``keep_length``: a truncated answer keeps its Content-Length."""
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        decision = _Decision(fault, _after(fault, after), status, keep_length)
        with self._lock:
            self._scripted.append(_Scripted(decision, method, path, times))

    def kinds(self) -> set[str]:
        """The faults injected so far."""
        return {i.fault for i in self.injected}

    def _choose(self, method: str, path: str) -> _Decision | None:
        """The fault for this request, if any; every random draw is made here, in order."""
        with self._lock:
            for scripted in self._scripted:
                if scripted.remaining > 0 and scripted.matches(method, path):
                    scripted.remaining -= 1
                    return scripted.decision
            if not self.rate or self._random.random() >= self.rate:
                return None
            fault = self._random.choice(self.faults)
            after = _after(fault, self._random.random() < 0.5)
            status = self._random.choice(SERVER_ERRORS)
            return _Decision(fault, after, status, self._random.random() < 0.5)

    def _record(self, method: str, path: str, fault: str, handled: bool) -> None:
        with self._lock:
            self.injected.append(Injected(method, path, fault, handled))


def _after(fault: str, wanted: bool) -> bool:
    """Whether the upstream handles the request before the fault: only 5xx and timeouts may
    come either way."""
    return wanted if fault in ("5xx", "timeout") else fault in ("reset-after", "truncated")


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for every handler
    block_on_close = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's session uses it
    timeout = 1.0  # an idle kept-alive connection is closed after this, so stop() ends soon
    server: _Server

    def _serve(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = urlsplit(self.path).path
        decision = proxy._choose(self.command, path)
        if decision is None:
            self._answer(*self._forward(body))
            return
        proxy._record(self.command, path, decision.fault, decision.after)
        answer = self._forward(body) if decision.after else None
        if decision.fault == "truncated" and answer is not None:
            self._truncate(*answer, keep_length=decision.keep_length)
        elif decision.fault == "5xx":
            body = b'{"message":"fault proxy: injected failure"}'
            self._answer(decision.status, [("Content-Type", "application/json")], body)
        elif decision.fault == "429":
            headers = [
                ("Content-Type", "application/json"),
                ("Retry-After", str(proxy.retry_after)),
            ]
            self._answer(429, headers, b'{"message":"fault proxy: too many requests"}')
        elif decision.fault == "timeout":
            proxy._stopping.wait(proxy.stall_seconds)
            self.close_connection = True
        else:  # a reset: with SO_LINGER 0, closing sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()  # takes effect when the handler's files close, right after
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        proxy = self.server.proxy
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        upstream = http.client.HTTPConnection(*proxy.upstream, timeout=60)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            answer = response.read()
        finally:
            upstream.close()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        return response.status, kept, answer

    def _answer(self, status: int, headers: list[tuple[str, str]], answer: bytes) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _truncate(
        self, status: int, headers: list[tuple[str, str]], answer: bytes, *, keep_length: bool
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        if keep_length:
            self.send_header("Content-Length", str(len(answer)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer[: len(answer) // 2])
        self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return
