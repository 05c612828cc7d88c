"""A fake Telegram Bot API on loopback that records sendMessage calls (tests and benchmarks
only). It answers like Telegram: Alertmanager 0.25 reads the sent message back, chat
included, or panics."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeTelegram:
    """``with FakeTelegram() as telegram``: ``telegram.url`` for the api_url, ``telegram.sent``
    the calls received ({"path", "at", **body}), in order."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        sent = self.sent

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sent.append({"path": self.path, "at": time.time(), **body})
                bot = {"id": 1, "is_bot": True, "first_name": "FakeBot", "username": "fake_bot"}
                result = {
                    "message_id": len(sent),
                    "date": int(time.time()),
                    "chat": {"id": int(body["chat_id"]), "type": "private"},
                    "from": bot,
                    "text": body.get("text", ""),
                }
                reply = json.dumps({"ok": True, "result": result}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeTelegram:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
