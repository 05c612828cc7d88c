"""Which alert instances the rules would fire now, without a Grafana. Each rule of the group
body (Grafana's provisioning API format) is evaluated as Grafana's alerting evaluates it: its
Prometheus queries run against Prometheus's HTTP API at one instant, its expressions run as
Grafana's server-side expressions (provisioning/expressions.py), and the condition's results
become alert instances as in grafana/grafana pkg/services/ngalert:

* eval/eval.go evaluateExecutionResult: a condition value of 0 is Normal, any other (NaN too)
  Alerting, null NoData; a series (not reduced) is an error, and so are duplicate labels;
* eval.go again: when any query answers no series the whole rule is NoData, one instance per
  data source labelled datasource_uid and ref_id; the rule's noDataState then decides
  (state/state.go resultNoData): NoData, Alerting, OK (Normal), or KeepLast (Normal here: the
  preview has no previous state);
* a failed query or expression on the condition's path is an execution error, and the rule's
  execErrState decides (state.go resultError): Error (labelled ref_id and datasource_uid when
  a query failed), Alerting, OK or KeepLast (Normal);
* NoData and Error instances fire like Alerting ones, renamed for the Alertmanager
  (state/compat.go StateToPostableAlert): alertname DatasourceNoData or DatasourceError, the
  rule's title as rulename.

Not modelled: the pending period ("for") and keepFiringFor (an instance is shown in the state
it would reach), templates in labels, and the internal __alert_rule_uid__ labels."""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import requests

from provisioning import expressions
from provisioning.client import short_reason
from provisioning.errors import ProvisioningError
from provisioning.expressions import (
    NO_LABELS,
    Command,
    ExpressionError,
    Labels,
    NoData,
    Number,
    QueryError,
    Scalar,
    Series,
    Value,
)

TIMEOUT_SECONDS = 10
EXPRESSION_UIDS = {"__expr__", "-100"}  # Grafana's expression data source, new and old uid
NORMAL, ALERTING, NO_DATA, ERROR = "Normal", "Alerting", "NoData", "Error"
NO_DATA_STATES = {"NoData": NO_DATA, "Alerting": ALERTING, "OK": NORMAL, "KeepLast": NORMAL}
EXEC_ERR_STATES = {"Error": ERROR, "Alerting": ALERTING, "OK": NORMAL, "KeepLast": NORMAL}
ALERT_NAMES = {NO_DATA: "DatasourceNoData", ERROR: "DatasourceError"}
DEFAULT_REF_ID = re.compile(r"[A-Z]{1,2}")  # what Grafana names queries: A, B, ..., AA
PROMQL_LENGTH = 30  # a query shown by its PromQL is cut to this
# Grafana's step for a range query, before its rounding to a "nice" interval: the query's
# intervalMs (1 s unless set, ngalert/models/alert_query.go), else 15 s, and at most
# maxDataPoints (43200 unless set) or 11000 points (pkg/promlib/models/query.go).
DEFAULT_STEP_SECONDS = 15
SAFE_POINTS = 11000

Result = list[Value] | ExpressionError


@dataclass(frozen=True)
class Instance:
    rule: str
    state: str  # Grafana's: Normal, Alerting, NoData or Error
    labels: dict[str, str]
    # The expressions' values for this instance, as Grafana's $values (which also holds each
    # instant query's), named by refId, or by what they compute when the refId is Grafana's
    # default (A, B, ...); null is NaN, as in Grafana's state.
    values: dict[str, float]
    reason: str = ""  # NoData or Error when the state comes from no series or a failure
    error: str = ""

    @property
    def firing(self) -> bool:
        """Sent to the Alertmanager as firing: Alerting, NoData and Error are."""
        return self.state != NORMAL

    def as_json(self) -> dict[str, Any]:
        """The instance for JSON, which has no NaN or infinity: those are written as
        Prometheus writes them ("NaN", "+Inf", "-Inf")."""
        values = {name: _json_number(value) for name, value in self.values.items()}
        return asdict(self) | {"values": values}


class PreviewError(ProvisioningError):
    """Prometheus did not answer, or a rule uses what the preview does not evaluate."""


class PrometheusUnreachable(PreviewError):
    """Nothing answers at the URL, or what answers is not Prometheus."""


