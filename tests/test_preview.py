"""The rule preview's expression semantics, against a small Prometheus HTTP API stand-in
(the real Prometheus runs in test_end_to_end.py)."""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from provisioning.preview import PreviewError, preview

VECTORS: dict[str, list[tuple[dict[str, str], str]]] = {}


@pytest.fixture
def prometheus() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            query = parse_qs(urlsplit(self.path).query)["query"][0]
            if query not in VECTORS:
                body = {"status": "error", "errorType": "bad_data", "error": "parse error"}
            else:
                result = [
                    {"metric": {"__name__": "m", **labels}, "value": [0, value]}
                    for labels, value in VECTORS[query]
                ]
                body = {"status": "success", "data": {"resultType": "vector", "result": result}}
            data = json.dumps(body).encode()
            self.send_response(200 if body["status"] == "success" else 400)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def group(expr: str, evaluator: dict[str, Any], mode: str = "") -> dict[str, Any]:
    def expression(ref_id: str, model: dict[str, Any]) -> dict[str, Any]:
        return {"refId": ref_id, "datasourceUid": "__expr__", "model": model}

    reduce = {"type": "reduce", "expression": "A", "reducer": "last"}
    threshold = {"type": "threshold", "expression": "B", "conditions": [{"evaluator": evaluator}]}
    return {
        "rules": [
            {
                "title": "rule",
                "condition": "C",
                "labels": {"routed": "true"},
                "data": [
                    {"refId": "A", "datasourceUid": "prom", "model": {"expr": expr}},
                    expression("B", reduce | {"settings": {"mode": mode, "replaceWithValue": 0.5}}),
                    expression("C", threshold),
                ],
            }
        ]
    }


def firing(prometheus: str, expr: str, evaluator: dict[str, Any], mode: str = "") -> set[str]:
    return {
        i.labels["f"]
        for i in preview(group(expr, evaluator, mode), "Folder", prometheus)
        if i.firing
    }


def test_thresholds_fire_per_series(prometheus: str) -> None:
    VECTORS["p"] = [({"f": "a"}, "0.01"), ({"f": "b"}, "0.5"), ({"f": "c"}, "0.05")]
    assert firing(prometheus, "p", {"type": "lt", "params": [0.05]}) == {"a"}
    assert firing(prometheus, "p", {"type": "gt", "params": [0.05]}) == {"b"}
    assert firing(prometheus, "p", {"type": "within_range", "params": [0.02, 0.6]}) == {"b", "c"}
    assert firing(prometheus, "p", {"type": "outside_range", "params": [0.02, 0.6]}) == {"a"}


def test_instances_carry_series_and_rule_labels_and_every_value(prometheus: str) -> None:
    VECTORS["p"] = [({"f": "a", "dataset": "d"}, "0.01")]
    [instance] = preview(group("p", {"type": "lt", "params": [0.05]}), "Folder", prometheus)
    assert instance.labels == {
        "f": "a",
        "dataset": "d",
        "routed": "true",
        "alertname": "rule",
        "grafana_folder": "Folder",
    }
    assert instance.values == {"A": 0.01, "B": 0.01, "C": 1.0}


def test_nan_follows_the_reduce_mode(prometheus: str) -> None:
    VECTORS["n"] = [({"f": "a"}, "NaN")]
    below = {"type": "lt", "params": [1.0]}
    strict = preview(group("n", below), "F", prometheus)
    assert [i.firing for i in strict] == [False]
    assert math.isnan(strict[0].values["B"])
    assert preview(group("n", below, mode="dropNN"), "F", prometheus) == []
    assert firing(prometheus, "n", below, mode="replaceNN") == {"a"}  # replaced by 0.5


def test_prometheus_errors_are_one_clear_line(prometheus: str) -> None:
    with pytest.raises(PreviewError, match="Prometheus refused 'unknown': parse error"):
        preview(group("unknown", {"type": "lt", "params": [1]}), "F", prometheus)
    with pytest.raises(PreviewError, match=r"cannot reach Prometheus at http://127\.0\.0\.1:1"):
        preview(group("p", {"type": "lt", "params": [1]}), "F", "http://127.0.0.1:1")
