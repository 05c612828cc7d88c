"""Which alert instances the rules would fire now, without a Grafana: each rule's Prometheus
queries are run against Prometheus's HTTP API, then its reduce and threshold expressions are
applied per series, the way Grafana's server-side expressions do."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import requests

from provisioning.client import GrafanaError, short_reason

Series = dict[frozenset[tuple[str, str]], float]
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Instance:
    rule: str
    labels: dict[str, str]
    values: dict[str, float]  # refId -> value of each expression, as Grafana's $values
    firing: bool


class PreviewError(GrafanaError):
    """Prometheus did not answer, or a rule uses what the preview does not evaluate."""


class PrometheusUnreachable(PreviewError):
    """Nothing answers at the URL, or what answers is not Prometheus."""


def preview(group: dict[str, Any], folder_title: str, prometheus_url: str) -> list[Instance]:
    """Every alert instance of every rule in the group, firing or not."""
    instances = []
    with requests.Session() as session:
        for rule in group["rules"]:
            results: dict[str, Series] = {}
            for query in rule["data"]:
                results[query["refId"]] = _evaluate(query, results, session, prometheus_url)
            expressions = [q["refId"] for q in rule["data"] if q["datasourceUid"] == "__expr__"]
            for key, value in results[rule["condition"]].items():
                labels = dict(key) | rule.get("labels", {})
                labels |= {"alertname": rule["title"], "grafana_folder": folder_title}
                values = {ref: results[ref][key] for ref in expressions if key in results[ref]}
                firing = not math.isnan(value) and value != 0
                instances.append(Instance(rule["title"], labels, values, firing))
    return instances


def _evaluate(
    query: dict[str, Any], results: dict[str, Series], session: requests.Session, url: str
) -> Series:
    model = query["model"]
    if query["datasourceUid"] != "__expr__":
        return _instant_query(session, url, model["expr"])
    source = results[model["expression"]]
    if model["type"] == "reduce":
        return {k: _reduce(v, model) for k, v in source.items() if not _dropped(v, model)}
    if model["type"] == "threshold":
        [condition] = model["conditions"]
        return {k: float(_passes(v, condition["evaluator"])) for k, v in source.items()}
    raise PreviewError(f"the preview does not evaluate {model['type']!r} expressions")


def _instant_query(session: requests.Session, url: str, expr: str) -> Series:
    endpoint = url.rstrip("/") + "/api/v1/query"
    try:
        response = session.get(endpoint, params={"query": expr}, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as exc:
        raise PrometheusUnreachable(
            f"cannot reach Prometheus at {url}: {short_reason(exc)}"
        ) from None
    try:
        body = response.json()
    except ValueError:
        status = response.status_code
        raise PrometheusUnreachable(
            f"{url} does not answer like Prometheus (HTTP {status})"
        ) from None
    if body.get("status") != "success":
        raise PreviewError(f"Prometheus refused {expr!r}: {body.get('error')}")
    series: Series = {}
    for sample in body["data"]["result"]:
        labels = {k: v for k, v in sample["metric"].items() if k != "__name__"}
        series[frozenset(labels.items())] = float(sample["value"][1])
    return series


def _dropped(value: float, model: dict[str, Any]) -> bool:
    """Mode "dropNN" drops a series whose value is NaN or infinite (Grafana's DropNonNumber)."""
    return not math.isfinite(value) and model.get("settings", {}).get("mode") == "dropNN"


def _reduce(value: float, model: dict[str, Any]) -> float:
    """Grafana reads an instant query as one number per series and passes it through whatever
    the reducer (pkg/expr/commands.go, ReduceCommand.Execute); "replaceNN" swaps a NaN or an
    infinity for its replacement."""
    settings = model.get("settings", {})
    if not math.isfinite(value) and settings.get("mode") == "replaceNN":
        value = float(settings.get("replaceWithValue", 0))
    return value


def _passes(value: float, evaluator: dict[str, Any]) -> bool:
    if math.isnan(value):
        return False
    kind, params = evaluator["type"], evaluator["params"]
    checks = {
        "gt": lambda: value > params[0],
        "lt": lambda: value < params[0],
        "within_range": lambda: params[0] < value < params[1],
        "outside_range": lambda: value < params[0] or value > params[1],
    }
    if kind not in checks:
        raise PreviewError(f"the preview does not evaluate {kind!r} thresholds")
    return checks[kind]()