def preview(group: dict[str, Any], folder_title: str, prometheus_url: str) -> list[Instance]:
    """Every alert instance of every rule in the group, firing or not; a paused rule has
    none, as Grafana does not evaluate it."""
    instances = []
    with requests.Session() as session:
        prometheus = _Prometheus(session, prometheus_url, time.time())
        for rule in group["rules"]:
            if not rule.get("isPaused"):
                instances += _rule_instances(rule, folder_title, prometheus)
    return instances


@dataclass(frozen=True)
class _Evaluation:
    """One entry of Grafana's eval.Results: a state before noDataState/execErrState apply."""

    state: str
    labels: Labels = field(default_factory=lambda: NO_LABELS)
    values: dict[str, float | None] = field(default_factory=dict)
    error: ExpressionError | None = None


def _rule_instances(
    rule: Mapping[str, Any], folder_title: str, prometheus: _Prometheus
) -> list[Instance]:
    _check_states(rule)
    nodes = _nodes(rule)
    results = _run(rule["title"], nodes, prometheus)
    names = _value_names(rule)
    return [
        _instance(rule, folder_title, evaluation, names)
        for evaluation in _evaluations(rule["condition"], nodes, results)
    ]


def _check_states(rule: Mapping[str, Any]) -> None:
    for key, states in (("noDataState", NO_DATA_STATES), ("execErrState", EXEC_ERR_STATES)):
        if rule.get(key) not in states:
            raise PreviewError(
                f"rule {rule['title']!r}: {key} {rule.get(key)!r} is not one of {', '.join(states)}"
            )


def _nodes(rule: Mapping[str, Any]) -> dict[str, Command | Mapping[str, Any]]:
    """Each refId's expression command, or its query (as given)."""
    nodes: dict[str, Command | Mapping[str, Any]] = {}
    for query in rule["data"]:
        ref = query["refId"]
        if query["datasourceUid"] not in EXPRESSION_UIDS:
            nodes[ref] = query
            continue
        try:
            nodes[ref] = expressions.build(query["model"])
        except ValueError as exc:
            raise PreviewError(f"rule {rule['title']!r}, {ref}: {exc}") from None
    if rule["condition"] not in nodes:
        raise PreviewError(f"rule {rule['title']!r}: its condition {rule['condition']!r} is none")
    return nodes


def _needs(node: Command | Mapping[str, Any]) -> tuple[str, ...]:
    return () if isinstance(node, Mapping) else node.needs


def _run(
    title: str, nodes: Mapping[str, Command | Mapping[str, Any]], prometheus: _Prometheus
) -> dict[str, Result]:
    """Every query and expression, each after what it reads (pkg/expr/graph.go). One that reads
    a failed one fails with the same error, as Grafana follows its DependencyError to the
    first failure (eval.go FindConditionError)."""
    results: dict[str, Result] = {}
    for ref in _execution_order(title, nodes):
        node = nodes[ref]
        if isinstance(node, Mapping):
            results[ref] = prometheus.values(ref, node)
            continue
        failed = [results[n] for n in node.needs if isinstance(results[n], ExpressionError)]
        if failed:
            results[ref] = failed[0]
            continue
        try:
            results[ref] = node.execute(results)  # type: ignore[arg-type]
        except ExpressionError as exc:
            results[ref] = exc
    return results


def _execution_order(title: str, nodes: Mapping[str, Command | Mapping[str, Any]]) -> list[str]:
    order: list[str] = []
    entered: set[str] = set()

    def visit(ref: str, reader: str) -> None:
        if ref in order:
            return
        if ref not in nodes:
            raise PreviewError(f"rule {title!r}: {reader} reads {ref!r}, which it does not define")
        if ref in entered:
            raise PreviewError(f"rule {title!r}: {ref} depends on itself")
        entered.add(ref)
        for need in _needs(nodes[ref]):
            visit(need, ref)
        order.append(ref)

    for ref in nodes:
        visit(ref, ref)
    return order


