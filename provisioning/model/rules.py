"""Alert rules: each a chain of named steps, Prometheus queries then Grafana's server-side
expressions (reduce, math, threshold), the condition being the step that decides. Rendered
as Grafana's provisioning API takes a rule group (API-NOTES §5.3-5.4); grafanalib's alert
classes write the older Ruler format, so they are not used."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from provisioning.expressions import COMPARISONS
from provisioning.expressions import RANGES as EVALUATOR_RANGES
from provisioning.model.checks import above_zero, of_type, one_of
from provisioning.model.dashboards import Dashboard, DataSource, Folder

EXPRESSIONS = "__expr__"  # the data source uid of server-side expressions
# Grafana's rule states (pkg/services/ngalert/models/alert_rule.go NoDataStateFromString,
# ErrStateFromString).
NoDataState = Literal["NoData", "Alerting", "OK", "KeepLast"]
ErrorState = Literal["Error", "Alerting", "OK", "KeepLast"]
# Reducers of pkg/expr/mathexp/reduce.go, and the modes of the reduce command (mode "" is the
# UI's "Strict"; pkg/expr/commands.go).
Reducer = Literal["last", "mean", "min", "max", "sum", "count", "median"]
ReduceMode = Literal["strict", "dropNN", "replaceNN"]
# Threshold operators as definitions write them: a comparison as its symbol, a range as its
# Grafana evaluator's name less "_range" (the *_included ranges hold their ends).
Operator = Literal[
    ">", "<", ">=", "<=", "==", "!=", "within", "outside", "within_included", "outside_included"
]
# Each operator's Grafana evaluator, derived from Grafana's table (provisioning.expressions).
EVALUATORS = {symbol: evaluator for evaluator, symbol in COMPARISONS.items()} | {
    evaluator.replace("_range", ""): evaluator for evaluator in EVALUATOR_RANGES
}
RANGES = tuple(op for op, evaluator in EVALUATORS.items() if evaluator in EVALUATOR_RANGES)
if set(get_args(Operator)) != set(EVALUATORS):  # the type is written out for type checkers
    raise ImportError(f"Operator {get_args(Operator)} differs from Grafana's {EVALUATORS}")


@dataclass(frozen=True)
class Query:
    """A PromQL query; instant by default (one value per series), over the last
    ``window_seconds`` when ranged."""

    expr: str
    datasource: DataSource | str
    instant: bool = True
    window_seconds: int = 600

    @property
    def datasource_uid(self) -> str:
        return self.datasource.uid if isinstance(self.datasource, DataSource) else self.datasource

    def to_json(self, ref_id: str) -> dict[str, Any]:
        datasource = {"type": "prometheus", "uid": self.datasource_uid}
        return {
            "refId": ref_id,
            "queryType": "",
            "relativeTimeRange": {"from": self.window_seconds, "to": 0},  # seconds (API-NOTES)
            "datasourceUid": self.datasource_uid,
            "model": {
                "refId": ref_id,
                "expr": self.expr,
                "instant": self.instant,
                "range": not self.instant,
                "datasource": datasource,
                "intervalMs": 1000,
                "maxDataPoints": 43200,
            },
        }


@dataclass(frozen=True)
class Reduce:
    """One number per series of ``input``. ``mode``: "strict" keeps NaN, "dropNN" drops
    NaN, infinities and nulls, "replaceNN" puts ``replace_with`` in their place."""

    input: str
    reducer: Reducer = "last"
    mode: ReduceMode = "strict"
    replace_with: float | None = None

    def __post_init__(self) -> None:
        of_type(f"Reduce({self.input!r})", self.input, str, "the name of a step")
        one_of(f"Reduce({self.input!r}) reducer", self.reducer, get_args(Reducer))
        one_of(f"Reduce({self.input!r}) mode", self.mode, get_args(ReduceMode))

    def model(self) -> dict[str, Any]:
        # Mode "" is what the UI calls "Strict"; grafanalib's "strict" is refused (API-NOTES).
        settings: dict[str, Any] = {"mode": "" if self.mode == "strict" else self.mode}
        if self.mode == "replaceNN":
            settings["replaceWithValue"] = self.replace_with or 0
        return {"type": "reduce", "expression": self.input, "reducer": self.reducer,
                "settings": settings}  # fmt: skip


@dataclass(frozen=True)
class Math:
    """Arithmetic over other steps, each written ``$name``: ``"$p_value - $alpha"``."""

    expression: str

    def __post_init__(self) -> None:
        of_type("Math", self.expression, str, 'an expression such as "$a - $b"')

    def model(self) -> dict[str, Any]:
        return {"type": "math", "expression": self.expression}


@dataclass(frozen=True)
class Threshold:
    """``input operator value`` per series; the ranges ("within", "outside", and
    "within_included", "outside_included" that hold their ends) take (low, high)."""

    input: str
    operator: Operator
    value: float | tuple[float, float]

    def __post_init__(self) -> None:
        where = f"Threshold({self.input!r})"
        of_type(where, self.input, str, "the name of a step")
        one_of(f"{where} operator", self.operator, get_args(Operator))
        numbers = self.value if isinstance(self.value, tuple) else (self.value,)
        for number in numbers:
            of_type(f"{where} value", number, (int, float), "a number or (low, high)")

    def model(self) -> dict[str, Any]:
        params = list(self.value) if isinstance(self.value, tuple) else [self.value]
        condition = {"evaluator": {"type": EVALUATORS[self.operator], "params": params}}
        return {"type": "threshold", "expression": self.input, "conditions": [condition]}


@dataclass(frozen=True)
class Raw:
    """A step as Grafana's API stores it, kept verbatim: a query of any data source or any
    expression the typed steps do not write exactly (``provision.py pull`` writes these).
    ``model`` is the step's model, ``relative_time_range`` its (from, to) in seconds."""

    datasource_uid: str
    model: Mapping[str, Any]
    relative_time_range: tuple[int, int] = (0, 0)
    query_type: str = ""

    def to_json(self, ref_id: str) -> dict[str, Any]:
        start, end = self.relative_time_range
        return {
            "refId": ref_id,
            "queryType": self.query_type,
            "relativeTimeRange": {"from": start, "to": end},
            "datasourceUid": self.datasource_uid,
            "model": dict(self.model),
        }