def _evaluations(
    condition: str, nodes: Mapping[str, Command | Mapping[str, Any]], results: Mapping[str, Result]
) -> list[_Evaluation]:
    """eval.go evaluateExecutionResult, on the condition's results."""
    outcome = results[condition]
    if isinstance(outcome, ExpressionError):
        return [_Evaluation(ERROR, error=outcome)]
    silent: dict[str, list[str]] = {}  # data source uid -> refIds that answered nothing
    for ref in sorted(nodes):
        node = nodes[ref]
        if isinstance(node, Mapping) and _answered_nothing(results[ref]):
            silent.setdefault(node["datasourceUid"], []).append(ref)
    if silent:
        return [
            _Evaluation(NO_DATA, {"datasource_uid": uid, "ref_id": ",".join(refs)})
            for uid, refs in silent.items()
        ]
    if not outcome:
        return [_Evaluation(NO_DATA)]
    captures = {
        ref: [(v.labels, v.value) for v in result if isinstance(v, Number | Scalar)]
        for ref, result in results.items()
        if not isinstance(nodes[ref], Mapping) and not isinstance(result, ExpressionError)
    }
    evaluations = [_evaluation(condition, value, captures) for value in outcome]
    seen: set[tuple[tuple[str, str], ...]] = set()
    for evaluation in evaluations:
        key = tuple(sorted(evaluation.labels.items()))
        if key in seen:
            shown = ", ".join(f"{k}={v}" for k, v in key)
            message = f"frame cannot uniquely be identified by its labels: duplicate {{{shown}}}"
            return [_Evaluation(ERROR, evaluation.labels, error=ExpressionError(message))]
        seen.add(key)
    return evaluations


def _answered_nothing(result: Result) -> bool:
    """eval.go IsNoData: no frames (no series, or the query failed), or one empty frame."""
    if isinstance(result, ExpressionError):
        return True
    return not result or (len(result) == 1 and isinstance(result[0], NoData))


def _evaluation(
    condition: str,
    value: Value,
    captures: Mapping[str, Sequence[tuple[Labels, float | None]]],
) -> _Evaluation:
    match value:
        case Series():
            message = (
                f"invalid format of evaluation results for the alert definition {condition}: "
                "looks like time series data, only reduced data can be alerted on."
            )
            return _Evaluation(ERROR, error=ExpressionError(message))
        case NoData():
            return _Evaluation(NO_DATA)
        case Number(labels, number) | Scalar(number, labels):
            state = NO_DATA if number is None else NORMAL if number == 0 else ALERTING
            return _Evaluation(state, labels, _captured(labels, captures))
    raise AssertionError(value)


def _captured(
    labels: Labels, captures: Mapping[str, Sequence[tuple[Labels, float | None]]]
) -> dict[str, float | None]:
    """The values Grafana attaches to an instance (eval.go queryDataResponseToExecutionResults):
    per refId, the value with the same labels, else the last one whose labels contain the
    instance's or are contained in them."""
    values = {}
    for ref, captured in captures.items():
        same = [value for other, value in captured if other == labels]
        near = [
            value
            for other, value in captured
            if expressions.contains(labels, other) or expressions.contains(other, labels)
        ]
        if same or near:
            values[ref] = (same or near)[-1]
    return values


def _instance(
    rule: Mapping[str, Any], folder_title: str, evaluation: _Evaluation, names: Mapping[str, str]
) -> Instance:
    state, reason = evaluation.state, ""
    if state == NO_DATA:
        state, reason = NO_DATA_STATES[rule["noDataState"]], NO_DATA
    elif state == ERROR:
        state, reason = EXEC_ERR_STATES[rule["execErrState"]], ERROR
    # The rule's built-in labels win over its own labels, which win over the series' labels
    # (state/cache.go expandAnnotationsAndLabels).
    labels = {"alertname": rule["title"], "grafana_folder": folder_title}
    for extra in (rule.get("labels") or {}, evaluation.labels):
        labels |= {key: value for key, value in extra.items() if key not in labels}
    error = evaluation.error
    if state == ERROR and isinstance(error, QueryError):
        labels |= {"ref_id": error.ref_id, "datasource_uid": error.datasource_uid}
    if state in ALERT_NAMES:
        labels |= {"alertname": ALERT_NAMES[state], "rulename": rule["title"]}
    values = {
        names[ref]: math.nan if value is None else value for ref, value in evaluation.values.items()
    }
    return Instance(rule["title"], state, labels, values, reason, str(error or ""))


def _value_names(rule: Mapping[str, Any]) -> dict[str, str]:
    """Each refId as shown: itself when a name (p_value), else what it computes, with each
    query's PromQL shortened: ``last(up{job="x"})``, ``last(up{job="x"}) < 1``. Two refIds
    that would read the same are told apart by their refId."""
    models = {query["refId"]: query for query in rule["data"]}

    def describe(ref: str) -> str:
        if not DEFAULT_REF_ID.fullmatch(ref) or ref not in models:
            return ref
        query = models[ref]
        model = query["model"]
        if query["datasourceUid"] not in EXPRESSION_UIDS:
            expr = model.get("expr", ref)
            return expr if len(expr) <= PROMQL_LENGTH else expr[: PROMQL_LENGTH - 1] + "…"
        if model.get("type") == "reduce":
            return f"{model.get('reducer')}({describe(model.get('expression', '').lstrip('$'))})"
        if model.get("type") == "math":
            variable = r"\$\{([^}]*)\}|\$(\w+)"
            return re.sub(variable, lambda m: describe(m[1] or m[2]), model["expression"])
        return _describe_threshold(describe(model.get("expression", "")), model)

    names = {ref: describe(ref) for ref in models}
    shown = [*names.values()]
    return {
        ref: f"{name} ({ref})" if shown.count(name) > 1 else name for ref, name in names.items()
    }


# A range that holds between its ends reads as one: "0.1 < x < 0.5" for f > 0.1 and f < 0.5.
MIRRORED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}


def _describe_threshold(source: str, model: Mapping[str, Any]) -> str:
    evaluator = model["conditions"][0]["evaluator"]
    kind = evaluator["type"]
    params = [f"{float(p):g}" for p in evaluator["params"]]
    if kind in expressions.COMPARISONS:
        return f"{source} {expressions.COMPARISONS[kind]} {params[0]}"
    low, high, join = expressions.RANGES[kind]
    if join == "and":
        return f"{params[0]} {MIRRORED[low]} {source} {high} {params[1]}"
    return f"{source} {low} {params[0]} {join} {high} {params[1]}"


def _json_number(value: float) -> float | str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return value


class _Prometheus:
    """Prometheus's HTTP API, answering as Grafana's Prometheus data source converts it for
    expressions (pkg/expr/nodes.go): an instant vector or scalar is one Number per series, a
    range matrix one Series per series, no series NoData; labels include __name__."""

    def __init__(self, session: requests.Session, url: str, now: float) -> None:
        self.session = session
        self.url = url
        self.now = now

    def values(self, ref: str, query: Mapping[str, Any]) -> Result:
        model = query["model"]
        expr = model.get("expr", "")
        # Instant when asked; otherwise a range query, even when neither is set (query.go).
        if model.get("instant"):
            body = self._get("query", {"query": expr, "time": self.now})
        else:
            body = self._get("query_range", {"query": expr, **self._range(query)})
        if body.get("status") != "success":
            reason = f"{body.get('errorType', 'error')}: {body.get('error')}"
            message = f"failed to execute query {ref}: {reason}"
            return QueryError(message, ref, query["datasourceUid"])
        try:
            return list(self._convert(body["data"])) or [NoData()]
        except (KeyError, TypeError, ValueError, IndexError):
            raise PrometheusUnreachable(f"{self.url} does not answer like Prometheus") from None

    def _range(self, query: Mapping[str, Any]) -> dict[str, float]:
        window = query.get("relativeTimeRange") or {"from": 0, "to": 0}
        start, end = self.now - window["from"], self.now - window["to"]
        model = query["model"]
        step = max(
            model.get("intervalMs", 1000) / 1000 or DEFAULT_STEP_SECONDS,
            (end - start) / model.get("maxDataPoints", 43200),
            (end - start) / SAFE_POINTS,
        )
        # query.go AlignTimeRange: both ends rounded down to a multiple of the step.
        return {"start": start // step * step, "end": end // step * step, "step": step}

    @staticmethod
    def _convert(data: Mapping[str, Any]) -> Iterator[Value]:
        kind, result = data["resultType"], data["result"]
        if kind == "scalar":
            yield Number(NO_LABELS, float(result[1]))
        elif kind == "vector":
            for sample in result:
                yield Number(sample["metric"], float(sample["value"][1]))
        elif kind == "matrix":
            for series in result:
                points = tuple((float(t), float(v)) for t, v in series["values"])
                yield Series(series["metric"], points)
        else:
            raise PreviewError(f"Prometheus answered a {kind!r} result, which no rule reads")

    def _get(self, endpoint: str, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            response = self.session.get(
                f"{self.url.rstrip('/')}/api/v1/{endpoint}", params=params, timeout=TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            raise PrometheusUnreachable(
                f"cannot reach Prometheus at {self.url}: {short_reason(exc)}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            status = response.status_code
            raise PrometheusUnreachable(
                f"{self.url} does not answer like Prometheus (HTTP {status})"
            )
        return body