Step = Query | Reduce | Math | Threshold | Raw


@dataclass(frozen=True, kw_only=True)
class Rule:
    """An alert rule. ``steps`` run in order, by name; the ``condition`` (the last step
    unless named) fires the alert for each series where it is non-zero. Annotations are Go
    templates that read ``$labels`` and ``$values.<step>.Value``."""

    uid: str
    title: str
    steps: Mapping[str, Step]
    condition: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # Labels its alerts take from the query's series (e.g. dataset): routes may match them.
    series_labels: Sequence[str] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    pending: str = "0s"
    keep_firing_for: str = "0s"
    # Evaluations without its series before an alert resolves (Grafana 12); None: Grafana's 2.
    missing_series_evals_to_resolve: int | None = None
    no_data: NoDataState = "NoData"
    on_error: ErrorState = "Error"
    paused: bool = False
    dashboard: Dashboard | None = None  # the alert links to it (and to ``panel_id`` on it)
    panel_id: int | None = None
    prometheus_alert: str | None = None  # its alerts' name when exported for Prometheus

    def __post_init__(self) -> None:
        one_of(f"rule {self.uid} no_data", self.no_data, get_args(NoDataState))
        one_of(f"rule {self.uid} on_error", self.on_error, get_args(ErrorState))
        if self.missing_series_evals_to_resolve is not None:  # Grafana refuses <= 0
            where = f"rule {self.uid} missing_series_evals_to_resolve"
            above_zero(where, self.missing_series_evals_to_resolve, "a whole number above 0")

    @property
    def condition_step(self) -> str:
        return self.condition or list(self.steps)[-1]

    def to_json(self, folder: Folder, group: str) -> dict[str, Any]:
        annotations = dict(self.annotations)
        if self.dashboard is not None:
            annotations["__dashboardUid__"] = self.dashboard.uid
            if self.panel_id is not None:
                annotations["__panelId__"] = str(self.panel_id)
        body: dict[str, Any] = {
            "uid": self.uid,
            "folderUID": folder.uid,
            "ruleGroup": group,
            "title": self.title,
            "condition": self.condition_step,
            "data": [step_json(name, step) for name, step in self.steps.items()],
            "noDataState": self.no_data,
            "execErrState": self.on_error,
            "for": self.pending,
            "keep_firing_for": self.keep_firing_for,
            "labels": dict(self.labels),
            "annotations": annotations,
            "isPaused": self.paused,
        }
        if self.missing_series_evals_to_resolve is not None:  # a *int, omitempty: nil unless set
            body["missingSeriesEvalsToResolve"] = self.missing_series_evals_to_resolve
        return body


def step_json(name: str, step: Step) -> dict[str, Any]:
    """A step as Grafana's rule API takes it, under ``name`` (its refId)."""
    if isinstance(step, Query | Raw):
        return step.to_json(name)
    return {
        "refId": name,
        "queryType": "",
        "relativeTimeRange": {"from": 0, "to": 0},
        "datasourceUid": EXPRESSIONS,
        "model": {"refId": name, "datasource": {"type": EXPRESSIONS, "uid": EXPRESSIONS},
                  **step.model()},
    }  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class RuleGroup:
    """Rules evaluated together every ``interval`` (a multiple of 10 s), in a folder."""

    folder: Folder
    name: str
    interval: str = "1m"
    rules: Sequence[Rule]

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
